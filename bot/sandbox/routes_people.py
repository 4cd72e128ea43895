"""Who may do what: collaborator permissions, organization membership and team membership."""

from __future__ import annotations

from bot.sandbox.errors import not_found
from bot.sandbox.routing import Ctx, Registry, Reply, no_content, ok
from bot.sandbox.views import login_json, org_json

registry = Registry()
MEMBERS = ("members",)
LEGACY_PERMISSION = {"maintain": "write", "triage": "read"}


@registry.route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def collaborator_permission(ctx: Ctx) -> Reply:
    login = ctx.param("username")
    user = ctx.state.find_user(login)
    if user is None:
        raise not_found()
    role = ctx.state.role(ctx.repo, user.login)
    body = login_json(ctx.state, ctx.urls, user.login)
    return ok(
        {
            "permission": LEGACY_PERMISSION.get(role, role),
            "role_name": role,
            "user": body,
        }
    )


@registry.route("GET", "/repos/{owner}/{repo}/collaborators/{username}")
def check_collaborator(ctx: Ctx) -> Reply:
    login = ctx.param("username").lower()
    repo = ctx.repo
    is_owner = login == repo.owner.lower()
    if (
        not is_owner
        and login not in repo.collaborators
        and not ctx.state.org_role(repo.owner, login)
    ):
        raise not_found()
    return no_content()


@registry.route("GET", "/orgs/{org}/members/{username}", permission=MEMBERS)
def check_org_member(ctx: Ctx) -> Reply:
    if ctx.state.org_role(ctx.param("org"), ctx.param("username")) is None:
        raise not_found()
    return no_content()


@registry.route("GET", "/orgs/{org}/memberships/{username}", permission=MEMBERS)
def org_membership(ctx: Ctx) -> Reply:
    org, login = ctx.param("org"), ctx.param("username")
    role = ctx.state.org_role(org, login)
    if role is None:
        raise not_found()
    org_api = f"{ctx.urls.api}/orgs/{org}"
    return ok(
        {
            "url": f"{org_api}/memberships/{login}",
            "state": "active",
            "role": role,
            "direct_membership": True,
            "enterprise_teams_providing_indirect_membership": [],
            "organization_url": org_api,
            "organization": org_json(ctx.state, ctx.urls, org),
            "user": login_json(ctx.state, ctx.urls, login),
        }
    )


@registry.route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", permission=MEMBERS)
def team_membership(ctx: Ctx) -> Reply:
    team = ctx.state.teams.get((ctx.param("org").lower(), ctx.param("team_slug").lower()))
    login = ctx.param("username")
    role = team.members.get(login.lower()) if team else None
    if team is None or role is None:
        raise not_found()
    return ok(
        {
            "url": f"{ctx.urls.api}/teams/{team.id}/memberships/{login}",
            "role": role,
            "state": "active",
        }
    )
