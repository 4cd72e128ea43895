"""The caches a fleet shares in Redis (bot/hosted/shared_cache.py), on a real redis-server:
each space bounded in bytes, least recently written first, values sealed by an HMAC; and two
clients standing for two worker processes (each with its own caches) against the GitHub
double, spending the requests of one."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_process import RedisServer

from bot.engine.config import CONFIG_PATH, load_preset
from bot.github.auth import AppAuth
from bot.github.caches import SHARED_ENTRY_BYTES, SharedEntry
from bot.github.client import GitHubClient, KepbotAPI
from bot.github.labels import desired_labels, managed_labels, sync_labels
from bot.github.repo import list_tree, read_blob
from bot.github.repo_config import ConfigCache, load_repo_config
from bot.hosted.shared_cache import RedisSharedCache, space_keys
from bot.sandbox import GitHubDouble
from bot.sandbox.testing import ManualClock, Sandbox

from .conftest import KEP, FakeSleep, requests

SECRET = b"webhook secret"
KEP_CONFIG = load_preset("kep")
MANAGED = managed_labels(KEP_CONFIG)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_server.url) as client:
        yield client


def weighs(key: str, tag: str, value: bytes) -> int:
    """What an entry takes of its space: key, tag and sealed value, plus the bookkeeping."""
    return len(key) + len(tag) + 32 + len(value) + SHARED_ENTRY_BYTES


async def test_a_space_keeps_within_its_bytes_dropping_the_least_recently_written(
    redis: Redis,
) -> None:
    value = b"x" * 300
    limit = 3 * weighs("k1", "t", value)
    cache = RedisSharedCache(redis, secret=SECRET, limits={"blob": limit})
    for key in ("k1", "k2", "k3"):
        await cache.put("blob", key, "t", value)
    assert await cache.used("blob") == limit  # full, nothing dropped yet
    await cache.put("blob", "k1", "t", value)  # k1 written again
    assert await cache.get("blob", "k2") == SharedEntry("t", value)  # a read changes no order
    await cache.put("blob", "k4", "t", value)
    assert await cache.get("blob", "k2") is None  # the least recently written went
    for key in ("k1", "k3", "k4"):
        assert await cache.get("blob", key) == SharedEntry("t", value)
    assert await cache.used("blob") == limit
    keys = space_keys("blob")
    assert await redis.hlen(keys["values"]) == await redis.zcard(keys["written"]) == 3


async def test_a_read_writes_nothing(redis: Redis) -> None:
    cache = RedisSharedCache(redis, secret=SECRET)
    await cache.put("etag", "url", '"e1"', b"answer")
    before = (await redis.info("persistence"))["aof_current_size"]
    for known in ("", '"e1"', '"e0"'):
        await cache.get("etag", "url", known_tag=known)
    await cache.get("etag", "absent")
    assert (await redis.info("persistence"))["aof_current_size"] == before


async def test_an_entry_larger_than_its_space_is_not_kept_and_a_rewrite_is_counted_once(
    redis: Redis,
) -> None:
    cache = RedisSharedCache(redis, secret=SECRET, limits={"etag": 2000})
    await cache.put("etag", "small", "t1", b"a" * 100)
    await cache.put("etag", "huge", "t", b"b" * 2000)
    assert await cache.get("etag", "huge") is None
    assert await cache.get("etag", "small") == SharedEntry("t1", b"a" * 100)
    await cache.put("etag", "small", "t2", b"c" * 50)  # replaced, not added
    assert await cache.used("etag") == weighs("small", "t2", b"c" * 50)


async def test_concurrent_writers_leave_the_count_exact_and_within_the_limit(
    redis: Redis,
) -> None:
    limit = 20_000
    writers = [RedisSharedCache(redis, secret=SECRET, limits={"blob": limit}) for _ in range(4)]
    await asyncio.gather(
        *(
            writer.put("blob", f"k{n % 40}", f"t{n}", b"v" * (50 + n * 7))
            for n in range(200)
            for writer in writers
        )
    )
    keys = space_keys("blob")
    sizes = [int(size) for size in (await redis.hgetall(keys["sizes"])).values()]
    assert await writers[0].used("blob") == sum(sizes) <= limit
    assert await redis.hlen(keys["values"]) == await redis.zcard(keys["written"]) == len(sizes)


async def test_a_caller_holding_the_tag_gets_no_value(redis: Redis) -> None:
    cache = RedisSharedCache(redis, secret=SECRET)
    await cache.put("etag", "url", '"e1"', b"answer")
    assert await cache.get("etag", "url", known_tag='"e1"') == SharedEntry('"e1"', None)
    assert await cache.get("etag", "url", known_tag='"e0"') == SharedEntry('"e1"', b"answer")


async def test_a_value_written_without_the_secret_is_a_miss(redis: Redis) -> None:
    cache = RedisSharedCache(redis, secret=SECRET)
    await cache.put("config", "1:o/r:main", "1.0", b"extends: kep\n")
    forged = RedisSharedCache(redis, secret=b"another secret")
    await forged.put("config", "1:o/r:other", "1.0", b"approvers: [mallory]\n")
    assert await cache.get("config", "1:o/r:other") is None
    keys = space_keys("config")
    sealed = await redis.hget(keys["values"], "1:o/r:main")
    assert sealed is not None
    await redis.hset(keys["values"], "1:o/r:main", sealed[:32] + b"approvers: [mallory]\n")
    assert await cache.get("config", "1:o/r:main") is None
    await redis.hset(keys["tags"], "1:o/r:main", "2.0")  # the same value under another tag
    await redis.hset(keys["values"], "1:o/r:main", sealed)
    assert await cache.get("config", "1:o/r:main") is None


async def test_an_unreachable_redis_is_a_miss_and_a_put_not_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2) as down:
        cache = RedisSharedCache(down, secret=SECRET)
        await cache.put("blob", "k", "t", b"v")
        assert await cache.get("blob", "k") is None
    assert "the shared caches are unavailable" in caplog.text


class Fleet:
    """Two installation clients of two processes: each its own ETag, blob and config
    caches, both on one shared cache and one installation token (which the fleet shares
    too: GitHub's ETags vary with the token)."""

    def __init__(self, sandbox: Sandbox, auth: AppAuth, clock: ManualClock, shared: object):
        self.made = [
            GitHubClient(
                sandbox.session,
                auth,
                api_url=sandbox.base_url,
                sleep=FakeSleep(clock),
                clock=clock,
                shared_cache=shared,  # type: ignore[arg-type]
            )
            for _ in range(2)
        ]

    async def clients(self, installation: int) -> list[KepbotAPI]:
        return [await made.for_installation(installation) for made in self.made]


@pytest.fixture
async def fleet(
    sandbox: Sandbox, auth: AppAuth, clock: ManualClock, redis: Redis, installation: int
) -> list[KepbotAPI]:
    shared = RedisSharedCache(redis, secret=SECRET)
    return await Fleet(sandbox, auth, clock, shared).clients(installation)


async def test_a_get_asks_with_the_etag_another_process_was_answered(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str
) -> None:
    first, second = fleet
    since = len(double.requests)
    assert (await first.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert (await second.getitem(f"/repos/{repo}"))["full_name"] == repo
    sent = requests(double, "GET", f"/repos/{repo}", since)
    assert [r.status for r in sent] == [200, 304]


async def test_a_newer_answer_one_process_got_replaces_the_older_one_another_holds(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str
) -> None:
    first, second = fleet
    path = f"/repos/{repo}/branches/main"
    before = await first.getitem(path)
    assert (await second.getitem(path)) == before
    head = double.push(repo, "main", {"README.md": "changed\n"})
    assert (await first.getitem(path))["commit"]["sha"] == head  # 200: a new ETag, shared
    since = len(double.requests)
    assert (await second.getitem(path))["commit"]["sha"] == head
    assert [r.status for r in requests(double, "GET", path, since)] == [304]


async def test_a_blob_read_by_one_process_is_not_read_again_by_another(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str
) -> None:
    first, second = fleet
    sha = (await list_tree(first, repo, "main")).blobs[KEP]
    data = await read_blob(first, repo, sha)
    assert [r.path for r in requests(double, "GET", "/git/blobs/")] == [
        f"/repos/{repo}/git/blobs/{sha}"
    ]
    since = len(double.requests)
    assert await read_blob(second, repo, sha) == data
    assert double.requests[since:] == []
    other_sha = "0" * 40  # the fleet's cache is keyed by repository too
    assert await second.shared_cache.get("blob", f"{repo.lower()}:{other_sha}") is None  # type: ignore[union-attr]


async def test_a_configuration_read_by_one_process_is_taken_by_another_while_young(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str, redis: Redis
) -> None:
    first, second = fleet
    double.push(repo, "main", {CONFIG_PATH: "extends: gep\ncommand: gep\n"})
    result = await load_repo_config(first, repo, "main", cache=ConfigCache())
    assert result.config is not None and result.config.preset == "gep"
    since = len(double.requests)
    again = await load_repo_config(second, repo, "main", cache=ConfigCache())
    assert double.requests[since:] == []
    assert (again.source, again.repository, again.config) == ("repo", repo, result.config)

    # A reading older than half the TTL is read again (and the new reading shared).
    double.push(repo, "main", {CONFIG_PATH: "extends: kpep\n"})
    shared = second.shared_cache
    assert shared is not None
    key = f"{second.installation_id}:{repo.lower()}:main"
    entry = await shared.get("config", key)
    assert entry is not None and entry.value is not None
    await shared.put("config", key, f"{time.time() - 31:.3f}", entry.value)
    changed = await load_repo_config(second, repo, "main", cache=ConfigCache())
    assert changed.config is not None and changed.config.preset == "kpep"
    assert [r.status for r in requests(double, "GET", CONFIG_PATH, since)] == [200]
    since = len(double.requests)
    latest = await load_repo_config(first, repo, "main", cache=ConfigCache())
    assert latest.config == changed.config and double.requests[since:] == []


async def test_an_invalid_configuration_taken_from_the_fleet_keeps_its_error(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str
) -> None:
    first, second = fleet
    double.push(repo, "main", {CONFIG_PATH: "extends: kep\nnumbering:\n  source: sometimes\n"})
    read = await load_repo_config(first, repo, "main")
    taken = await load_repo_config(second, repo, "main")
    assert read.error is not None and taken.error is not None
    assert taken.error.render() == read.error.render()
    assert (taken.source, taken.repository) == ("repo", repo)


async def test_a_label_one_process_made_sure_of_is_not_created_again_by_another(
    fleet: list[KepbotAPI], double: GitHubDouble, repo: str
) -> None:
    first, second = fleet
    wanted = desired_labels(KEP_CONFIG, [("provisional", "sig-node")])
    prs = [
        double.open_pull_request(repo, f"kep-{n}", {KEP: "title: Pod stuff\n"}, "KEP")
        for n in (1, 2)
    ]
    since = len(double.requests)
    await sync_labels(first, repo, prs[0], wanted, MANAGED, current=[])
    created = requests(double, "POST", f"/repos/{repo}/labels", since)
    assert len(created) == len(wanted)
    since = len(double.requests)
    await sync_labels(second, repo, prs[1], wanted, MANAGED, current=[])
    assert requests(double, "POST", f"/repos/{repo}/labels", since) == []
    assert set(double.labels(repo, prs[1])) >= set(wanted)
