"""Whether the caller may use an endpoint on a repository or organization.

GitHub hides what a caller may not read (404) and refuses what it may read but not change
(403 "Resource not accessible by integration" for Apps, with the accepted permissions).
"""

from __future__ import annotations

from bot.sandbox.auth import UNDECODABLE_JWT, grants
from bot.sandbox.errors import ApiError, forbidden_for_integration, not_found
from bot.sandbox.model import ROLE_RANK, Repo, State, Token
from bot.sandbox.routing import Ctx, Needs


def token_scope(state: State, token: Token) -> set[str]:
    if token.repositories is not None:
        return {name.lower() for name in token.repositories}
    assert token.installation_id is not None
    installation = state.installations[token.installation_id]
    return {name.lower() for name in state.installed_repos(installation)}


def _maintainer_may_push(state: State, repo: Repo, scope: set[str]) -> bool:
    """An App may push to a user-owned fork when an installed repo's open PR allows it."""
    if repo.parent is None or state.user(repo.owner).type != "User":
        return False
    for full_name in scope:
        base = state.repo(full_name)
        for issue in base.issues.values():
            pr = issue.pull
            if (
                pr is not None
                and issue.state == "open"
                and pr.head_repo.lower() == repo.full_name.lower()
                and pr.maintainer_can_modify
            ):
                return True
    return False


def _accepted(needs: Needs) -> str:
    level = "write" if needs.write else "read"
    return "; ".join(f"{permission}={level}" for permission in needs.permission)


def _authorize_repo(ctx: Ctx, needs: Needs) -> Repo:
    state, identity = ctx.state, ctx.identity
    repo = state.find_repo(ctx.param("owner"), ctx.param("repo"))
    if repo is None:
        raise not_found()
    if identity.kind == "anonymous":
        if repo.private:
            raise not_found()
        if needs.write:
            raise ApiError(401, "Requires authentication")
    elif identity.kind == "user":
        role = state.role(repo, ctx.actor)
        if role == "none":
            raise not_found()
        needed = needs.user_role or ("write" if needs.write else "read")
        if ROLE_RANK[role] < ROLE_RANK[needed]:
            raise ApiError(403, "Resource not accessible by personal access token")
    elif identity.token is not None:
        scope = token_scope(state, identity.token)
        in_scope = repo.full_name.lower() in scope
        fork_push = needs.write and "contents" in needs.permission
        if not in_scope and not (fork_push and _maintainer_may_push(state, repo, scope)):
            if repo.private:
                raise not_found()
            if needs.write:
                raise forbidden_for_integration(_accepted(needs))
        if not grants(identity, needs.permission, needs.write):
            raise forbidden_for_integration(_accepted(needs))
    return repo


def _authorize_org(ctx: Ctx, needs: Needs) -> None:
    state, identity = ctx.state, ctx.identity
    org = state.find_user(ctx.param("org"))
    if org is None or org.type != "Organization":
        raise not_found()
    if identity.kind == "installation":
        assert identity.installation_id is not None
        installation = state.installations[identity.installation_id]
        if installation.account.lower() != org.login.lower():
            raise not_found()
        if not grants(identity, needs.permission, needs.write):
            raise forbidden_for_integration(_accepted(needs))


def authorize(ctx: Ctx, needs: Needs) -> None:
    """Raise the error GitHub would answer; record the repository the request is about."""
    kind = ctx.identity.kind
    if needs.auth == "jwt":
        if kind != "app":
            raise ApiError(401, UNDECODABLE_JWT)
        return
    if kind == "app" and needs.auth != "any":
        raise forbidden_for_integration()
    if needs.auth == "installation" and kind != "installation":
        raise ApiError(403, "This endpoint requires an installation access token")
    match = ctx.request.match_info
    if "owner" in match and "repo" in match:
        ctx.found_repo = _authorize_repo(ctx, needs)
    elif "org" in match:
        _authorize_org(ctx, needs)
    elif needs.write and kind == "anonymous":
        raise ApiError(401, "Requires authentication")
