"""Every cache on the way to GitHub is bounded in bytes, with its limit set in one place
(bot/github/caches.py, whose table names each one); and what the gateway keeps, it keeps per
installation client or per delivery as it says (docs/design.md, "Shape")."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import cachetools

from bot.github import caches, feedback, labels, read_cache
from bot.github.auth import TokenAuth
from bot.github.client import GitHubClient
from bot.github.gateway import GitHub
from bot.github.people import Directory
from bot.github.per_client import kept
from bot.github.repo_config import ConfigCache
from bot.handlers.memory import ClientMemory


def _built_caches() -> dict[str, tuple[cachetools.Cache[Any, Any], int]]:
    """Each cache as the code builds it, with the limit `caches` names for it."""

    async def etags() -> cachetools.Cache[Any, Any]:
        async with aiohttp.ClientSession() as session:
            client = GitHubClient(session, TokenAuth("t"), api_url="http://127.0.0.1:9")
            client.credentials.token_for = _token  # type: ignore[method-assign]
            api = await client.for_installation(1)
            cache: cachetools.Cache[Any, Any] = api._cache  # type: ignore[assignment]
            return cache

    memory, reads = ClientMemory(), read_cache.ReadCache()
    return {
        "ETAG_BYTES": (asyncio.run(etags()), caches.ETAG_BYTES),
        "BLOB_BYTES": (reads.blobs, caches.BLOB_BYTES),
        "THREAD_BYTES": (reads.threads, caches.THREAD_BYTES),
        "PULL_FILES_BYTES": (reads.pull_files, caches.PULL_FILES_BYTES),
        "FRESH_HEADS_BYTES": (feedback._Runs().fresh, caches.FRESH_HEADS_BYTES),
        "LABELS_BYTES": (labels._known_table(), caches.LABELS_BYTES),
        "LEARNT_BYTES": (memory.found, caches.LEARNT_BYTES),
        "CONFIG_BYTES": (ConfigCache()._results, caches.CONFIG_BYTES),
        "DIRECTORY_BYTES": (Directory()._values, caches.DIRECTORY_BYTES),
    }


async def _token(api: object, installation_id: int) -> str:
    return "t"


def test_every_cache_is_built_with_the_byte_limit_its_table_names() -> None:
    table = caches.__doc__ or ""
    built = _built_caches()
    assert [name for name in built if f"`{name}`" not in table] == []
    assert {name: cache.maxsize for name, (cache, _) in built.items()} == {
        name: limit for name, (_, limit) in built.items()
    }


def _value(name: str, size: int) -> Any:
    """A value of about `size` bytes of what the cache `name` holds."""
    if name == "BLOB_BYTES":
        return b"x" * size
    comments = {n: {"id": n, "body": "x" * 100} for n in range(max(1, size // 400))}
    if name == "THREAD_BYTES":
        return read_cache.KeptThread(comments)
    return list(comments.values())


def test_every_cache_weighs_its_entries_in_bytes_not_by_count() -> None:
    """A decoded answer of 250 comments weighs what it holds: it takes far more of the
    bound than one small entry, and the cache never holds more than its bytes."""
    for name, (cache, limit) in _built_caches().items():
        cache["small"] = _value(name, 1)
        small = cache.currsize
        cache["big"] = _value(name, 100_000)
        assert cache.currsize - small > 50_000, name
        for n in range(limit // 50_000 + 10):  # more than fits
            caches.keep(cache, n, _value(name, 100_000))
        assert cache.currsize <= limit, name
        assert len(cache) < limit // 50_000 + 10, name


def test_weight_counts_what_a_value_reaches_once() -> None:
    shared = "y" * 10_000
    assert caches.weight([shared, shared]) < caches.weight([shared, "z" * 10_000])
    assert caches.weight({"a": shared}) > 10_000
    assert caches.weight(b"x" * 5000) >= 5000
    assert caches.weight(ClientMemory()) > caches.weight(None)


def test_an_entry_larger_than_its_whole_cache_is_not_kept_and_is_no_error() -> None:
    """gidgethub puts every answer with an ETag into its cache: a huge answer must not
    turn into an error of the request."""
    for cache in (caches.lru(1000), caches.ttl(1000, 60)):
        cache["huge"] = "small"
        cache["huge"] = "x" * 2000
        caches.keep(cache, "other", "x" * 2000)
        assert "huge" not in cache and "other" not in cache and cache.currsize == 0


def test_labels_known_to_exist_are_weighed_as_they_grow() -> None:
    client = _Client()
    labels._remember_labels(client, "o/r", {"a"})  # type: ignore[arg-type]
    before = kept(client, labels._known_table).currsize
    labels._remember_labels(client, "o/r", {f"label-{n}" for n in range(200)})  # type: ignore[arg-type]
    assert kept(client, labels._known_table).currsize > before + 200 * 40
    assert labels._known_labels(client, "O/R") >= {"a", "label-0", "label-199"}  # type: ignore[arg-type]


class _Client:
    """Stands for an installation's client: the gateway only keys on its identity here."""


def test_what_the_gateway_keeps_goes_with_the_client_or_the_delivery() -> None:
    client, other = _Client(), _Client()
    first, second = GitHub(client), GitHub(client)  # type: ignore[arg-type]
    assert first.memory(ClientMemory) is second.memory(ClientMemory)
    assert GitHub(other).memory(ClientMemory) is not first.memory(ClientMemory)  # type: ignore[arg-type]
    assert first.memo is not second.memo  # one memo per delivery's gateway
