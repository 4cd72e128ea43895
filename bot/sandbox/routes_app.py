"""Endpoints about the caller: the App, its installations and tokens, the user, the repository
itself, and the rate-limit status."""

from __future__ import annotations

from bot.sandbox.auth import grants, mint_installation_token
from bot.sandbox.errors import ApiError, not_found
from bot.sandbox.model import Installation, Json, iso
from bot.sandbox.routing import Ctx, Registry, Reply, created, ok, paged, paginate
from bot.sandbox.views import (
    app_json,
    client_id,
    installation_json,
    login_json,
    repo_json,
    user_json,
)

registry = Registry()


def _installation(ctx: Ctx) -> Installation:
    try:
        number = int(ctx.param("installation_id"))
    except ValueError as error:
        raise not_found() from error
    installation = ctx.state.installations.get(number)
    if installation is None:
        raise not_found()
    return installation


@registry.route("GET", "/app", auth="jwt")
def get_app(ctx: Ctx) -> Reply:
    body = app_json(ctx.state, ctx.urls, ctx.state.app)
    body["client_id"] = client_id(ctx.state.app)
    body["installations_count"] = len(ctx.state.installations)
    return ok(body)


@registry.route("GET", "/app/installations", auth="jwt")
def list_installations(ctx: Ctx) -> Reply:
    installations = sorted(ctx.state.installations.values(), key=lambda i: i.id)
    return paged(ctx, [installation_json(ctx.state, ctx.urls, i) for i in installations])


@registry.route("GET", "/app/installations/{installation_id}", auth="jwt")
def get_installation(ctx: Ctx) -> Reply:
    return ok(installation_json(ctx.state, ctx.urls, _installation(ctx)))


@registry.route("POST", "/app/installations/{installation_id}/access_tokens", auth="jwt")
def create_access_token(ctx: Ctx) -> Reply:
    installation = _installation(ctx)
    request = ctx.body if isinstance(ctx.body, dict) else {}
    token = mint_installation_token(ctx.state, installation.id, request)
    names = token.repositories or ctx.state.installed_repos(installation)
    assert token.expires_at is not None
    return created(
        {
            "token": token.value,
            "expires_at": iso(token.expires_at),
            "permissions": token.permissions,
            "repository_selection": "selected" if token.repositories is not None else "all",
            "repositories": [
                repo_json(ctx.state, ctx.urls, ctx.state.repo(name)) for name in sorted(names)
            ],
        }
    )


@registry.route("GET", "/repos/{owner}/{repo}/installation", auth="jwt")
def get_repo_installation(ctx: Ctx) -> Reply:
    repo = ctx.state.find_repo(ctx.param("owner"), ctx.param("repo"))
    installation = ctx.state.installation_for(repo) if repo else None
    if installation is None:
        raise not_found()
    return ok(installation_json(ctx.state, ctx.urls, installation))


@registry.route("GET", "/installation/repositories", auth="installation")
def list_installation_repos(ctx: Ctx) -> Reply:
    token = ctx.identity.token
    assert token is not None and token.installation_id is not None
    installation = ctx.state.installations[token.installation_id]
    names = sorted(token.repositories or ctx.state.installed_repos(installation))
    page, headers = paginate(ctx, names)
    body: Json = {
        "total_count": len(names),
        "repositories": [repo_json(ctx.state, ctx.urls, ctx.state.repo(n)) for n in page],
        "repository_selection": "all" if installation.repositories is None else "selected",
    }
    return ok(body, headers=headers)


@registry.route("GET", "/user")
def get_authenticated_user(ctx: Ctx) -> Reply:
    if ctx.identity.kind == "installation":
        raise ApiError(403, "Resource not accessible by integration")
    user = ctx.state.user(ctx.actor)
    body = user_json(ctx.urls, user)
    body.update({"name": user.name, "email": user.email})
    return ok(body)


@registry.route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Reply:
    state, repo = ctx.state, ctx.repo
    body = repo_json(state, ctx.urls, repo)
    body.update(
        {
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "allow_auto_merge": False,
            "delete_branch_on_merge": False,
            "temp_clone_token": None,
            "template_repository": None,
            "subscribers_count": 0,
            "network_count": 0,
        }
    )
    if state.user(repo.owner).type == "Organization":
        body["organization"] = login_json(state, ctx.urls, repo.owner)
    if repo.parent is not None:
        parent = state.repo(repo.parent)
        source = parent
        while source.parent is not None:
            source = state.repo(source.parent)
        body["parent"] = repo_json(state, ctx.urls, parent)
        body["source"] = repo_json(state, ctx.urls, source)
    if ctx.identity.kind == "user":
        role = state.role(repo, ctx.actor)
    elif ctx.identity.kind == "installation":
        role = "write" if grants(ctx.identity, ("contents",), write=True) else "read"
    else:
        role = "read"
    body["permissions"] = {
        name: _at_least(role, name) for name in ("admin", "maintain", "push", "triage", "pull")
    }
    return ok(body)


def _at_least(role: str, permission: str) -> bool:
    order = ["pull", "triage", "push", "maintain", "admin"]
    legacy = {"read": "pull", "write": "push"}.get(role, role)
    return legacy in order and order.index(legacy) >= order.index(permission)


@registry.route("GET", "/rate_limit", auth="any", counts=False)
def get_rate_limit(ctx: Ctx) -> Reply:
    resources: Json = {}
    for resource in ("core", "search"):
        bucket = ctx.limiter.bucket(ctx.identity, resource)
        resources[resource] = {
            "limit": bucket.limit,
            "used": bucket.used,
            "remaining": bucket.remaining,
            "reset": bucket.reset,
        }
    body: Json = {"resources": resources}
    if ctx.version == "2022-11-28":
        body["rate"] = dict(resources["core"])
    return ok(body)
