"""What one installation's client keeps of reads that cannot go stale (or barely can).

Three bounded caches per client (the client is one per installation; the caches go with it):

- file contents by blob sha, keyed by (repository, blob sha): a git object never changes,
  so bytes read once are right for as long as they are kept, whichever commit, branch or
  path they are reached through. Every listing the bot reads gives the shas (a PR's file
  list, a recursive tree), so a push that changes one file costs one blob read, and what
  the bot writes itself is kept under the sha git gives it (`git_blob_sha`), each entry
  weighing its bytes plus `ENTRY_WEIGHT` (what a comment weighs is counted as it is held);
- a pull request's file list, keyed by (repository, PR, head commit, base branch), for a
  short time: a push moves the head and a new base branch changes the key, so the list is
  read again; what is left (the base branch gaining the head's own commits) lasts at most
  `PULL_FILES_TTL`;
- comment threads, keyed by (repository, issue or PR number): the comments as last read,
  so that the next read asks GitHub only for what was written or edited since
  (`bot.github.comments.read_thread`), each thread weighing what its comments hold.

Their limits in bytes are in `bot/github/caches.py`, with every other cache's.

A check run and the command that follows it on the same head, or the two handlers of one
delivery, then read a PR's files once instead of asking GitHub again (even a 304 costs a
round trip).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cachetools
from gidgethub.abc import GitHubAPI

from bot.github import caches
from bot.github.per_client import kept
from bot.github.shapes import Comment

__all__ = ["COMMIT_SHA", "KeptThread", "ReadCache", "git_blob_sha", "read_cache"]

T = TypeVar("T")

COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
ENTRY_WEIGHT = 256  # what one kept blob or comment weighs besides its bytes


def git_blob_sha(data: bytes) -> str:
    """The sha git (and GitHub) gives a blob holding `data`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class KeptThread:
    """A thread as last read: its comments by id, and the `since` to read on from."""

    comments: dict[int, Comment] = field(default_factory=dict)
    since: str | None = None

    def weight(self) -> int:
        return caches.weight(self.comments)


def _blob_size(value: bytes) -> int:
    return len(value) + ENTRY_WEIGHT


def _thread_size(value: KeptThread) -> int:
    return value.weight() + ENTRY_WEIGHT


class ReadCache:
    """Blobs by sha, PR file lists and comment threads, as one client read them."""

    def __init__(self) -> None:
        self.blobs: cachetools.LRUCache[tuple[str, str], bytes] = caches.lru(
            caches.BLOB_BYTES, _blob_size
        )
        self.pull_files: cachetools.TTLCache[Hashable, Any] = caches.ttl(
            caches.PULL_FILES_BYTES, caches.PULL_FILES_TTL
        )
        self.threads: cachetools.LRUCache[tuple[str, int], KeptThread] = caches.lru(
            caches.THREAD_BYTES, _thread_size
        )

    def blob(self, repo: str, sha: str) -> bytes | None:
        return self.blobs.get((repo.lower(), sha))

    def keep_blob(self, repo: str, data: bytes, sha: str | None = None) -> str:
        """Keep `data` as the blob `sha` (computed when not given); its sha."""
        sha = sha or git_blob_sha(data)
        self.blobs[(repo.lower(), sha)] = data  # not kept if larger than the whole cache
        return sha

    def thread(self, repo: str, number: int) -> KeptThread | None:
        return self.threads.get((repo.lower(), number))

    def keep_thread(self, repo: str, number: int, thread: KeptThread) -> None:
        caches.keep(self.threads, (repo.lower(), number), thread)

    @staticmethod
    async def kept(
        cache: cachetools.Cache[Hashable, Any], key: Hashable, read: Callable[[], Awaitable[T]]
    ) -> T:
        """`cache[key]`, read (and kept, unless None) when missing. A failure is not kept."""
        found = cache.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = await read()
        if value is not None:
            cache[key] = value  # not kept if larger than the whole cache
        return value


def read_cache(gh: GitHubAPI) -> ReadCache:
    """The cache of `gh` (one per installation client)."""
    return kept(gh, ReadCache)
