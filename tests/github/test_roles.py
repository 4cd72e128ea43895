"""Who holds a role: each rule granting, the order they are tried in, the reason of a
denial, and the sentence naming who can act (bot.github.roles, bot.engine.roles)."""

from __future__ import annotations

import pytest

from bot.engine.config import RoleRule, load_preset
from bot.engine.roles import at_least, login_of, normalize, one_of, rank, rule_for
from bot.github.client import KepbotAPI
from bot.github.people import Directory
from bot.github.roles import holds, who_can
from bot.sandbox import GitHubDouble

from .conftest import KEP

APPROVER = load_preset("kep").roles["approver"]  # approvers in kep.yaml, CODEOWNERS, maintain
OWNERS = "# owners\n* @octo/admins\nkeps/sig-node/ @octo/sig-node-leads @Dawn\n"
META = {"approvers": ["@carol"], "authors": ["@alice"]}


@pytest.fixture
def directory() -> Directory:
    return Directory(ttl=300)


@pytest.fixture
def seeded(double: GitHubDouble, repo: str) -> str:
    """CODEOWNERS on the default branch; sig-node leads; people with various permissions."""
    double.push(repo, "main", {".github/CODEOWNERS": OWNERS})
    double.add_team_member("octo", "sig-node-leads", "erin")
    double.add_team_member("octo", "leads", "gina")
    double.set_permission(repo, "mona", "maintain")
    double.set_permission(repo, "mallory", "write")
    return repo


async def approver(
    directory: Directory,
    gh: KepbotAPI,
    login: str,
    rule: RoleRule | None = APPROVER,
    metadata: dict[str, list[str]] | None = None,
    *,
    role: str = "approver",
    mention: bool = False,
) -> tuple[bool, str]:
    grant = await holds(
        directory,
        gh,
        repo="octo/enhancements",
        default_branch="main",
        login=login,
        role=role,
        rule=rule,
        metadata=META if metadata is None else metadata,
        path=KEP,
        mention=mention,
    )
    assert grant.role == role
    return grant.granted, grant.reason


async def test_listed_user_grants(directory: Directory, gh: KepbotAPI, seeded: str) -> None:
    rule = RoleRule(users=["@Dave"])
    assert await approver(directory, gh, "dave", rule) == (
        True,
        "`@dave` is listed as an approver in the configuration",
    )


async def test_metadata_field_grants_without_any_request(
    directory: Directory, gh: KepbotAPI, double: GitHubDouble, seeded: str
) -> None:
    before = len(double.requests)
    assert await approver(directory, gh, "@Carol") == (
        True,
        "`@carol` is listed in approvers in kep.yaml",
    )
    assert double.requests[before:] == []  # the first rule that grants stops the search


async def test_codeowners_user_grants(directory: Directory, gh: KepbotAPI, seeded: str) -> None:
    assert await approver(directory, gh, "dawn") == (
        True,
        "`@dawn` owns keps/sig-node/ in CODEOWNERS",
    )


async def test_codeowners_team_grants(directory: Directory, gh: KepbotAPI, seeded: str) -> None:
    assert await approver(directory, gh, "erin") == (
        True,
        "`@erin` is in `@octo/sig-node-leads`, an owner of keps/sig-node/ in CODEOWNERS",
    )


async def test_only_the_last_matching_codeowners_line_counts(
    directory: Directory, gh: KepbotAPI, double: GitHubDouble, seeded: str
) -> None:
    double.add_team_member("octo", "admins", "ivan")  # owns `*`, overridden for keps/sig-node/
    granted, _ = await approver(directory, gh, "ivan", RoleRule(codeowners=True))
    assert granted is False


async def test_configured_team_grants(directory: Directory, gh: KepbotAPI, seeded: str) -> None:
    rule = RoleRule(teams=["octo/leads"], permission="admin")
    assert await approver(directory, gh, "gina", rule) == (
        True,
        "`@gina` is a member of `@octo/leads`",
    )


async def test_permission_grants_at_the_level_or_above(
    directory: Directory, gh: KepbotAPI, double: GitHubDouble, seeded: str
) -> None:
    assert await approver(directory, gh, "mona") == (
        True,
        "`@mona` has maintain permission on octo/enhancements",
    )
    double.set_permission(seeded, "root", "admin")
    assert (await approver(directory, gh, "root"))[0] is True
    assert (await approver(directory, gh, "mallory"))[0] is False  # write < maintain


async def test_denial_names_what_would_grant(
    directory: Directory, gh: KepbotAPI, seeded: str
) -> None:
    assert await approver(directory, gh, "mallory") == (
        False,
        "`@mallory` is not an approver: needs one of approvers in kep.yaml (`@carol`), "
        "CODEOWNERS of keps/sig-node/ (`@octo/sig-node-leads`, `@Dawn`), "
        "or maintain permission",
    )


