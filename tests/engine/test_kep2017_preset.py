"""The kep-2017 preset does what KEP-1 as first written says.

KEP-1 is kubernetes/community `keps/0001-kubernetes-enhancement-proposal-process.md`; its
first version documents the people as "a list of maps. Subkeys of each item: `name`,
`github`, `email` (optional), `slack` (optional)", lists the statuses as `Draft`,
`Deferred`, `Approved`, ... and writes `status: draft`, as its template
(`keps/0000-kep-template.md`) does, which also writes people as plain logins. No proposal
of the shared corpus (today's kubernetes/enhancements) uses the map form, so the fixtures
below are KEP-1's own metadata and its template's, in front matter.
"""

import datetime
from collections.abc import Sequence

import pytest

from bot.check_output import Decision, check_output
from bot.engine.authorize import Spoken, replay, verdict
from bot.engine.commands import Command
from bot.engine.config import ConfigError, RoleRule, Transition, load_config, load_preset
from bot.engine.edits import transition_edit
from bot.engine.index import index_for
from bot.engine.process import free_move, transition_for
from bot.engine.proposal import load_proposal
from bot.engine.roles import Grant, login_of
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_change, validate_tree
from bot.github.roles import holds

CONFIG = load_preset("kep-2017")
KEP_1 = "keps/sig-architecture/0001-kubernetes-enhancement-proposal-process.md"
DRAFT = "keps/sig-cli/draft-20180412-kubectl-plugins.md"
BODY = "\n# Title\n\n## Summary\n\nText.\n\n## Motivation\n\nText.\n"

# KEP-1's metadata as first written (its `kubernetes-wide` was in backticks, which YAML
# front matter cannot start a plain value with).
KEP_1_METADATA = """\
---
kep-number: 1
title: Kubernetes Enhancement Proposal Process
authors:
  - name: Caleb Miles
    github: calebamiles
    slack: calebamiles
  - name: Joe Beda
    github: jbeda
    email: joe@heptio.com
    slack: jbeda
owning-sig: sig-architecture
participating-sigs:
  - kubernetes-wide
reviewers:
  - name: TBD
approvers:
  - name: Brian Grant
    github: bgrant0607
  - name: "@timothysc"
editor:
  name: TBD
creation-date: 2017-08-22
status: draft
---
"""

# KEP-1's template: plain logins, TBD, `editor: TBD`, `status: draft`.
TEMPLATE = """\
---
kep-number: draft-20180412
title: Kubectl Plugins
authors:
  - "@janedoe"
owning-sig: sig-cli
participating-sigs:
  - sig-aaa
reviewers:
  - TBD
  - "@alicedoe"
approvers:
  - TBD
  - "@oscardoe"
editor: TBD
creation-date: 2018-04-12
last-updated: 2018-04-12
status: draft
---
"""


def tree(**files: str) -> MemoryTree:
    # With the current `keps/index.md` KEP-1 asks for, so that only the proposals speak.
    return MemoryTree(files | {"keps/index.md": index_for(CONFIG, MemoryTree(files))})


# -- people as KEP-1 writes them ------------------------------------------------------------


def test_kep_1s_people_as_maps_and_its_templates_plain_logins_are_valid() -> None:
    report = validate_tree(CONFIG, tree(**{KEP_1: KEP_1_METADATA + BODY, DRAFT: TEMPLATE + BODY}))
    assert report.proposals == [KEP_1, DRAFT]
    assert report.findings == []


def test_a_person_is_a_login_or_a_map_of_known_keys_and_errors_say_where() -> None:
    text = KEP_1_METADATA.replace("    slack: jbeda\n", "    twitter: jbeda\n").replace(
        "  - kubernetes-wide\n", "  - kubernetes-wide\n  - [nested]\n"
    )
    found = validate_tree(CONFIG, tree(**{KEP_1: text + BODY})).findings
    assert [(f.rule, f.line, f.message) for f in found] == [
        (
            "schema.unknown-key",
            11,
            "unknown key 'authors[1].twitter'. Valid: name, github, email, slack",
        ),
        ("schema.type", 15, "participating-sigs[1] must be a string, not a list"),
    ]
    listed = KEP_1_METADATA.replace("editor:\n  name: TBD\n", "editor:\n  - TBD\n")
    (wrong,) = validate_tree(CONFIG, tree(**{KEP_1: listed + BODY})).findings
    assert (wrong.rule, wrong.path, wrong.line) == ("schema.type", KEP_1, 21)
    assert wrong.message == "editor must be a string or a mapping, not a list"


