"""Numbering, the state machine, globbing and markdown reading: the small pure pieces."""

import pytest

from bot.engine import markdown
from bot.engine.config import load_preset
from bot.engine.numbering import as_int, format_number, is_placeholder, next_number
from bot.engine.process import find_transition, is_legal, next_statuses, verbs
from bot.engine.proposal import owning_proposal
from bot.engine.tree import matches


@pytest.mark.parametrize(
    ("preset", "value", "expected"),
    [
        ("kep", "NNNN", True),
        ("kep", "0000", True),
        ("kep", "", True),
        ("kep", None, True),
        ("kep", "1234", False),
        ("agentic", "XXXX", True),
        ("agentic", "00XX", True),
        ("agentic", "0008", False),
        ("kep-2017", "draft-20171127", True),
        ("kep-2017", "draft-2017", False),
        ("kpep", "NNNN", True),
        ("kpep", "", False),
    ],
)
def test_placeholder_forms(preset: str, value: str | None, expected: bool) -> None:
    assert is_placeholder(load_preset(preset), value) is expected


def test_number_formatting_and_next() -> None:
    kpep, kep = load_preset("kpep"), load_preset("kep")
    assert format_number(kpep, 7) == "0007"
    assert format_number(kep, 7) == "7"
    assert next_number(kep, [1, 5, 3]) == 6
    assert next_number(kep, []) == 1
    assert as_int("0042") == 42 and as_int("NNNN") is None


def test_kep_state_machine() -> None:
    kep = load_preset("kep")
    assert is_legal(kep, None, "provisional")
    assert is_legal(kep, "provisional", "implementable")
    assert not is_legal(kep, "implemented", "provisional")
    assert is_legal(kep, "implemented", "withdrawn"), "withdraw is open from any status"
    assert next_statuses(kep, "implementable") == [
        "implemented",
        "deferred",
        "rejected",
        "withdrawn",
        "replaced",
    ]
    transition = find_transition(kep, "implementable", "replaced")
    assert transition is not None and transition.argument == "superseded-by"


def test_every_status_name_is_a_verb() -> None:
    for name in ("kep", "gep", "agentic", "kpep", "kep-2017"):
        config = load_preset(name)
        table = verbs(config)
        for status in config.status_names:
            if any(t.to == status for t in config.transitions):
                assert status.lower() in table
    assert {"accept", "approve", "prototype", "decline"} <= set(verbs(load_preset("gep")))


def test_withdraw_is_open_to_authors() -> None:
    for name in ("kep", "gep", "agentic", "kpep", "kep-2017"):
        config = load_preset(name)
        withdraw = [t for t in config.transitions if "withdraw" in t.verbs]
        assert withdraw and "author" in withdraw[0].roles


def test_globs() -> None:
    assert matches("keps/sig-node/1-x/kep.yaml", ["keps/**/kep.yaml"])
    assert matches("keps/sig-a/sub/1-x/kep.yaml", ["keps/**/kep.yaml"])
    assert not matches("keps/sig-node/1-x/README.md", ["keps/**/kep.yaml"])
    assert matches("geps/gep-1/metadata.yaml", ["geps/*/metadata.yaml"])
    assert not matches("geps/a/b/metadata.yaml", ["geps/*/metadata.yaml"])


def test_owning_proposal_of_any_file_in_its_folder() -> None:
    kep, kpep = load_preset("kep"), load_preset("kpep")
    files = {"keps/sig-node/12-x/kep.yaml", "kpeps/0001-x/README.md", "keps/kep.yaml"}
    exists = files.__contains__
    kep_yaml = "keps/sig-node/12-x/kep.yaml"
    assert owning_proposal(kep, "keps/sig-node/12-x/README.md", exists) == kep_yaml
    assert owning_proposal(kpep, "kpeps/0001-x/images/a.png", exists) == "kpeps/0001-x/README.md"
    assert owning_proposal(kep, "keps/prod-readiness/sig-node/12.yaml", exists) == "keps/kep.yaml"
    assert owning_proposal(kep, "keps/sig-node/13-y/README.md", lambda p: False) is None
    assert owning_proposal(kep, "docs/readme.md", exists) is None


def test_markdown_headings_skip_code_and_comments() -> None:
    text = "# Title\n```\n## Not a heading\n```\n<!--\n## Hidden\n-->\n## Real\nbody\n"
    found = markdown.headings(text)
    assert [(h.level, h.text, h.line) for h in found] == [(1, "Title", 1), (2, "Real", 8)]
    assert found[1].body == "body"


def test_required_in_marker_and_content() -> None:
    text = "## API\n\n[required_in]: # (Implementable status and above)\n\n"
    (heading,) = markdown.headings(text)
    assert heading.required_in == "Implementable"
    assert not markdown.has_content(heading.body)
    assert markdown.has_content(heading.body + "Some text\n")


def test_heading_normalisation() -> None:
    assert markdown.normalise("User Stories (Optional)") == markdown.normalise("user stories")
    assert markdown.normalise("TL;DR") == "tl dr"
