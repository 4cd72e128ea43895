"""The kep-2017 preset's editor role: KEP-1 as first written gives numbers through editors.

KEP-1 (kubernetes/community `keps/0001-kubernetes-enhancement-proposal-process.md`, first
version): "On acceptance a sequential dense number will be assigned. This will be done by
the editor"; `editor` is a required metadata item with the "same name/contact scheme as
`authors`" (a login, or a map with `name`, `github`, ...), and its "KEP Editor Role"
section describes a group of KEP editors. The number comes with the move to Approved
(`numbering.when: accept`), so that move is given by an approver or an editor.
"""

from collections.abc import Sequence

from bot.engine.authorize import Spoken, replay, verdict
from bot.engine.commands import Command
from bot.engine.config import Config, RoleRule, Transition, load_config, load_preset
from bot.engine.process import transition_for
from bot.engine.proposal import load_proposal
from bot.engine.replay_steps import Can
from bot.engine.roles import Grant, login_of, role_fields, rule_for
from bot.engine.tree import MemoryTree
from bot.engine.validate import validate_tree
from bot.github.roles import holds

CONFIG = load_preset("kep-2017")
DRAFT = "keps/sig-cli/draft-20180412-kubectl-plugins.md"
BODY = "\n# Kubectl Plugins\n\n## Summary\n\nText.\n\n## Motivation\n\nText.\n"


def metadata(editor: str) -> str:
    return (
        "---\nkep-number: draft-20180412\ntitle: Kubectl Plugins\n"
        'authors:\n  - "@janedoe"\nowning-sig: sig-cli\n'
        'reviewers:\n  - "@alicedoe"\napprovers:\n  - "@oscardoe"\n'
        f"{editor}creation-date: 2018-04-12\nstatus: Draft\n---\n"
    )


AS_MAP = metadata("editor:\n  name: Joe Beda\n  github: jbeda\n")
AS_LOGIN = metadata('editor: "@jbeda"\n')
NOBODY = metadata("editor: TBD\n")
NAME_ONLY = metadata("editor:\n  name: TBD\n")


def people(config: Config, text: str) -> dict[str, list[str]]:
    """The role metadata of the proposal, as a role check is given it."""
    proposal = load_proposal(config, MemoryTree({DRAFT: text}), DRAFT)
    assert proposal is not None
    return {name: proposal.list_of(name) for name in role_fields(config)}


def offline(rule: RoleRule | None) -> RoleRule | None:
    """The parts of a rule that need no GitHub: configured users and the metadata."""
    if rule is None:
        return None
    return rule.model_copy(update={"codeowners": False, "teams": [], "permission": None})


async def grant(config: Config, text: str, login: str, role: str) -> Grant:
    return await holds(
        None,  # type: ignore[arg-type]  # users and metadata answer; nothing asks GitHub
        None,  # type: ignore[arg-type]
        repo="kubernetes/community",
        default_branch="master",
        login=login,
        role=role,
        rule=offline(rule_for(config, role)),
        metadata=people(config, text),
        path=DRAFT,
    )


def can_for(config: Config, text: str) -> Can:
    async def can(login: str, transition: Transition, path: str) -> Grant:
        grants = [await grant(config, text, login, role) for role in transition.roles]
        return next((g for g in grants if g.granted), grants[-1])

    return can


def said(login: str, text: str) -> Spoken:
    verb, *args = text.split()
    return Spoken(login, (Command(verb, tuple(args), 1, text),), 1)


async def moved(config: Config, text: str, base: str, head: str, history: Sequence[Spoken]) -> str:
    replayed = await replay(config, DRAFT, base, history, can_for(config, text))
    return verdict(config, replayed, head)


def test_the_editor_field_is_part_of_the_role_metadata_in_either_form() -> None:
    assert role_fields(CONFIG) == ("approvers", "reviewers", "authors", "editor")
    assert role_fields(load_preset("kep")) == ("approvers", "reviewers", "authors")
    assert [login_of(e) for e in people(CONFIG, AS_MAP)["editor"]] == ["jbeda"]
    assert [login_of(e) for e in people(CONFIG, AS_LOGIN)["editor"]] == ["jbeda"]
    assert people(CONFIG, NOBODY)["editor"] == []
    assert people(CONFIG, NAME_ONLY)["editor"] == []
    for text in (AS_MAP, AS_LOGIN, NOBODY, NAME_ONLY):
        found = validate_tree(CONFIG, MemoryTree({DRAFT: text + BODY})).findings
        assert [f.rule for f in found] == ["index.stale"]  # no keps/index.md: nothing else


async def test_the_editor_named_in_the_metadata_holds_the_editor_role() -> None:
    for text in (AS_MAP, AS_LOGIN):
        editor = await grant(CONFIG, text, "JBeda", "editor")
        assert editor.granted
        assert editor.reason == "`@jbeda` is listed in editor in draft-20180412-kubectl-plugins.md"
        assert not (await grant(CONFIG, text, "oscardoe", "editor")).granted
        assert not (await grant(CONFIG, text, "jbeda", "approver")).granted
    assert not (await grant(CONFIG, NOBODY, "tbd", "editor")).granted


async def test_the_repositorys_kep_editors_are_configured_users_or_teams() -> None:
    config = load_config("extends: kep-2017\nroles:\n  editor:\n    users: [eddie]\n")
    rule = config.roles["editor"]
    assert rule.metadata == ["editor"] and rule.users == ["eddie"]  # merged, not replaced
    configured = await grant(config, NOBODY, "Eddie", "editor")
    assert configured.granted
    assert configured.reason == "`@eddie` is listed as an editor in the configuration"
    assert not (await grant(CONFIG, NOBODY, "eddie", "editor")).granted
    teams = load_config("extends: kep-2017\nroles:\n  editor:\n    teams: [k8s/kep-editors]\n")
    assert teams.roles["editor"].teams == ["k8s/kep-editors"]


def test_only_the_number_giving_move_is_open_to_editors() -> None:
    for verb in ("approve", "accept"):
        move = transition_for(CONFIG, verb, "Draft")
        assert move is not None and move.to == "Approved"
        assert move.roles == ["approver", "editor"]
    assert CONFIG.numbering.when == "accept"  # the number comes with that move
    others = [t for t in CONFIG.transitions if t.to != "Approved"]
    assert others and all("editor" not in t.roles for t in others)


async def test_an_editor_approves_and_judges_nothing_else() -> None:
    async def by(login: str, verb: str, base: str, head: str, text: str = AS_MAP) -> str:
        return await moved(CONFIG, text, base, head, [said(login, verb)])

    assert await by("jbeda", "approve", "Draft", "Approved") == "authorised"
    assert await by("oscardoe", "approve", "Draft", "Approved") == "authorised"
    # Someone else, a proposal without an editor, and the editor for any other move wait.
    assert await by("janedoe", "approve", "Draft", "Approved") == "waiting"
    assert await by("jbeda", "approve", "Draft", "Approved", NOBODY) == "waiting"
    assert await by("jbeda", "reject", "Draft", "Rejected") == "waiting"
    assert await by("jbeda", "final", "Approved", "Final") == "waiting"
