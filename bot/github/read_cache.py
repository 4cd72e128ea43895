"""What one installation's client keeps of reads that cannot go stale (or barely can).

Two bounded caches per client (the client is one per installation; the caches go with it):

- files at a commit, keyed by (repository, path, commit sha): a commit never changes, so
  a file read at one is the same bytes and blob sha for as long as it is kept; the LRU is
  bounded by the bytes it holds;
- a pull request's file list, keyed by (repository, PR, head commit, base branch), for a
  short time: a push moves the head and a new base branch changes the key, so the list is
  read again; what is left (the base branch gaining the head's own commits) lasts at most
  `PULL_FILES_TTL`.

A check run and the command that follows it on the same head, or the two handlers of one
delivery, then read a PR's files once instead of asking GitHub again (even a 304 costs a
round trip).
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import cachetools
from gidgethub.abc import GitHubAPI

__all__ = ["COMMIT_SHA", "ReadCache", "read_cache"]

T = TypeVar("T")

COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
FILES_AT_COMMIT_BYTES = 8 * 1024 * 1024  # file contents kept per installation, at most
PULL_FILES_TTL = 120.0  # seconds a PR's file list at one head commit is reused
PULL_FILES_MAX = 1024


def _size(value: Any) -> int:
    return len(getattr(value, "data", b"")) + 256  # the bytes plus the entry's own weight


class ReadCache:
    """Files at commits and PR file lists, as one client read them."""

    def __init__(self) -> None:
        self.at_commit: cachetools.LRUCache[Hashable, Any] = cachetools.LRUCache(
            maxsize=FILES_AT_COMMIT_BYTES, getsizeof=_size
        )
        self.pull_files: cachetools.TTLCache[Hashable, Any] = cachetools.TTLCache(
            maxsize=PULL_FILES_MAX, ttl=PULL_FILES_TTL
        )

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
            with contextlib.suppress(ValueError):  # larger than the whole cache: not kept
                cache[key] = value
        return value


_caches: weakref.WeakKeyDictionary[GitHubAPI, ReadCache] = weakref.WeakKeyDictionary()


def read_cache(gh: GitHubAPI) -> ReadCache:
    """The cache of `gh` (one per installation client)."""
    found = _caches.get(gh)
    if found is None:
        found = _caches[gh] = ReadCache()
    return found
