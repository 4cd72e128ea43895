"""Refs and commits on branches: resolving refs, committing file changes, moving refs safely.

The conflict rules live here (fast-forward only unless forced, branch protection), so the
Contents API, the Git Data API and the seeding helpers all enforce the same ones.
"""

from __future__ import annotations

import re

from bot.sandbox.errors import ApiError
from bot.sandbox.gitstore import FILE_MODE, Commit, Signature
from bot.sandbox.model import Repo, State

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# Git (and so GitHub, on a push or through the API) refuses these path components.
FORBIDDEN_PARTS = {"", ".", "..", ".git"}


def check_path(path: str) -> None:
    """Raise GitHub's 422 for a path no git tree can hold (`..`, `.`, `.git`, empty parts)."""
    if any(part.lower() in FORBIDDEN_PARTS for part in path.split("/")):
        raise ApiError(422, f"tree.path contains a malformed path component: {path!r}")


def resolve_commit(state: State, repo: Repo, ref: str) -> str | None:
    """The commit a branch, tag, `refs/...` name or full SHA points at."""
    if FULL_SHA.match(ref):
        return ref if ref in state.objects.commits else None
    for name in (ref, f"refs/{ref}", f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if name in repo.refs:
            return repo.refs[name]
    return None


def signature_of(state: State, login: str) -> Signature:
    """Author/committer GitHub records for an account committing through the API."""
    user = state.user(login)
    if login == state.app.bot_login:
        email = f"{state.app.bot_user_id}+{login}@users.noreply.github.com"
    else:
        email = user.email or f"{user.id}+{login}@users.noreply.github.com"
    return Signature(user.name or login, email, state.now())


def commit_changes(
    state: State,
    repo: Repo,
    parent: str | None,
    changes: dict[str, bytes | None],
    message: str,
    author: Signature,
    committer: Signature | None = None,
) -> str:
    """Write a commit on top of `parent` with `changes` applied (None deletes a path)."""
    objects = state.objects
    flat = objects.flatten(objects.commits[parent].tree) if parent else {}
    for path in changes:
        check_path(path)
    for path, content in changes.items():
        if content is None:
            flat.pop(path, None)
        else:
            mode = flat[path][0] if path in flat else FILE_MODE
            flat[path] = (mode, objects.put_blob(content))
    commit = Commit(
        tree=objects.build(flat),
        parents=(parent,) if parent else (),
        message=message,
        author=author,
        committer=committer or author,
    )
    return objects.put_commit(commit)


def protection_refusal(repo: Repo, branch: str, actor: str) -> str | None:
    """Why GitHub would refuse a direct push by `actor` to `branch`, or None."""
    rule = repo.protections.get(branch)
    if rule is None or actor.lower() in {login.lower() for login in rule.bypass}:
        return None
    if rule.require_pull_request:
        return "Changes must be made through a pull request."
    for context in rule.required_checks:
        return f'Required status check "{context}" is expected.'
    return None


def move_branch(
    state: State,
    repo: Repo,
    ref: str,
    new_sha: str,
    *,
    actor: str,
    force: bool = False,
    protection_status: int = 422,
) -> None:
    """Point `ref` at `new_sha` the way PATCH git/refs does (422 on a non fast-forward)."""
    current = repo.refs[ref]
    fast_forward = state.objects.is_ancestor(current, new_sha)
    if not fast_forward and not force:
        raise ApiError(422, "Update is not a fast forward")
    branch = ref.removeprefix("refs/heads/")
    if ref.startswith("refs/heads/"):
        refusal = protection_refusal(repo, branch, actor)
        if refusal is not None:
            raise ApiError(protection_status, refusal)
        rule = repo.protections.get(branch)
        if rule is not None and not fast_forward and not rule.allow_force_push:
            raise ApiError(protection_status, "Cannot force-push to this branch")
    repo.refs[ref] = new_sha
    if ref.startswith("refs/heads/"):
        pushed(state, repo, branch)
    else:
        repo.pushed_at = state.now()


def pushed(state: State, repo: Repo, branch: str) -> None:
    """A push moved `branch` of `repo`: as on GitHub, the repository's `pushed_at` and the
    `updated_at` of every open pull request whose head it is (a fork's included) move."""
    now = repo.pushed_at = state.now()
    for target in state.repos.values():
        for issue in target.issues.values():
            pr = issue.pull
            if pr is None or issue.state != "open":
                continue
            if pr.head_repo == repo.full_name and pr.head_ref == branch:
                issue.updated_at = now
