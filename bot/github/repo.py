"""Reading and writing a repository's files, conditionally and with retries on conflict.

Owns the Contents API (`read_file`, `update_file` for one file) and the Git Data API
(`list_paths`, `commit_files` for a multi-file commit). Every write is conditional on what
was read — the blob sha for a file, a fast-forward-only ref update for a commit — and on a
conflict the caller's edit is re-applied to a fresh read, so a commit made by someone else
between the read and the write is never overwritten (docs/design.md I3). A protected branch
is reported as `BranchProtected`, retries exhausted as `RepoConflict`.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.github.retry import RETRY_SAFE
from bot.github.urls import Path, UnsafeUrl, repo_url

__all__ = [
    "BranchProtected",
    "CommitResult",
    "FileVersion",
    "Plan",
    "RepoConflict",
    "Snapshot",
    "UpdateResult",
    "commit_files",
    "list_paths",
    "read_file",
    "update_file",
]

WRITE_ATTEMPTS = 5
CONFLICT_PAUSE = 0.2  # seconds; the jittered pause before retry n is up to this * 2**(n-1)
FILE_MODE = "100644"

# GitHub's documented messages for "what you read is no longer current".
_CONFLICT = re.compile(
    r"does not match|but expected|expected to be at|not a fast forward|wasn't supplied", re.I
)
_PROTECTED = re.compile(
    r"protected branch|through a pull request|status check|force-push|rule violation|"
    r"GH006|GH013",
    re.I,
)


class BranchProtected(Exception):
    """The branch refuses the bot's direct writes (branch protection or rulesets)."""

    def __init__(self, repo: str, branch: str, message: str) -> None:
        super().__init__(f"{repo}@{branch} is protected: {message}")
        self.repo, self.branch, self.message = repo, branch, message


class RepoConflict(Exception):
    """The branch kept moving under the bot's writes until the attempts ran out."""

    def __init__(self, repo: str, branch: str, attempts: int, message: str) -> None:
        super().__init__(f"{repo}@{branch}: still conflicting after {attempts} attempts: {message}")
        self.repo, self.branch, self.attempts, self.message = repo, branch, attempts, message