def test_the_login_of_a_person_map_is_its_github_key() -> None:
    proposal = load_proposal(CONFIG, tree(**{KEP_1: KEP_1_METADATA}), KEP_1)
    assert proposal is not None
    assert [login_of(e) for e in proposal.list_of("authors")] == ["calebamiles", "jbeda"]
    # `name: "@timothysc"` (KEP-1 as merged) names a login; `name: TBD` names nobody.
    assert [login_of(e) for e in proposal.list_of("approvers")] == ["bgrant0607", "timothysc"]
    assert proposal.list_of("reviewers") == []


async def test_an_approver_written_as_a_map_can_act() -> None:
    proposal = load_proposal(CONFIG, tree(**{KEP_1: KEP_1_METADATA}), KEP_1)
    assert proposal is not None
    metadata = {name: proposal.list_of(name) for name in ("approvers", "reviewers", "authors")}
    rule = RoleRule(metadata=["approvers"])  # the role as the preset reads it from metadata

    async def grant(login: str) -> Grant:
        return await holds(
            None,  # type: ignore[arg-type]  # the metadata answers; nothing asks GitHub
            None,  # type: ignore[arg-type]
            repo="kubernetes/community",
            default_branch="master",
            login=login,
            role="approver",
            rule=rule,
            metadata=metadata,
            path=KEP_1,
        )

    assert (await grant("BGrant0607")).granted
    assert (await grant("timothysc")).granted
    assert not (await grant("calebamiles")).granted
    # A name is not a login: someone whose login happens to be "tbd" is no approver.
    assert not (await grant("tbd")).granted


# -- a new Draft needs no decision ----------------------------------------------------------


async def nobody(login: str, transition: Transition, path: str) -> Grant:
    return Grant("approver", False, f"{login} holds no role")


def said(login: str, text: str) -> Spoken:
    verb, *args = text.split()
    return Spoken(login, (Command(verb, tuple(args), 1, text),), 1)


async def decided(base: str | None, head: str, history: Sequence[Spoken] = ()) -> str:
    replayed = await replay(CONFIG, DRAFT, base, history, nobody)
    return verdict(CONFIG, replayed, head)


def test_the_preset_marks_only_the_entry_of_a_new_proposal_into_draft_as_free() -> None:
    assert free_move(CONFIG, None, "Draft")
    assert not free_move(CONFIG, "Deferred", "Draft")
    assert not free_move(CONFIG, None, "Approved")
    assert not free_move(CONFIG, "Draft", "Draft")
    assert not free_move(CONFIG, None, None)
    for name in ("kep", "gep", "agentic", "kpep"):
        assert all(t.decision for t in load_preset(name).transitions), name


async def test_a_new_draft_is_decided_without_a_command() -> None:
    assert await decided(None, "Draft") == "authorised"
    # Everything else still waits for someone holding the role.
    assert await decided(None, "Approved") == "waiting"
    assert await decided("Deferred", "Draft") == "waiting"
    assert await decided(None, "Approved", [said("mallory", "approve")]) == "waiting"


async def test_the_check_of_a_valid_new_draft_succeeds_and_an_invalid_one_fails() -> None:
    base = tree()
    for text, conclusion in (
        (TEMPLATE + BODY, "success"),
        (TEMPLATE.replace("title: Kubectl Plugins\n", "") + BODY, "failure"),
    ):
        report = validate_change(CONFIG, tree(**{DRAFT: text}), base, [DRAFT])
        head = load_proposal(CONFIG, tree(**{DRAFT: text}), DRAFT)
        assert head is not None and head.status == "Draft"
        found = await decided(None, head.status)
        output = check_output(report, decisions=[Decision(DRAFT, found, None, head.status)])
        assert output.conclusion == conclusion, output.summary


