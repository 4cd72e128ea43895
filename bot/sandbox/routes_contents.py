"""The Contents API (read, create/update, delete a file) and branches.

Writes follow GitHub's conflict table: an existing file needs `sha` (422 when missing) that
must be the current blob sha (409 otherwise); a new path ignores `sha`; a protected branch
refuses direct writes with 409.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bot.sandbox.branches import (
    commit_changes,
    protection_refusal,
    pushed,
    resolve_commit,
    signature_of,
)
from bot.sandbox.errors import ApiError, invalid_request, not_found
from bot.sandbox.gitstore import Signature, TreeEntry
from bot.sandbox.model import Json, Repo, State
from bot.sandbox.routing import Ctx, Registry, Reply, ok
from bot.sandbox.views_git import content_json, git_commit_json, rest_commit_json

registry = Registry()
CONTENTS = "/repos/{owner}/{repo}/contents"


def _clean_path(raw: str) -> str:
    return "/".join(part for part in raw.split("/") if part)


def _entry_at(state: State, commit: str, path: str) -> TreeEntry | None:
    return state.objects.lookup(state.objects.commits[commit].tree, path)


def _read(ctx: Ctx, path: str) -> Reply:
    state, repo = ctx.state, ctx.repo
    ref = ctx.query("ref") or repo.default_branch
    commit = resolve_commit(state, repo, ref)
    if commit is None:
        raise not_found(f"No commit found for the ref {ref}")
    entry = _entry_at(state, commit, path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        listing = [
            content_json(state, ctx.urls, repo, f"{path}/{e.name}".lstrip("/"), e, ref, body=False)
            for e in state.objects.trees[entry.sha].entries
        ]
        return ok(listing)
    if "raw" in ctx.request.headers.get("Accept", ""):
        data = state.objects.blobs[entry.sha]
        return Reply(raw=data, content_type="text/plain; charset=utf-8")
    return ok(content_json(state, ctx.urls, repo, path, entry, ref, body=True))


@registry.route("GET", CONTENTS, permission=("contents",))
def get_root(ctx: Ctx) -> Reply:
    return _read(ctx, "")


@registry.route("GET", CONTENTS + "/{path:.+}", permission=("contents",))
def get_contents(ctx: Ctx) -> Reply:
    return _read(ctx, _clean_path(ctx.param("path")))


def _person(ctx: Ctx, name: str, fallback: Signature | None) -> Signature | None:
    value: Any = ctx.json().get(name)
    if value is None:
        return fallback
    if not isinstance(value, dict) or not value.get("name") or not value.get("email"):
        raise invalid_request(f'"{name}" is missing "name" or "email".')
    return Signature(
        str(value["name"]), str(value["email"]), str(value.get("date") or ctx.state.now())
    )


def _write_target(ctx: Ctx) -> tuple[Repo, str, str | None]:
    """(repo, branch, current head) for a write; 404 for a branch that does not exist."""
    repo = ctx.repo
    branch = ctx.field("branch", str) or repo.default_branch
    head = repo.branch(branch)
    if head is None and (repo.refs or branch != repo.default_branch):
        raise not_found(f"Branch {branch} not found")
    refusal = protection_refusal(repo, branch, ctx.actor)
    if refusal is not None:
        raise ApiError(409, refusal)
    return repo, branch, head


def _commit(ctx: Ctx, head: str | None, changes: dict[str, bytes | None], message: str) -> str:
    committer = _person(ctx, "committer", signature_of(ctx.state, ctx.actor))
    assert committer is not None
    author = _person(ctx, "author", committer)
    assert author is not None
    return commit_changes(ctx.state, ctx.repo, head, changes, message, author, committer)


def _result(ctx: Ctx, commit: str, path: str | None, ref: str) -> Json:
    state, repo = ctx.state, ctx.repo
    content = None
    if path is not None:
        entry = _entry_at(state, commit, path)
        assert entry is not None
        content = content_json(state, ctx.urls, repo, path, entry, ref, body=False)
    return {"content": content, "commit": git_commit_json(state, ctx.urls, repo, commit)}


@registry.route("PUT", CONTENTS + "/{path:.+}", permission=("contents",), write=True)
def put_contents(ctx: Ctx) -> Reply:
    path = _clean_path(ctx.param("path"))
    message = ctx.field("message", str, required=True)
    encoded = ctx.field("content", str, required=True)
    assert message is not None and encoded is not None
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except binascii.Error as error:
        raise ApiError(422, "content is not valid Base64") from error
    repo, branch, head = _write_target(ctx)
    existing = _entry_at(ctx.state, head, path) if head else None
    if existing is not None:
        given = ctx.field("sha", str)
        if given is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if given != existing.sha:
            raise ApiError(409, f"{path} does not match {given}")
    commit = _commit(ctx, head, {path: data}, message)
    repo.refs[f"refs/heads/{branch}"] = commit
    pushed(ctx.state, repo, branch)
    return ok(_result(ctx, commit, path, branch), status=201 if existing is None else 200)


@registry.route("DELETE", CONTENTS + "/{path:.+}", permission=("contents",), write=True)
def delete_contents(ctx: Ctx) -> Reply:
    path = _clean_path(ctx.param("path"))
    message = ctx.field("message", str, required=True)
    given = ctx.field("sha", str, required=True)
    assert message is not None
    repo, branch, head = _write_target(ctx)
    existing = _entry_at(ctx.state, head, path) if head else None
    if existing is None or existing.type != "blob":
        raise not_found()
    if given != existing.sha:
        raise ApiError(409, f"{path} does not match {given}")
    commit = _commit(ctx, head, {path: None}, message)
    repo.refs[f"refs/heads/{branch}"] = commit
    pushed(ctx.state, repo, branch)
    return ok(_result(ctx, commit, None, branch))


@registry.route("GET", "/repos/{owner}/{repo}/branches/{branch:.+}", permission=("contents",))
def get_branch(ctx: Ctx) -> Reply:
    """A branch with its head commit (`commit.commit.tree` is that commit's tree). GitHub
    asks for the Contents permission (read), as it does to list branches."""
    repo, name = ctx.repo, ctx.param("branch")
    sha = repo.branch(name)
    if sha is None:
        raise not_found("Branch not found")
    rule = repo.protections.get(name)
    api = f"{ctx.urls.repo(repo.full_name)}/branches/{name}"
    checks = list(rule.required_checks) if rule else []
    return ok(
        {
            "name": name,
            "commit": rest_commit_json(ctx.state, ctx.urls, repo, sha),
            "_links": {"self": api, "html": f"{ctx.urls.web}/{repo.full_name}/tree/{name}"},
            "protected": rule is not None,
            "protection": {
                "enabled": rule is not None,
                "required_status_checks": {
                    "enforcement_level": "non_admins" if checks else "off",
                    "contexts": checks,
                    "checks": [{"context": c, "app_id": None} for c in checks],
                },
            },
            "protection_url": f"{api}/protection",
        }
    )