@dataclass(frozen=True)
class FileVersion:
    """A file as read at some ref: its bytes and its blob sha (the write condition)."""

    path: str
    sha: str
    data: bytes

    @property
    def text(self) -> str:
        """The content as UTF-8 text (UnicodeDecodeError when it is not)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class UpdateResult:
    """The commit an `update_file` made (None: nothing to change) and the tries it took."""

    commit: str | None
    attempts: int

    @property
    def unchanged(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class CommitResult(UpdateResult):
    """`UpdateResult` of a `commit_files`, with the paths it added, changed or deleted."""

    paths: tuple[str, ...] = ()


def _path_url(repo: str, path: str, ref: str | None = None) -> str:
    return repo_url(repo, "contents", Path(path), query={"ref": ref} if ref is not None else None)


async def read_file(gh: GitHubAPI, repo: str, path: str, ref: str) -> FileVersion | None:
    """The file at `ref` (branch, tag or sha); None when it is absent or not a file, or when
    `repo` and `path` cannot name one (a path with an empty, `.` or `..` segment: git allows
    none), which is then not asked for."""
    try:
        url = _path_url(repo, path, ref)
    except UnsafeUrl:
        return None
    try:
        item: Any = await gh.getitem(url)
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise
    if not isinstance(item, dict) or item.get("type") != "file":
        return None
    content = item.get("content") or ""
    if item.get("encoding") != "base64":  # above 1 MB the Contents API leaves content out
        blob = await gh.getitem(repo_url(repo, "git", "blobs", str(item["sha"])))
        content = blob["content"]
    return FileVersion(path, str(item["sha"]), base64.b64decode(content))


async def list_paths(gh: GitHubAPI, repo: str, ref: str) -> list[str]:
    """Every file path at `ref`, walking subtrees one by one when GitHub truncates the list."""
    return sorted(await _blob_paths(gh, repo, ref, ""))


async def _blob_paths(gh: GitHubAPI, repo: str, tree: str, prefix: str) -> list[str]:
    listing = await gh.getitem(repo_url(repo, "git", "trees", Path(tree), query={"recursive": 1}))
    if not listing.get("truncated"):
        return [prefix + e["path"] for e in listing["tree"] if e["type"] == "blob"]
    top = await gh.getitem(repo_url(repo, "git", "trees", str(listing["sha"])))
    paths = [prefix + e["path"] for e in top["tree"] if e["type"] == "blob"]
    for entry in top["tree"]:
        if entry["type"] == "tree":
            paths += await _blob_paths(gh, repo, entry["sha"], f"{prefix}{entry['path']}/")
    return paths


def _refusal(error: BadRequest, repo: str, branch: str) -> str:
    """The conflict message of a write GitHub refused; raise for anything else."""
    message = str(error)
    if error.status_code in (403, 409, 422) and _PROTECTED.search(message):
        raise BranchProtected(repo, branch, message) from error
    if error.status_code in (409, 422) and _CONFLICT.search(message):
        return message
    raise error


async def _pause(gh: GitHubAPI, attempt: int) -> None:
    await gh.sleep(random.uniform(0, CONFLICT_PAUSE * 2 ** (attempt - 1)))


async def update_file(
    gh: GitHubAPI,
    repo: str,
    branch: str,
    path: str,
    edit: Callable[[str], str | None],
    message: str,
    *,
    attempts: int = WRITE_ATTEMPTS,
    known: FileVersion | None = None,
) -> UpdateResult:
    """Apply `edit` to the file on `branch` and write it back conditionally.

    `edit` gets the current text ("" for a missing file, which is then created) and returns
    the new text, or None when there is nothing to do. On a conflict the file is read again
    and `edit` re-applied, so `edit` must compute from its argument only. `known`, a version
    the caller has just read, saves the first read: if the branch has moved on since, the
    write is refused as stale and the loop reads it afresh.
    """
    refused = ""
    for attempt in range(1, attempts + 1):
        if attempt == 1 and known is not None:
            current: FileVersion | None = known
        else:
            current = await read_file(gh, repo, path, branch)
        before = current.text if current is not None else ""
        after = edit(before)
        if after is None or (current is not None and after == before):
            return UpdateResult(None, attempt)
        body = {
            "message": message,
            "content": base64.b64encode(after.encode("utf-8")).decode("ascii"),
            "branch": branch,
        }
        if current is not None:
            body["sha"] = current.sha
        try:
            reply = await gh.put(_path_url(repo, path), data=body)
        except BadRequest as error:
            refused = _refusal(error, repo, branch)
            if attempt < attempts:
                await _pause(gh, attempt)
            continue
        return UpdateResult(str(reply["commit"]["sha"]), attempt)
    raise RepoConflict(repo, branch, attempts, refused)


class Snapshot:
    """The branch as read for one attempt of `commit_files`: reads files at that commit."""

    def __init__(self, gh: GitHubAPI, repo: str, commit: str, tree: str) -> None:
        self._gh, self.repo, self.commit, self.tree = gh, repo, commit, tree

    async def read(self, path: str) -> str | None:
        found = await read_file(self._gh, self.repo, path, self.commit)
        return found.text if found is not None else None

    async def paths(self) -> list[str]:
        return await list_paths(self._gh, self.repo, self.commit)


# Given the snapshot, the new content of each path to change (None deletes it), or None.
Plan = Callable[[Snapshot], Awaitable[dict[str, str | None] | None]]


def _tree_entry(path: str, content: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path.strip("/"), "mode": FILE_MODE, "type": "blob"}
    if content is None:
        entry["sha"] = None
    else:
        entry["content"] = content
    return entry


async def commit_files(
    gh: GitHubAPI,
    repo: str,
    branch: str,
    plan: Plan,
    message: str,
    *,
    attempts: int = WRITE_ATTEMPTS,
) -> CommitResult:
    """Make one commit on `branch` with the changes `plan` computes from a fresh snapshot.

    Read ref → commit → tree, ask `plan`, write the tree (on `base_tree`) and the commit, and
    move the branch with `force: false`. When the branch moved meanwhile ("not a fast
    forward"), everything is read again and `plan` asked again. A rename is a delete plus an
    add. The file contents go inline in the tree request, which creates their blobs.
    """
    refs = repo_url(repo, "git", "refs", "heads", Path(branch))
    refused = ""
    for attempt in range(1, attempts + 1):
        ref = await gh.getitem(repo_url(repo, "git", "ref", "heads", Path(branch)))
        head = str(ref["object"]["sha"])
        commit = await gh.getitem(repo_url(repo, "git", "commits", head))
        snapshot = Snapshot(gh, repo, head, str(commit["tree"]["sha"]))
        changes = await plan(snapshot)
        if not changes:
            return CommitResult(None, attempt)
        tree = await gh.post(
            repo_url(repo, "git", "trees"),
            data={"base_tree": snapshot.tree, "tree": [_tree_entry(*c) for c in changes.items()]},
            extra_headers=dict(RETRY_SAFE),
        )
        if tree["sha"] == snapshot.tree:
            return CommitResult(None, attempt)
        new = await gh.post(
            repo_url(repo, "git", "commits"),
            data={"message": message, "tree": tree["sha"], "parents": [head]},
            extra_headers=dict(RETRY_SAFE),
        )
        try:
            await gh.patch(
                refs, data={"sha": new["sha"], "force": False}, extra_headers=dict(RETRY_SAFE)
            )
        except BadRequest as error:
            refused = _refusal(error, repo, branch)
            if attempt < attempts:
                await _pause(gh, attempt)
            continue
        return CommitResult(str(new["sha"]), attempt, tuple(sorted(changes)))
    raise RepoConflict(repo, branch, attempts, refused)
