"""References from implementation PRs: the forms found in prose, and the paths they match."""

from __future__ import annotations

import pytest

from bot.engine.config import load_config, load_preset
from bot.engine.references import (
    MAX_REFERENCES,
    Reference,
    argument_references,
    by_number,
    find_references,
    match_path,
    renamed_to,
    repo_matches,
    same_proposal,
    static_folder,
    visible_text,
)

KEP = load_preset("kep")
REPO = "kubernetes-demo/enhancements"
SIDECAR = "keps/sig-node/753-sidecar-containers/kep.yaml"
BUDGET = "keps/sig-node/1000-pod-restart-budget/kep.yaml"
LISTING = [SIDECAR, BUDGET, "keps/sig-apps/12-pod-restart-budget/kep.yaml"]


def forms(text: str, preset: str = "kep") -> list[tuple[str, object]]:
    found = find_references(text, load_preset(preset))
    return [(r.kind, r.number if r.kind != "path" else (r.repo, r.path)) for r in found]


# Finding references in prose.


@pytest.mark.parametrize(
    ("preset", "text", "number"),
    [
        ("kep", "Implements KEP-1234.", 1234),
        ("kep", "implements kep-1234", 1234),
        ("kep", "KEP 1234 (the preset's own form)", 1234),
        ("kpep", "Part of KPEP-0007.", 7),
        ("gep", "GEP-1619: the gateway", 1619),
        ("gep", "see GEP #1619", 1619),
    ],
)
def test_numbers_with_the_prefix_or_a_configured_form(preset: str, text: str, number: int) -> None:
    assert forms(text, preset) == [("number", number)]


def test_items_and_urls_name_their_repository() -> None:
    text = (
        f"Implements {REPO}#12, see https://github.example/{REPO}/pull/34.\n"
        f"Design: https://github.com/{REPO}/tree/main/keps/sig-node/753-sidecar-containers/, "
        f"and https://github.com/{REPO}/blob/release/1.30/keps/x/README.md#summary"
    )
    assert forms(text) == [
        ("item", 12),
        ("item", 34),
        ("path", (REPO, "main/keps/sig-node/753-sidecar-containers")),
        ("path", (REPO, "release/1.30/keps/x/README.md")),
    ]


def test_code_quotes_and_comments_do_not_count() -> None:
    text = (
        "> KEP-1\n\n```\nKEP-2\n```\n<!-- KEP-3 -->\n`KEP-4` and ``KEP-5``\n"
        "<!--\nKEP-6\n-->\n    KEP-7 indented code\n\nKEP-8 counts"
    )
    assert forms(text) == [("number", 8)]
    assert "KEP-4" not in visible_text(text) and "KEP-8 counts" in visible_text(text)


def test_numbers_inside_other_links_and_words_do_not_count() -> None:
    text = "https://example.com/KEP-9 and kubernetes/KEP-10 and KEP-11-draft and xKEP-12"
    assert forms(text) == []


def test_each_form_once_and_at_most_the_limit() -> None:
    many = " ".join(f"KEP-{n}" for n in range(MAX_REFERENCES + 5))
    assert len(find_references(many, KEP)) == MAX_REFERENCES
    assert forms("KEP-1, KEP-1 and KEP 1") == [("number", 1)]


def test_a_broken_configured_form_is_skipped() -> None:
    patterns = "['KEP(', 'E(?P<number>\\d+)', 'no number group']"
    config = load_config(f"extends: kep\nimplementations:\n  references: {patterns}\n")
    found = find_references("KEP-5 and E6", config)
    assert [r.number for r in found] == [5, 6]


def test_command_arguments_accept_bare_numbers_and_paths() -> None:
    assert argument_references(["KEP-753"], KEP)[0].number == 753
    assert argument_references(["753"], KEP) == [Reference("number", "753", 753)]
    (path,) = argument_references(["keps/sig-node/753-sidecar-containers/"], KEP)
    assert (path.kind, path.path, path.repo) == (
        "path",
        "keps/sig-node/753-sidecar-containers",
        None,
    )
    assert argument_references(["please"], KEP) == []


def test_a_reference_is_about_its_repository_only() -> None:
    (item,) = find_references("Kubernetes-Demo/Enhancements#3", KEP)
    assert item.about(REPO) and not item.about("kubernetes-demo/website")
    assert Reference("number", "KEP-1", 1).about("any/repo")


# Matching what a reference names among the proposals of the default branch.


def test_by_number_reads_the_name_and_ignores_padding_and_placeholders() -> None:
    kpep = load_preset("kpep")
    listing = ["kpeps/0007-cells/README.md", "kpeps/NNNN-draft/README.md"]
    assert by_number(kpep, listing, 7) == "kpeps/0007-cells/README.md"
    assert by_number(kpep, listing, 8) is None
    assert by_number(KEP, LISTING, 1000) == BUDGET


def test_match_path_finds_the_proposal_of_a_folder_or_file_whatever_the_ref() -> None:
    folder = "keps/sig-node/753-sidecar-containers"
    assert match_path(KEP, LISTING, f"main/{folder}", has_ref=True) == SIDECAR
    assert match_path(KEP, LISTING, f"feature/x/{folder}/README.md", has_ref=True) == SIDECAR
    assert match_path(KEP, LISTING, folder, has_ref=False) == SIDECAR
    assert match_path(KEP, LISTING, "main/keps/sig-node", has_ref=True) is None


def test_a_placeholder_path_finds_the_numbered_proposal_by_slug_and_folder() -> None:
    old = "keps/sig-node/NNNN-pod-restart-budget/README.md"
    assert renamed_to(KEP, LISTING, f"main/{old}", has_ref=True) == BUDGET
    assert renamed_to(KEP, LISTING, old) == BUDGET
    assert renamed_to(KEP, LISTING, "keps/sig-node/NNNN-other/kep.yaml") is None
    twice = [*LISTING, "keps/sig-node/1001-pod-restart-budget/kep.yaml"]
    assert renamed_to(KEP, twice, old) is None, "ambiguous: no guess"
    assert same_proposal(KEP, "keps/sig-node/NNNN-pod-restart-budget/kep.yaml", BUDGET)
    assert not same_proposal(KEP, "keps/sig-apps/NNNN-pod-restart-budget/kep.yaml", BUDGET)


def test_a_file_layout_renames_by_file_name() -> None:
    agentic = load_preset("agentic")
    listing = ["docs/proposals/0042-Agent-Gateway.md"]
    found = renamed_to(agentic, listing, "main/docs/proposals/XXXX-Agent-Gateway.md", has_ref=True)
    assert found == listing[0]
    assert match_path(agentic, listing, "main/docs/proposals/0042-Agent-Gateway.md", has_ref=True)


def test_repository_patterns() -> None:
    assert repo_matches(["*"], "a/b")
    assert repo_matches(["kubernetes"], "Kubernetes-Demo/Kubernetes")
    assert repo_matches(["kubernetes-demo/web*"], "kubernetes-demo/website")
    assert not repo_matches(["kubernetes-demo/web*"], "other/website")
    assert not repo_matches(["kubernetes"], "kubernetes-demo/website")


def test_the_folder_that_holds_every_proposal() -> None:
    assert static_folder(KEP) == "keps"
    assert static_folder(load_preset("agentic")) == "docs/proposals"
    assert static_folder(load_preset("gep")) == "geps"
    assert static_folder(load_config("extends: kep\nproposals:\n  metadata: ['*.md']\n")) == ""
