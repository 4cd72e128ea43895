"""The verb registry: every preset's verbs, what they resolve to, suggestions and help."""

from __future__ import annotations

import pytest

from bot.engine.config import PRESET_NAMES, Config, load_config, load_preset
from bot.engine.process import find_transition
from bot.engine.verbs import Verb, closest, help_text, registry, resolve


def names(preset: str) -> list[str]:
    return [verb.name for verb in registry(load_preset(preset))]


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_the_registry_covers_every_transition_verb_and_status(preset: str) -> None:
    config = load_preset(preset)
    found = set(names(preset))
    for transition in config.transitions:
        assert {verb.lower() for verb in transition.verbs} <= found
    assert {status.lower() for status in config.status_names} <= found


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_names_are_unique_and_ordered_info_transitions_statuses_links(preset: str) -> None:
    config = load_preset(preset)
    verbs = registry(config)
    assert len({v.name for v in verbs}) == len(verbs)
    release = [v.name for v in verbs if v.kind == "release"]
    opts_in = config.tracking is not None and config.tracking.opt_in is not None
    assert release == (["track", "untrack"] if opts_in else [])
    assert [v.name for v in verbs[len(verbs) - len(release) :]] == release  # last, if any
    verbs = verbs[: len(verbs) - len(release)]
    assert [v.name for v in verbs[:3]] == ["help", "status", "explain"]
    assert [v.name for v in verbs[-2:]] == ["link", "unlink"]
    kinds = [v.kind for v in verbs]
    assert kinds == ["info"] * 3 + ["transition"] * (len(verbs) - 6) + ["undo", "link", "link"]


def test_kep_registry_in_order() -> None:
    assert names("kep") == [
        "help",
        "status",
        "explain",
        "accept",
        "approve",
        "implemented",
        "defer",
        "reject",
        "withdraw",
        "replace",
        "provisional",
        "implementable",
        "deferred",
        "rejected",
        "withdrawn",
        "replaced",
        "undo",
        "link",
        "unlink",
        "track",
        "untrack",
    ]


@pytest.mark.parametrize(
    ("preset", "verbs"),
    [
        ("kep", ["accept", "approve", "implemented", "defer", "reject", "withdraw", "replace"]),
        ("kep-2017", ["accept", "approve", "final", "defer", "reject", "withdraw", "replace"]),
        ("gep", ["accept", "approve", "prototype", "experimental", "standard", "complete"]),
        ("gep", ["decline", "defer", "withdraw"]),
        ("agentic", ["accept", "approve", "experimental", "standard", "complete", "decline"]),
        ("kpep", ["accept", "approve", "implemented", "withdraw", "replace"]),
    ],
)
def test_the_spec_verbs_of_each_preset(preset: str, verbs: list[str]) -> None:
    assert set(verbs) <= set(names(preset))


def test_a_transition_verb_has_its_target_and_usage() -> None:
    by_name = {v.name: v for v in registry(load_preset("kep"))}
    assert by_name["approve"] == Verb(
        "approve",
        "moves the proposal to `implementable` (from a new proposal, `provisional`, `deferred`)"
        ", once every approver the proposal lists has given it",
        "transition",
        "implementable",
        "/kep approve",
    )
    assert by_name["replace"].usage == "/kep replace <ref>"
    assert by_name["replaced"].usage == "/kep replaced <ref>"
    assert by_name["withdraw"].summary.endswith("(from any status)")


def test_usages_use_the_configured_word() -> None:
    verbs = registry(load_preset("agentic"))
    assert all(v.usage.startswith("/proposal ") for v in verbs)
    assert {v.usage for v in verbs if v.kind == "link"} == {
        "/proposal link <ref>",
        "/proposal unlink <ref>",
    }


def test_an_argument_other_than_a_reference_names_its_field() -> None:
    config = load_config(
        "extends: kep\ntransitions:\n"
        "  - {to: implemented, from: [implementable], verbs: [ship], argument: milestone}\n"
    )
    ship = next(v for v in registry(config) if v.name == "ship")
    assert ship.usage == "/kep ship <milestone>"
    assert "records `<milestone>` as `milestone`" in ship.summary


def test_a_status_without_a_transition_is_not_a_verb() -> None:
    config = load_config("extends: kpep\ntransitions:\n  - {to: provisional, verbs: [accept]}\n")
    assert names_of(config) == [
        "help",
        "status",
        "explain",
        "accept",
        "provisional",
        "undo",
        "link",
        "unlink",
    ]


