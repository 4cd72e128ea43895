"""Permission, team membership and CODEOWNERS read from the double, and their caches
(bot.github.people)."""

from __future__ import annotations

import asyncio

import pytest
from gidgethub import BadRequest

from bot.github.client import GitHubClient, KepbotAPI
from bot.github.people import Directory, codeowners, in_team, permission
from bot.sandbox import GitHubDouble
from bot.sandbox.testing import ManualClock

from .conftest import requests

PERMISSION = "/collaborators/"
TEAM = "/teams/"


@pytest.mark.parametrize("role", ["admin", "maintain", "write", "triage", "read"])
async def test_permission_reports_the_role_name(
    gh: KepbotAPI, double: GitHubDouble, repo: str, role: str
) -> None:
    double.set_permission(repo, "alice", role)
    assert await permission(gh, repo, "@Alice") == role


async def test_permission_without_role_name_uses_the_legacy_permission(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_user("bob")
    double.inject("GET", r"/collaborators/bob/permission$", 200, body={"permission": "write"})
    assert await permission(gh, repo, "bob") == "write"


async def test_a_custom_role_name_falls_back_to_its_base_permission(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_user("bob")
    body = {"permission": "write", "role_name": "docs-editor"}
    double.inject("GET", r"/collaborators/bob/permission$", 200, body=body)
    assert await permission(gh, repo, "bob") == "write"


async def test_unknown_user_has_no_permission(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    assert await permission(gh, repo, "ghost") == "none"
    assert requests(double, "GET", "/collaborators/ghost/permission")[-1].status == 404


async def test_a_stranger_on_a_public_repository_can_read(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_user("stranger")
    assert await permission(gh, repo, "stranger") == "read"


async def test_team_membership(gh: KepbotAPI, double: GitHubDouble, repo: str) -> None:
    double.add_team_member("octo", "sig-node-leads", "dawn")
    double.add_team_member("octo", "other", "erin")
    assert await in_team(gh, "octo", "sig-node-leads", "@Dawn") is True
    assert await in_team(gh, "octo", "sig-node-leads", "erin") is False
    assert await in_team(gh, "octo", "no-such-team", "dawn") is False


async def test_pending_team_membership_is_not_membership(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_team_member("octo", "leads", "frank")
    body = {"url": "u", "role": "member", "state": "pending"}
    double.inject("GET", r"/teams/leads/memberships/frank$", 200, body=body)
    assert await in_team(gh, "octo", "leads", "frank") is False
    assert await in_team(gh, "octo", "leads", "frank") is True  # the fault was one-shot


async def test_team_of_an_org_the_installation_cannot_see_is_no_membership(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_team_member("elsewhere", "leads", "dawn")
    assert await in_team(gh, "elsewhere", "leads", "dawn") is False
    assert requests(double, "GET", "/orgs/elsewhere/")[-1].status == 404


async def test_codeowners_comes_from_the_default_branch_not_the_pr(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "main", {".github/CODEOWNERS": "keps/ @octo/leads\n"})
    double.open_pull_request(
        repo, "grab", {".github/CODEOWNERS": "* @mallory\n"}, "Own everything", author="mallory"
    )
    assert await codeowners(gh, repo, "main") == "keps/ @octo/leads\n"
    refs = {r.query.get("ref") for r in requests(double, "GET", "/contents/")}
    assert refs == {"main"}


async def test_codeowners_locations_in_github_order(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    assert await codeowners(gh, repo, "main") is None
    double.push(repo, "main", {"docs/CODEOWNERS": "* @docs\n"})
    assert await codeowners(gh, repo, "main") == "* @docs\n"
    double.push(repo, "main", {"CODEOWNERS": "* @root\n"})
    assert await codeowners(gh, repo, "main") == "* @root\n"
    double.push(repo, "main", {".github/CODEOWNERS": "* @dotgithub\n"})
    assert await codeowners(gh, repo, "main") == "* @dotgithub\n"


async def test_directory_second_lookup_makes_no_request(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.set_permission(repo, "alice", "maintain")
    double.add_team_member("octo", "leads", "alice")
    double.push(repo, "main", {"CODEOWNERS": "* @alice\n"})
    directory = Directory(ttl=300)
    first = (
        await directory.permission(gh, repo, "alice"),
        await directory.in_team(gh, "octo", "leads", "alice"),
        await directory.codeowners(gh, repo, "main"),
    )
    before = len(double.requests)
    second = (
        await directory.permission(gh, repo, "@ALICE"),
        await directory.in_team(gh, "octo", "Leads", "alice"),
        await directory.codeowners(gh, repo, "main"),
    )
    assert first == second == ("maintain", True, "* @alice\n")
    assert double.requests[before:] == []


async def test_directory_caches_absence_too(gh: KepbotAPI, double: GitHubDouble, repo: str) -> None:
    directory = Directory()
    assert await directory.codeowners(gh, repo, "main") is None
    before = len(double.requests)
    assert await directory.codeowners(gh, repo, "main") is None
    assert double.requests[before:] == []


async def test_directory_entries_expire_after_the_ttl(
    gh: KepbotAPI, double: GitHubDouble, repo: str, clock: ManualClock
) -> None:
    double.set_permission(repo, "alice", "write")
    directory = Directory(ttl=300, clock=clock)
    assert await directory.permission(gh, repo, "alice") == "write"
    double.set_permission(repo, "alice", "admin")
    clock.advance(299)
    assert await directory.permission(gh, repo, "alice") == "write"
    clock.advance(2)
    assert await directory.permission(gh, repo, "alice") == "admin"
    assert len(requests(double, "GET", PERMISSION)) == 2


async def test_directory_concurrent_lookups_share_one_request(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_team_member("octo", "leads", "alice")
    directory = Directory()
    results = await asyncio.gather(
        *(directory.in_team(gh, "octo", "leads", "alice") for _ in range(5))
    )
    assert results == [True] * 5
    assert len(requests(double, "GET", TEAM)) == 1


async def test_directory_is_keyed_per_installation(
    client: GitHubClient, gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.set_permission(repo, "alice", "triage")
    other = await client.for_installation(double.add_installation("octo"))
    directory = Directory()
    assert await directory.permission(gh, repo, "alice") == "triage"
    assert await directory.permission(other, repo, "alice") == "triage"
    identities = [r.identity for r in requests(double, "GET", PERMISSION)]
    assert identities == [
        f"installation:{gh.installation_id}",
        f"installation:{other.installation_id}",
    ]


async def test_directory_does_not_cache_errors(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.set_permission(repo, "alice", "write")
    double.inject("GET", r"/collaborators/alice/permission$", 418)
    directory = Directory()
    with pytest.raises(BadRequest) as refused:
        await directory.permission(gh, repo, "alice")
    assert refused.value.status_code == 418
    assert await directory.permission(gh, repo, "alice") == "write"