async def test_a_new_approved_proposal_still_waits_for_a_decision() -> None:
    sections = ("Proposal", "Graduation Criteria", "Implementation History")
    text = TEMPLATE.replace("status: draft", "status: Approved") + BODY
    text += "".join(f"\n## {name}\n\nText.\n" for name in sections)
    report = validate_change(CONFIG, tree(**{DRAFT: text}), tree(), [DRAFT])
    found = await decided(None, "Approved")
    output = check_output(report, decisions=[Decision(DRAFT, found, None, "Approved")])
    assert output.conclusion == "action_required"


def test_a_transition_without_a_decision_cannot_have_a_comment_period() -> None:
    text = (
        "extends: kep-2017\ntransitions:\n"
        "  - {to: Draft, from: [new], decision: false, period: {days: 3}}\n"
        "  - {to: Approved, from: [Draft], verbs: [approve]}\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_config(text)
    assert refused.value.problems == [
        (3, "a transition with `decision: false` cannot have a comment period")
    ]


# -- statuses in the case KEP-1 writes them ------------------------------------------------


def test_a_status_in_another_case_is_the_listed_status() -> None:
    files = tree(**{DRAFT: TEMPLATE + BODY})
    proposal = load_proposal(CONFIG, files, DRAFT)
    assert proposal is not None and proposal.status == "Draft"
    approve = transition_for(CONFIG, "approve", proposal.status)
    assert approve is not None and approve.to == "Approved"
    unknown = TEMPLATE.replace("status: draft", "status: drafted") + BODY
    (finding,) = validate_tree(CONFIG, tree(**{DRAFT: unknown})).findings
    assert (finding.rule, finding.line) == ("status.unknown", 18)
    assert "did you mean 'Draft'?" in finding.message


async def test_commands_move_a_lower_case_draft() -> None:
    async def carol(login: str, transition: Transition, path: str) -> Grant:
        return Grant("approver", login == "carol", "carol approves")

    proposal = load_proposal(CONFIG, tree(**{DRAFT: TEMPLATE}), DRAFT)
    assert proposal is not None
    replayed = await replay(CONFIG, DRAFT, proposal.status, [said("carol", "approve")], carol)
    assert replayed.status == "Approved"


def test_the_bot_writes_the_listed_case_and_leaves_a_same_status_alone() -> None:
    today = datetime.date(2018, 5, 1)
    moved = transition_edit(CONFIG, TEMPLATE, status="Approved", today=today)
    assert moved == TEMPLATE.replace("status: draft", "status: Approved").replace(
        "last-updated: 2018-04-12", "last-updated: 2018-05-01"
    )
    assert transition_edit(CONFIG, TEMPLATE, status="approved", today=today) == moved
    assert transition_edit(CONFIG, TEMPLATE, status="Draft", today=today) == TEMPLATE


def test_a_move_between_case_variants_of_one_status_is_no_move() -> None:
    base = tree(**{DRAFT: TEMPLATE.replace("status: draft", "status: Draft") + BODY})
    report = validate_change(CONFIG, tree(**{DRAFT: TEMPLATE + BODY}), base, [DRAFT])
    assert report.moves == [] and report.findings == []


def test_other_presets_keep_exact_statuses() -> None:
    gep = load_preset("gep")
    assert gep.status_case == "exact" and gep.canonical_status("provisional") == "provisional"
    assert CONFIG.canonical_status("FINAL") == "Final"


def test_statuses_that_differ_only_in_case_are_refused_when_case_is_ignored() -> None:
    text = (
        "extends: kep-2017\nstatuses:\n  - name: Draft\n  - name: draft\n"
        "transitions:\n  - {to: Draft, from: [new]}\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_config(text)
    assert refused.value.problems == [
        (
            4,
            "status 'draft' differs from another only in case, which "
            "`status-case: insensitive` cannot tell apart",
        )
    ]
