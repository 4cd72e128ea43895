"""Roles: collaborator permission levels, organization and team membership."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox


@pytest.mark.parametrize(
    ("role", "legacy"),
    [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
    ],
)
async def test_collaborator_permission_maps_roles_to_legacy_levels(
    gh: GitHubAPI, double: GitHubDouble, repo: str, role: str, legacy: str
) -> None:
    double.set_permission(repo, "bob", role)
    answer = await gh.getitem(f"/repos/{repo}/collaborators/bob/permission")
    assert (answer["permission"], answer["role_name"], answer["user"]["login"]) == (
        legacy,
        role,
        "bob",
    )
    assert await gh.getstatus(f"/repos/{repo}/collaborators/bob") == 204


async def test_owner_is_admin_and_strangers_read_public_repos(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    owner = await gh.getitem(f"/repos/{repo}/collaborators/octo/permission")
    assert owner["permission"] == "admin"
    double.add_user("stranger")
    stranger = await gh.getitem(f"/repos/{repo}/collaborators/stranger/permission")
    assert stranger["permission"] == "read"
    assert await gh.getstatus(f"/repos/{repo}/collaborators/stranger") == 404
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}/collaborators/nobody-at-all/permission")
    assert error.value.status_code == 404


async def test_org_and_team_membership(sandbox: Sandbox, double: GitHubDouble) -> None:
    double.add_org("kubernetes")
    repo = double.add_repo("kubernetes", "enhancements", {"README.md": "x"})
    installation = double.add_installation("kubernetes")
    double.add_team_member("kubernetes", "sig-node-leads", "dawn", role="maintainer")
    double.add_org_member("kubernetes", "steering", role="admin")
    gh = await sandbox.installation_client(installation)

    team = await gh.getitem("/orgs/kubernetes/teams/sig-node-leads/memberships/dawn")
    assert (team["role"], team["state"]) == ("maintainer", "active")
    with pytest.raises(BadRequest) as not_member:
        await gh.getitem("/orgs/kubernetes/teams/sig-node-leads/memberships/steering")
    assert not_member.value.status_code == 404
    assert await gh.getstatus("/orgs/kubernetes/members/dawn") == 204
    assert await gh.getstatus("/orgs/kubernetes/members/outsider") == 404
    membership = await gh.getitem("/orgs/kubernetes/memberships/steering")
    assert (membership["role"], membership["organization"]["login"]) == ("admin", "kubernetes")
    admin = await gh.getitem(f"/repos/{repo}/collaborators/steering/permission")
    assert admin["permission"] == "admin"


async def test_team_checks_need_the_members_permission(
    sandbox: Sandbox, double: GitHubDouble
) -> None:
    double.add_org("kubernetes")
    double.add_repo("kubernetes", "enhancements", {"README.md": "x"})
    double.add_team_member("kubernetes", "leads", "dawn")
    installation = double.add_installation("kubernetes", permissions={"issues": "write"})
    gh = await sandbox.installation_client(installation)
    with pytest.raises(BadRequest) as error:
        await gh.getitem("/orgs/kubernetes/teams/leads/memberships/dawn")
    assert error.value.status_code == 403