async def test_denial_with_mentions_and_every_kind_of_rule(
    directory: Directory, gh: KepbotAPI, seeded: str
) -> None:
    rule = RoleRule(users=["dave"], metadata=["approvers"], codeowners=True, teams=["octo/leads"])
    granted, reason = await approver(directory, gh, "mallory", rule, mention=True)
    assert not granted
    assert reason == (
        "@mallory is not an approver: needs one of listed users (@dave), "
        "approvers in kep.yaml (@carol), CODEOWNERS of keps/sig-node/ "
        "(@octo/sig-node-leads, @Dawn), or team @octo/leads"
    )


async def test_a_role_without_any_rule_grants_nobody(
    directory: Directory, gh: KepbotAPI, seeded: str
) -> None:
    assert await approver(directory, gh, "mona", RoleRule(), role="editor") == (
        False,
        "`@mona` is not an editor: no rule grants that role here",
    )
    assert await approver(directory, gh, "mona", None, role="editor") == (
        False,
        "`@mona` is not an editor: no rule defines that role",
    )


async def test_a_pull_request_cannot_make_its_author_an_owner(
    directory: Directory, gh: KepbotAPI, double: GitHubDouble, seeded: str
) -> None:
    double.open_pull_request(
        seeded,
        "grab",
        {".github/CODEOWNERS": "* @mallory\n", KEP: "title: x\nstatus: implementable\n"},
        "Approve myself",
        author="mallory",
    )
    granted, _ = await approver(directory, gh, "mallory")
    assert granted is False


async def test_self_approval_is_not_decided_here(
    directory: Directory, gh: KepbotAPI, seeded: str
) -> None:
    both = {"approvers": ["@alice"], "authors": ["@alice"]}
    assert (await approver(directory, gh, "alice", metadata=both))[0] is True


async def test_author_role_comes_from_the_authors_field(
    directory: Directory, gh: KepbotAPI, seeded: str
) -> None:
    rule = rule_for(load_preset("kep"), "author")
    assert rule == RoleRule(metadata=["authors"])
    assert await approver(directory, gh, "alice", rule, role="author") == (
        True,
        "`@alice` is listed in authors in kep.yaml",
    )
    assert (await approver(directory, gh, "carol", rule, role="author"))[0] is False


async def test_who_can_names_people_teams_and_permission(
    directory: Directory, gh: KepbotAPI, double: GitHubDouble, seeded: str
) -> None:
    sentence = await who_can(
        directory,
        gh,
        repo=seeded,
        default_branch="main",
        role="approver",
        rule=APPROVER,
        metadata=META,
        path=KEP,
    )
    assert sentence == (
        "Who can act as approver: approvers in kep.yaml (`@carol`), CODEOWNERS of "
        "keps/sig-node/ (`@octo/sig-node-leads`, `@Dawn`), or anyone with maintain "
        "permission or higher."
    )
    assert "mona" not in sentence  # collaborators are not enumerated
    assert requests_for_collaborators(double) == 0


def requests_for_collaborators(double: GitHubDouble) -> int:
    return sum("/collaborators" in r.path for r in double.requests)


async def test_who_can_without_rule(directory: Directory, gh: KepbotAPI, seeded: str) -> None:
    sentence = await who_can(
        directory,
        gh,
        repo=seeded,
        default_branch="main",
        role="editor",
        rule=None,
        metadata={},
        path=None,
    )
    assert sentence == "Nobody can act as editor: no rule defines that role."


@pytest.mark.parametrize(
    ("entry", "login"),
    [
        ("@Alice", "alice"),
        ("alice", "alice"),
        ("Alice Liddell (@alice-l)", "alice-l"),
        ("@octo/team", None),
        ("TBD", None),
        ("@tbd", None),
        ("Alice Liddell", None),
        ("kepbot[bot]", "kepbot[bot]"),
    ],
)
def test_login_of_metadata_entries(entry: str, login: str | None) -> None:
    assert login_of(entry) == login


def test_permission_order() -> None:
    order = ["none", "read", "triage", "write", "maintain", "admin"]
    assert sorted(reversed(order), key=rank) == order
    assert at_least("admin", "maintain") and at_least("maintain", "maintain")
    assert not at_least("write", "maintain") and not at_least("docs-editor", "triage")
    assert normalize(" @MoNa ") == "mona"
    assert one_of(["a", "b", "c"]) == "a, b, or c" and one_of(["a", "b"]) == "a or b"
