"""Every cache on the way to GitHub, with its limit in bytes: the one place they are set.

Each cache is a `cachetools` LRU or TTL cache whose `maxsize` is a number of bytes and whose
entries are weighed by `weight` (what the key and value hold in memory, as `sys.getsizeof`
counts it, followed through containers and objects). A cache bounded by a count of entries
is bounded in nothing: one entry may be a 40-byte flag or a decoded thread of 400 comments.
An entry larger than its whole cache is not kept, and putting one is no error.

Per installation client (kept beside the client, dropped with it; see `per_client`):

- `ETAG_BYTES`: conditional requests (`ETags`, built by `bot/github/client.py`), URL →
  (etag, last-modified, decoded answer without its API URL templates, next page);
- `BLOB_BYTES`: blobs (`bot/github/read_cache.py`), (repository, blob sha) → bytes;
- `THREAD_BYTES`: comment threads (`bot/github/read_cache.py`), (repository, number) → the
  comments as last read;
- `PULL_FILES_BYTES` for `PULL_FILES_TTL`: pull request file lists
  (`bot/github/read_cache.py`), (repository, PR, head, base) → files;
- `FRESH_HEADS_BYTES`: heads committed and not yet published on (`bot/github/feedback.py`);
- `LABELS_BYTES` for `LABELS_TTL`: labels known to exist (`bot/github/labels.py`),
  repository → names;
- `LEARNT_BYTES` a table: what the link handlers learnt (`bot/handlers/memory.py`).

Per process:

- `CONFIG_BYTES` for `CONFIG_TTL`: repository configurations (`bot/github/repo_config.py`),
  (installation, repository, branch) → the parsed configuration or its error;
- `DIRECTORY_BYTES` for `DIRECTORY_TTL`: the people directory (`bot/github/people.py`):
  permissions, team members, CODEOWNERS;
- `bot.pipeline_page.BLOB_BYTES`: the pipeline page's blobs (`bot/github/trees.py`), blob
  sha → bytes;
- `RELEASE_BLOB_BYTES`: the release page's blobs (`bot/release_page.py`), blob sha → bytes;
  `RELEASE_PAGES_BYTES` for `bot.release_page.TTL_SECONDS`: its answers, (repository,
  milestone) → the page's data, or None for a repository not shown.

Shared by every worker of a fleet (hosted mode: `SharedCache`, kept in Redis by
`bot/hosted/shared_cache.py`), each space bounded by what its entries hold, keys and tags
included, plus `SHARED_ENTRY_BYTES` of bookkeeping each, the least recently written going
first:

- `SHARED_ETAG_BYTES`: conditional requests, (installation, URL) → the ETag cache's entry,
  so that a worker asks GitHub with the ETag another worker was answered;
- `SHARED_BLOB_BYTES`: blobs, (repository, blob sha) → bytes;
- `SHARED_CONFIG_BYTES`: repository configurations, (installation, repository, branch) →
  the file as read, reused for `CONFIG_TTL` from its reading;
- `SHARED_LABEL_BYTES`: labels known to exist, (repository, label) → when a worker made sure
  of it, believed for `LABELS_TTL`.

A process looks in its own caches first and in the shared ones on a miss (the ETag space on
every conditional GET, since another worker may hold a newer answer).

Per delivery, `GitHub.memo` (`bot/github/gateway.py`) keeps what the handlers of one
delivery would otherwise read twice; it goes with the delivery.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import cachetools

__all__ = ["SharedCache", "SharedEntry", "keep", "lru", "shared_cache", "ttl", "weight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MiB = 1024 * 1024

ETAG_BYTES = 16 * MiB
BLOB_BYTES = 16 * MiB
THREAD_BYTES = 8 * MiB
PULL_FILES_BYTES = 4 * MiB
PULL_FILES_TTL = 120.0  # seconds a PR's file list at one head commit is reused
FRESH_HEADS_BYTES = 256 * 1024
LABELS_BYTES = 1 * MiB
LABELS_TTL = 3600.0
LEARNT_BYTES = 1 * MiB
CONFIG_BYTES = 8 * MiB
CONFIG_TTL = 60.0
DIRECTORY_BYTES = 4 * MiB
DIRECTORY_TTL = 300.0
RELEASE_BLOB_BYTES = 8 * MiB
RELEASE_PAGES_BYTES = 4 * MiB
SHARED_ETAG_BYTES = 64 * MiB
SHARED_BLOB_BYTES = 32 * MiB
SHARED_CONFIG_BYTES = 2 * MiB
SHARED_LABEL_BYTES = 1 * MiB
SHARED_ENTRY_BYTES = 128

_ATOMS = (str, bytes, bytearray, int, float, bool, type(None))


def weight(value: object) -> int:
    """What `value` holds in memory, in bytes: `sys.getsizeof` of it and of everything it
    reaches through containers, dataclasses and plain objects, each object counted once."""
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, _ATOMS):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        else:
            stack.extend(_attributes(item))
    return total


def _attributes(item: object) -> list[object]:
    found = list(getattr(item, "__dict__", {}).values())
    for slot in getattr(type(item), "__slots__", ()):
        if hasattr(item, slot):
            found.append(getattr(item, slot))
    return found


ENTRY_BYTES = 256  # what an entry costs besides its value: its key and the cache's bookkeeping


def _entry(value: object) -> int:
    return weight(value) + ENTRY_BYTES


class _Dropping:
    """Mixin: a value larger than the whole cache is not kept (and no error is raised),
    so a caller outside our code (gidgethub's ETag cache) never sees cachetools' ValueError;
    an older value under the same key goes, as it would be replaced."""

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            super().__setitem__(key, value)  # type: ignore[misc]
        except ValueError:
            self.pop(key, None)  # type: ignore[attr-defined]


class LRU(_Dropping, cachetools.LRUCache[Any, Any]):
    pass


class TTL(_Dropping, cachetools.TTLCache[Any, Any]):
    pass


# The URL fields of GitHub's answers the bot reads; every other `*_url` field (and `_links`)
# is an API URL template, which the bot never follows: it builds its URLs itself
# (`bot.github.urls`). They are two thirds of what a pull request's JSON holds.
KEPT_URL_FIELDS = frozenset({"html_url", "issue_url", "repository_url"})


def drop_api_urls(value: Any) -> None:
    """Remove, in place, the API URL templates from a decoded answer."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in [k for k in item if k == "_links" or _is_api_url(k)]:
                del item[key]
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


def _is_api_url(key: str) -> bool:
    return key.endswith("_url") and key not in KEPT_URL_FIELDS


class ETags(LRU):
    """gidgethub's cache of conditional requests (URL → etag, last-modified, answer, next
    page). The answer it keeps is the very object gidgethub then returns, so dropping its API
    URL templates here leaves a 200 and a later 304 answering the same."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, tuple) and len(value) == 4:
            drop_api_urls(value[2])
        super().__setitem__(key, value)


def etags() -> cachetools.LRUCache[Any, Any]:
    """An installation client's ETag cache, of at most `ETAG_BYTES`."""
    return ETags(maxsize=ETAG_BYTES, getsizeof=_entry)


def lru(max_bytes: int, weigh: Callable[[Any], int] = _entry) -> cachetools.LRUCache[Any, Any]:
    """An LRU of at most `max_bytes`, its entries weighed by `weigh` (default: `weight`)."""
    return LRU(maxsize=max_bytes, getsizeof=weigh)


def ttl(
    max_bytes: int,
    seconds: float,
    weigh: Callable[[Any], int] = _entry,
    timer: Callable[[], float] | None = None,
) -> cachetools.TTLCache[Any, Any]:
    """A TTL cache of at most `max_bytes`, each entry kept `seconds`."""
    if timer is None:
        return TTL(maxsize=max_bytes, ttl=seconds, getsizeof=weigh)
    return TTL(maxsize=max_bytes, ttl=seconds, timer=timer, getsizeof=weigh)


def keep(cache: cachetools.Cache[K, V], key: K, value: V) -> None:
    """`cache[key] = value`, weighed afresh (a value changed in place is re-weighed)."""
    cache.pop(key, None)
    cache[key] = value


Space = Literal["etag", "blob", "config", "label"]
SHARED_BYTES: dict[Space, int] = {
    "etag": SHARED_ETAG_BYTES,
    "blob": SHARED_BLOB_BYTES,
    "config": SHARED_CONFIG_BYTES,
    "label": SHARED_LABEL_BYTES,
}


@dataclass(frozen=True)
class SharedEntry:
    """What a shared cache holds under a key: its tag (an ETag, a blob sha, a time) and its
    value, or no value when the caller already holds that tag."""

    tag: str
    value: bytes | None


class SharedCache(Protocol):
    """Caches every process of a fleet reads and writes (hosted mode). Neither method
    raises: a store that cannot be reached is a miss, and a value it refuses is not kept."""

    async def get(self, space: Space, key: str, *, known_tag: str = "") -> SharedEntry | None:
        """The entry under `key`, its value left out when its tag is `known_tag`."""
        ...

    async def put(self, space: Space, key: str, tag: str, value: bytes) -> None:
        """Keep `value` under `key` with `tag`, the space's oldest entries going as needed."""
        ...


def shared_cache(gh: object) -> SharedCache | None:
    """The shared cache of an installation client, if its process belongs to a fleet."""
    found: SharedCache | None = getattr(gh, "shared_cache", None)
    return found