def names_of(config: Config) -> list[str]:
    return [verb.name for verb in registry(config)]


# resolve


def test_a_transition_verb_resolves_to_its_transitions() -> None:
    config = load_preset("kep")
    assert [t.to for t in resolve(config, "approve", "provisional")] == ["implementable"]
    assert [t.to for t in resolve(config, "APPROVE", None)] == ["implementable"]


@pytest.mark.parametrize(
    ("preset", "verb", "target"),
    [
        ("kep", "implementable", "implementable"),
        ("kep", "deferred", "deferred"),
        ("kep-2017", "approved", "Approved"),
        ("kep-2017", "Draft", "Draft"),
        ("gep", "memorandum", "Memorandum"),
        ("agentic", "completed", "Completed"),
        ("kpep", "replaced", "replaced"),
    ],
)
def test_a_status_name_resolves_to_the_transitions_into_it(
    preset: str, verb: str, target: str
) -> None:
    transitions = resolve(load_preset(preset), verb, None)
    assert transitions
    assert {t.to for t in transitions} == {target}


def test_a_name_that_is_verb_and_status_resolves_once() -> None:
    transitions = resolve(load_preset("kep"), "implemented", "implementable")
    assert len(transitions) == 1
    assert transitions[0].to == "implemented"


def test_resolve_returns_illegal_candidates_too_legal_ones_first() -> None:
    config = load_config(
        "extends: kep\ntransitions:\n"
        "  - {to: implementable, from: [provisional], verbs: [approve], roles: [approver]}\n"
        "  - {to: implementable, from: [new], verbs: [approve], roles: [reviewer]}\n"
    )
    from_new = resolve(config, "approve", None)
    assert [t.roles for t in from_new] == [["reviewer"], ["approver"]]
    from_provisional = resolve(config, "approve", "provisional")
    assert [t.roles for t in from_provisional] == [["approver"], ["reviewer"]]
    # Illegal candidates stay: callers decide with find_transition.
    assert [t.to for t in resolve(config, "approve", "implemented")] == ["implementable"] * 2
    assert find_transition(config, "implemented", "implementable") is None


@pytest.mark.parametrize("verb", ["help", "status", "link", "unlink", "frobnicate", ""])
def test_non_transition_and_unknown_verbs_resolve_to_nothing(verb: str) -> None:
    assert resolve(load_preset("kep"), verb, "provisional") == []


# closest


def test_closest_suggests_approve_for_a_typo() -> None:
    assert closest(load_preset("kep"), "aprove")[0] == "approve"


@pytest.mark.parametrize(
    ("preset", "typo", "expected"),
    [
        ("kep", "withdrw", "withdraw"),
        ("kep", "Rplace", "replace"),
        ("gep", "prototyp", "prototype"),
        ("kpep", "stats", "status"),
        ("agentic", "lnk", "link"),
    ],
)
def test_closest_suggestions(preset: str, typo: str, expected: str) -> None:
    assert expected in closest(load_preset(preset), typo)


def test_closest_returns_at_most_n_and_nothing_for_gibberish() -> None:
    config = load_preset("gep")
    assert len(closest(config, "deferr", n=2)) <= 2
    assert closest(config, "qqqqqqqqqq") == []


# help_text


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_help_mentions_every_verb_with_its_usage(preset: str) -> None:
    config = load_preset(preset)
    text = help_text(config)
    for verb in registry(config):
        assert f"| `{verb.usage}` | {verb.summary} |" in text


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_help_is_stable(preset: str) -> None:
    assert help_text(load_preset(preset)) == help_text(load_preset(preset))


def test_help_says_who_may_run_each_verb() -> None:
    text = help_text(load_preset("kep"))
    assert "| `/kep withdraw` | " in text
    withdraw = next(line for line in text.splitlines() if line.startswith("| `/kep withdraw`"))
    assert withdraw.endswith("| approvers, the proposal's authors |")
    approve = next(line for line in text.splitlines() if line.startswith("| `/kep approve`"))
    assert approve.endswith("| approvers |")
    assert "| `/kep help` | shows this list of commands | anyone |" in text


def test_help_uses_the_repository_word_and_is_a_markdown_table() -> None:
    text = help_text(load_preset("kpep"))
    assert "`/kpep status`" in text
    assert "/kep " not in text
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert rows[:2] == ["| command | what it does | who may run it |", "| --- | --- | --- |"]
    assert all(row.count(" | ") == 2 for row in rows)
    assert len(rows) == 2 + len(registry(load_preset("kpep")))
