"""Reading and writing a repository's files, conditionally and with retries on conflict.

Owns the Contents API (`read_file`, `update_file` for one file) and the Git Data API
(`list_tree`, `read_blob`, `commit_files` for a multi-file commit). Every write is
conditional on what was read — the blob sha for a file, a fast-forward-only ref update for a
commit — and on a conflict the caller's edit is re-applied to a fresh read, so a commit made
by someone else between the read and the write is never overwritten (docs/design.md I3). A
protected branch is reported as `BranchProtected`, retries exhausted as `RepoConflict`.

File contents are kept by blob sha in the client's cache (`bot.github.read_cache`): a file
whose sha a listing gives is read at most once, and what the bot writes is kept too.
"""

from __future__ import annotations

import asyncio
import base64
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.github import caches
from bot.github.read_cache import git_blob_sha, read_cache
from bot.github.retry import patch, post
from bot.github.urls import Path, UnsafeUrl, repo_url

__all__ = [
    "BranchProtected",
    "CommitResult",
    "Expected",
    "FileVersion",
    "Listing",
    "Plan",
    "RepoConflict",
    "Snapshot",
    "UpdateResult",
    "commit_files",
    "list_paths",
    "list_tree",
    "read_blob",
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
    """The commit an `update_file` made (None: nothing to change), the tries it took, and
    the commit it was made on (its parent; None when GitHub did not say)."""

    commit: str | None
    attempts: int
    parent: str | None = None

    @property
    def unchanged(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class CommitResult(UpdateResult):
    """`UpdateResult` of a `commit_files`, with the paths it added, changed or deleted and
    what it wrote to each (None: deleted)."""

    paths: tuple[str, ...] = ()
    changes: Mapping[str, str | None] = field(default_factory=dict)


def _path_url(repo: str, path: str, ref: str | None = None) -> str:
    return repo_url(repo, "contents", Path(path), query={"ref": ref} if ref is not None else None)


async def read_file(gh: GitHubAPI, repo: str, path: str, ref: str) -> FileVersion | None:
    """The file at `ref` (branch, tag or sha); None when it is absent or not a file, or when
    `repo` and `path` cannot name one (a path with an empty, `.` or `..` segment: git allows
    none), which is then not asked for. Its bytes are kept by blob sha."""
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
    sha = str(item["sha"])
    if item.get("encoding") != "base64":  # above 1 MB the Contents API leaves content out
        return FileVersion(path, sha, await read_blob(gh, repo, sha))
    data = base64.b64decode(item.get("content") or "")
    read_cache(gh).keep_blob(repo, data, sha)
    return FileVersion(path, sha, data)


async def read_blob(gh: GitHubAPI, repo: str, sha: str) -> bytes:
    """The bytes of blob `sha`: from the client's cache, else from the fleet's (hosted
    mode), else read once (GET git/blobs) and kept in both."""
    cache = read_cache(gh)
    found = cache.blob(repo, sha)
    if found is not None:
        return found
    shared = caches.shared_cache(gh)
    key = f"{repo.lower()}:{sha}"
    entry = await shared.get("blob", key) if shared is not None else None
    if entry is not None and entry.value is not None:
        found = entry.value
    else:
        blob = await gh.getitem(repo_url(repo, "git", "blobs", Path(sha)))
        found = base64.b64decode(blob["content"])
        if shared is not None:
            await shared.put("blob", key, sha, found)
    cache.keep_blob(repo, found, sha)
    return found


@dataclass(frozen=True)
class Listing:
    """The files of a tree: every path with its blob sha, and the tree's own sha."""

    blobs: dict[str, str]
    tree: str = ""

    @property
    def paths(self) -> list[str]:
        return sorted(self.blobs)


async def list_tree(gh: GitHubAPI, repo: str, ref: str) -> Listing:
    """Every file at `ref` (a branch, a commit or a tree sha) with its blob sha, in one
    request (GET git/trees recursively), walking subtrees one by one when GitHub truncates
    the list."""
    listing = await gh.getitem(repo_url(repo, "git", "trees", Path(ref), query={"recursive": 1}))
    tree = str(listing["sha"])
    if not listing.get("truncated"):
        return Listing(_blobs(listing["tree"], ""), tree)
    return Listing(await _walk(gh, repo, tree, ""), tree)


def _blobs(entries: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    return {prefix + e["path"]: str(e["sha"]) for e in entries if e["type"] == "blob"}


async def _walk(gh: GitHubAPI, repo: str, tree: str, prefix: str) -> dict[str, str]:
    """The files of a tree too large for one recursive listing: its top level, then each
    subtree (recursively, or walked in turn when that too is truncated)."""
    top = await gh.getitem(repo_url(repo, "git", "trees", tree))
    found = _blobs(top["tree"], prefix)
    for entry in top["tree"]:
        if entry["type"] != "tree":
            continue
        below = f"{prefix}{entry['path']}/"
        url = repo_url(repo, "git", "trees", str(entry["sha"]), query={"recursive": 1})
        listing = await gh.getitem(url)
        if listing.get("truncated"):
            found.update(await _walk(gh, repo, str(entry["sha"]), below))
        else:
            found.update(_blobs(listing["tree"], below))
    return found


async def list_paths(gh: GitHubAPI, repo: str, ref: str) -> list[str]:
    """Every file path at `ref`, walking subtrees one by one when GitHub truncates the list."""
    return (await list_tree(gh, repo, ref)).paths


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
        written = after.encode("utf-8")
        read_cache(gh).keep_blob(repo, written, (reply.get("content") or {}).get("sha"))
        parents = (reply.get("commit") or {}).get("parents") or [{}]
        parent = parents[0].get("sha")
        return UpdateResult(str(reply["commit"]["sha"]), attempt, str(parent) if parent else None)
    raise RepoConflict(repo, branch, attempts, refused)


class Snapshot:
    """The branch as read for one attempt of `commit_files`: reads files at that commit.

    `known` holds files the caller read at exactly this commit (from a PR's file list, say):
    they are not asked for again. Other files are read through the commit's listing (one
    request, then blobs by sha, kept in the client's cache) once `listing` was asked for,
    else one by one at the commit.
    """

    def __init__(
        self,
        gh: GitHubAPI,
        repo: str,
        commit: str,
        tree: str | None = None,
        known: Mapping[str, FileVersion] | None = None,
    ) -> None:
        self._gh, self.repo, self.commit, self.tree = gh, repo, commit, tree
        self._known = dict(known or {})
        self._listing: Listing | None = None

    def knows(self, path: str) -> bool:
        """Whether the caller gave the file at this commit (it costs no request)."""
        return path in self._known

    async def listing(self) -> Listing:
        """Every file of the commit with its blob sha (read once per snapshot)."""
        if self._listing is None:
            self._listing = await list_tree(self._gh, self.repo, self.commit)
            self.tree = self._listing.tree
        return self._listing

    async def version(self, path: str) -> FileVersion | None:
        """The file at this commit, or None when it is absent."""
        if path in self._known:
            return self._known[path]
        if self._listing is not None:
            sha = self._listing.blobs.get(path)
            if sha is None:
                return None
            return FileVersion(path, sha, await read_blob(self._gh, self.repo, sha))
        return await read_file(self._gh, self.repo, path, self.commit)

    async def read(self, path: str) -> str | None:
        """The file's text at this commit (UnicodeDecodeError when it is not UTF-8)."""
        found = await self.version(path)
        return found.text if found is not None else None

    async def paths(self) -> list[str]:
        return (await self.listing()).paths

    async def tree_sha(self) -> str:
        """The commit's tree (the base of the tree written on top of it)."""
        if self.tree is None:
            commit = await self._gh.getitem(repo_url(self.repo, "git", "commits", self.commit))
            self.tree = str(commit["tree"]["sha"])
        return self.tree

    def edited(self, changes: Mapping[str, str | None]) -> Snapshot:
        """This commit as `changes` (new content by path, None: deleted) would leave it:
        what a second plan of the same commit reads, as numbering after a status edit does.
        Nothing is written; other files are read through this snapshot."""
        return _Edited(self, changes)


class _Edited(Snapshot):
    """A snapshot with changes made on it in memory (see `Snapshot.edited`)."""

    def __init__(self, under: Snapshot, changes: Mapping[str, str | None]) -> None:
        super().__init__(under._gh, under.repo, under.commit, under.tree)
        self._under, self._changes = under, dict(changes)

    def knows(self, path: str) -> bool:
        return path in self._changes or self._under.knows(path)

    async def listing(self) -> Listing:
        found = await self._under.listing()
        self.tree = found.tree
        blobs = dict(found.blobs)
        for path, content in self._changes.items():
            if content is None:
                blobs.pop(path, None)
            else:
                blobs[path] = git_blob_sha(content.encode("utf-8"))
        return Listing(blobs, found.tree)

    async def version(self, path: str) -> FileVersion | None:
        if path not in self._changes:
            return await self._under.version(path)
        content = self._changes[path]
        if content is None:
            return None
        data = content.encode("utf-8")
        return FileVersion(path, git_blob_sha(data), data)

    async def tree_sha(self) -> str:
        return await self._under.tree_sha()


# Given the snapshot, the new content of each path to change (None deletes it), or None.
Plan = Callable[[Snapshot], Awaitable[dict[str, str | None] | None]]


def _tree_entry(path: str, content: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path.strip("/"), "mode": FILE_MODE, "type": "blob"}
    if content is None:
        entry["sha"] = None
    else:
        entry["content"] = content
    return entry


@dataclass(frozen=True)
class Expected:
    """What the caller already read of the branch: its head commit, and files at it."""

    head: str
    files: Mapping[str, FileVersion] = field(default_factory=dict)


async def _branch_head(gh: GitHubAPI, repo: str, branch: str) -> tuple[str, str]:
    """The branch's head commit and that commit's tree, in one request."""
    found = await gh.getitem(repo_url(repo, "branches", Path(branch)))
    commit = found["commit"]
    return str(commit["sha"]), str(commit["commit"]["tree"]["sha"])


async def commit_files(
    gh: GitHubAPI,
    repo: str,
    branch: str,
    plan: Plan,
    message: str,
    *,
    attempts: int = WRITE_ATTEMPTS,
    expected: Expected | None = None,
) -> CommitResult:
    """Make one commit on `branch` with the changes `plan` computes from a fresh snapshot.

    Read the branch (its head and tree, GET branches), ask `plan`, write the tree (on
    `base_tree`) and the commit, and move the branch with `force: false`. When the branch
    moved meanwhile ("not a fast forward"), everything is read again and `plan` asked again
    (docs/design.md I3). A rename is a delete plus an add. The file contents go inline in
    the tree request, which creates their blobs; they are kept in the client's cache under
    the shas git gives them.

    `expected`, the head (and files at it) the caller has just read, lets the first plan
    start at once, while the branch is read beside it: when the branch is elsewhere, the
    plan is made again on the branch as read, before anything is written.
    """
    refs = repo_url(repo, "git", "refs", "heads", Path(branch))
    refused = ""
    read: tuple[str, str] | None = None  # the branch as read and not planned on yet
    for attempt in range(1, attempts + 1):
        check: asyncio.Future[tuple[str, str]] | None = None
        if attempt == 1 and expected is not None:
            snapshot = Snapshot(gh, repo, expected.head, known=expected.files)
            check = asyncio.ensure_future(_branch_head(gh, repo, branch))
        else:
            head, base = read or await _branch_head(gh, repo, branch)
            read, snapshot = None, Snapshot(gh, repo, head, base)
        try:
            changes = await plan(snapshot)
        except BaseException:
            if check is not None:
                check.cancel()
            raise
        if check is not None:
            head, base = await check
            if head != snapshot.commit:
                read = (head, base)  # the caller's head is not the branch's: plan on that
                continue
            snapshot.tree = base
        if not changes:
            return CommitResult(None, attempt)
        base = await snapshot.tree_sha()
        tree = await post(
            gh,
            repo_url(repo, "git", "trees"),
            data={"base_tree": base, "tree": [_tree_entry(*c) for c in changes.items()]},
            retry_safe=True,
        )
        if tree["sha"] == base:
            return CommitResult(None, attempt)
        new = await post(
            gh,
            repo_url(repo, "git", "commits"),
            data={"message": message, "tree": tree["sha"], "parents": [snapshot.commit]},
            retry_safe=True,
        )
        try:
            await patch(gh, refs, data={"sha": new["sha"], "force": False}, retry_safe=True)
        except BadRequest as error:
            refused = _refusal(error, repo, branch)
            if attempt < attempts:
                await _pause(gh, attempt)
            continue
        cache = read_cache(gh)
        for content in changes.values():
            if content is not None:
                cache.keep_blob(repo, content.encode("utf-8"))
        return CommitResult(
            str(new["sha"]), attempt, snapshot.commit, paths=tuple(sorted(changes)), changes=changes
        )
    raise RepoConflict(repo, branch, attempts, refused)
