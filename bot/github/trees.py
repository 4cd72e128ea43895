"""A branch read through its git objects: the head, the recursive tree, blobs by sha, the
archive of a commit, and the commits between two heads or of one path.

What is addressed by content never changes (a tree or blob by sha, the comparison of two
commit shas, the history of a path from a commit sha): it is read outside the client's
ETag cache (`KepbotAPI.get_uncached`), which would only keep bodies a conditional request
could not save. Blob contents are kept in a `BlobCache`, bounded in bytes by its owner. The
head of a branch is read through the ETag cache: a conditional request, free (304) when
the branch has not moved.

An archive (`GET tarball/{sha}`, redirected to the download host) holds a whole commit in
one request. It is spooled to a temporary file past `ARCHIVE_MEMORY` bytes and read as a
stream; a file is taken from it only when its git blob sha is the one the tree gives,
so an attribute that rewrites files in archives (`export-subst`, line endings) or one that
leaves them out (`export-ignore`) costs a blob read for that file, never a wrong file.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import tarfile
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import cachetools

from bot.github.client import KepbotAPI
from bot.github.urls import Path, repo_url

__all__ = [
    "BlobCache",
    "Listing",
    "Moment",
    "Span",
    "blob_sha",
    "branch_head",
    "compare",
    "path_commits",
    "path_history",
    "read_archive",
    "read_blobs",
    "read_tree",
]

FILE_MODES = ("100644", "100755")
ARCHIVE_MEMORY = 8 * 1024 * 1024  # of an archive being read, kept in memory (the rest on disk)


def blob_sha(data: bytes) -> str:
    """The sha git (and GitHub) gives a blob holding `data`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class BlobCache:
    """Blob contents by sha, at most `max_bytes` of them (least recently used out first).

    A blob never changes, so whatever is kept is right for as long as it is kept, whichever
    repository, commit or path reaches it (the sha is of the content).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._blobs: cachetools.LRUCache[str, bytes] = cachetools.LRUCache(
            maxsize=max_bytes, getsizeof=len
        )

    def get(self, sha: str) -> bytes | None:
        return self._blobs.get(sha)

    def put(self, sha: str, data: bytes) -> None:
        if 0 < len(data) <= self.max_bytes:
            self._blobs[sha] = data

    @property
    def size(self) -> int:
        """The bytes kept now."""
        return int(self._blobs.currsize)


@dataclass(frozen=True)
class Listing:
    """The files of a commit: path -> blob sha (regular files; no links or submodules)."""

    commit: str
    files: dict[str, str]
    truncated: bool  # GitHub left entries out (over 100,000 entries or 7 MB)


@dataclass(frozen=True)
class Moment:
    """A commit: its sha, its committer date and its parents."""

    sha: str
    date: datetime.datetime
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """What `base...head` holds: the commits (oldest first) and whether all are listed."""

    status: str  # ahead, behind, diverged, identical
    commits: list[Moment]
    complete: bool


def _moment(item: Mapping[str, Any]) -> Moment:
    date = datetime.datetime.fromisoformat(str(item["commit"]["committer"]["date"]))
    parents = tuple(str(p["sha"]) for p in item.get("parents") or [])
    return Moment(str(item["sha"]), date, parents)


async def branch_head(gh: KepbotAPI, repo: str, branch: str) -> str:
    """The commit `branch` points at (a conditional request through the ETag cache)."""
    ref: Any = await gh.getitem(repo_url(repo, "git", "ref", "heads", Path(branch)))
    return str(ref["object"]["sha"])


async def read_tree(gh: KepbotAPI, repo: str, commit: str) -> Listing:
    """The recursive tree of `commit`, in one request."""
    url = repo_url(repo, "git", "trees", Path(commit), query={"recursive": 1})
    tree: Any = await gh.get_uncached(url)
    files = {
        str(entry["path"]): str(entry["sha"])
        for entry in tree.get("tree") or []
        if entry.get("type") == "blob" and entry.get("mode") in FILE_MODES
    }
    return Listing(commit, files, bool(tree.get("truncated")))


async def read_blobs(
    gh: KepbotAPI, repo: str, shas: Iterable[str], cache: BlobCache, *, at_once: int = 8
) -> dict[str, bytes]:
    """The contents of `shas`: from `cache`, else one `GET git/blobs/{sha}` each (at most
    `at_once` at a time), kept in `cache`."""
    found: dict[str, bytes] = {}
    missing: list[str] = []
    for sha in dict.fromkeys(shas):
        data = cache.get(sha)
        if data is None:
            missing.append(sha)
        else:
            found[sha] = data
    gate = asyncio.Semaphore(at_once)

    async def one(sha: str) -> None:
        async with gate:
            blob: Any = await gh.get_uncached(repo_url(repo, "git", "blobs", Path(sha)))
        data = base64.b64decode(str(blob.get("content") or ""))
        cache.put(sha, data)
        found[sha] = data

    await asyncio.gather(*(one(sha) for sha in missing))
    return found


def _extract(archive: IO[bytes], wanted: Collection[str], file_limit: int) -> dict[str, bytes]:
    """The files named in `wanted` from a gzipped tar with one top folder."""
    files: dict[str, bytes] = {}
    archive.seek(0)
    with tarfile.open(fileobj=archive, mode="r|gz") as tar:
        for member in tar:
            _, slash, path = member.name.partition("/")
            if not slash or not member.isreg() or path not in wanted:
                continue
            if member.size > file_limit:
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                files[path] = handle.read()
    return files


async def read_archive(
    gh: KepbotAPI,
    repo: str,
    commit: str,
    wanted: Mapping[str, str],
    *,
    limit: int,
    in_memory: int = ARCHIVE_MEMORY,
    file_limit: int = 1 << 20,
) -> dict[str, bytes]:
    """The files of `wanted` (path -> blob sha) at `commit`, from its archive: two requests
    (the API's redirect and the download), at most `limit` bytes downloaded (`ValueError`
    past that), held in memory up to `in_memory` bytes and on disk beyond (a temporary
    file, gone once read). Only files whose content has the wanted blob sha are returned."""
    url = repo_url(repo, "tarball", Path(commit))
    with tempfile.SpooledTemporaryFile(max_size=in_memory) as spool:
        await gh.download(url, spool, limit=limit)
        files = await asyncio.to_thread(_extract, spool, frozenset(wanted), file_limit)
    return {path: data for path, data in files.items() if blob_sha(data) == wanted[path]}


async def compare(gh: KepbotAPI, repo: str, base: str, head: str) -> Span:
    """`base...head` in one request (GitHub lists at most 250 commits: `complete` says
    whether all of them are there)."""
    reply: Any = await gh.get_uncached(repo_url(repo, "compare", Path(f"{base}...{head}")))
    commits = [_moment(item) for item in reply.get("commits") or []]
    total = int(reply.get("total_commits") or 0)
    return Span(str(reply.get("status") or ""), commits, len(commits) >= total)


async def path_history(
    gh: KepbotAPI, repo: str, path: str, head: str, *, per_page: int
) -> list[Moment]:
    """The commits that changed `path`, newest first from `head`: one page of `per_page`."""
    query: dict[str, str | int] = {"path": path, "sha": head, "per_page": per_page}
    items: Any = await gh.get_uncached(repo_url(repo, "commits", query=query))
    return [_moment(item) for item in items]


async def path_commits(
    gh: KepbotAPI, repo: str, path: str, head: str, *, page: int, per_page: int = 100
) -> list[str]:
    """Page `page` of the commits that changed `path` (any commit when `path` is empty),
    newest first from `head`: their shas."""
    query: dict[str, str | int] = {"sha": head, "per_page": per_page, "page": page}
    if path:
        query["path"] = path
    items: Any = await gh.get_uncached(repo_url(repo, "commits", query=query))
    return [str(item["sha"]) for item in items]
