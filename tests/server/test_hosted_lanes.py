"""The Redis steps of hosted mode (bot/hosted/lanes.py) one at a time, on a real
redis-server: what each Lua script changes, and what it refuses to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, cast

import pytest
from arq.connections import RedisSettings, create_pool
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from arq.worker import Worker, func
from redis.asyncio import Redis
from redis_process import RedisServer

from bot.hosted.connect import QUEUE, RUN_LANE, dumps, loads
from bot.hosted.lanes import Store, job_id
from bot.hosted.ratelimit import RedisSharedWait, wait_key

from .helpers import SECRET, pull_request_payload

PR = "octo-org/enhancements#1"


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[Store]:
    async with Redis.from_url(redis_server.url) as client:
        yield Store(client, secret=SECRET.encode(), lease_seconds=10)


async def accept(
    store: Store, delivery: str, key: str | None = PR, payload: bytes | None = None
) -> str | None:
    return await store.accept(
        event="pull_request",
        delivery=delivery,
        hook="30",
        payload=json.dumps(pull_request_payload(1)).encode() if payload is None else payload,
        ordering_key=key,
    )


async def tickets(store: Store) -> dict[str, Any]:
    """arq's queue: each ticket's job id and what its job runs."""
    queued = await store.redis.zrange(QUEUE, 0, -1)
    found = {}
    for raw in queued:
        serialized = await store.redis.get(job_key_prefix + raw.decode())
        found[raw.decode()] = deserialize_job(serialized, deserializer=loads)
    return found


async def test_a_delivery_is_queued_once_in_its_pull_requests_lane(store: Store) -> None:
    assert await accept(store, "d1") == f"pr:{PR}"
    assert await accept(store, "d1") is None  # a repeat
    assert await accept(store, "d2") == f"pr:{PR}"
    other = await accept(store, "d3", key=None)
    assert other is not None and other.startswith("delivery:")  # a lane of its own
    assert (await store.stats()).depth == 3
    job = await store.head(f"pr:{PR}")
    assert job is not None and (job.delivery, job.tries, job.authentic) == ("d1", 1, True)


async def test_acceptance_enqueues_one_ticket_for_the_jobs_lane_as_arq_does(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    queued = await tickets(store)
    assert list(queued) == [job_id("30", "d1")]  # one arq job per delivery
    (ticket,) = queued.values()
    assert (ticket.function, ticket.args, ticket.kwargs) == (RUN_LANE, [lane], {})
    expires = await store.redis.pttl(job_key_prefix + job_id("30", "d1"))
    assert 86_000_000 < expires <= 86_400_000  # arq's default: a day
    assert await accept(store, "d1") is None  # a repeat: no ticket either
    assert await tickets(store) == queued
    await accept(store, "d2")
    assert len(await tickets(store)) == 2  # never folded into the lane's waiting ticket


async def test_a_ticket_written_by_acceptance_is_run_by_an_arq_worker(
    store: Store, redis_server: RedisServer
) -> None:
    lane = await accept(store, "d1")
    ran: list[str] = []

    async def run_lane(ctx: dict[str, Any], lane: str) -> None:
        ran.append(lane)

    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    worker = Worker(
        [func(run_lane, name=RUN_LANE)],
        queue_name=QUEUE,
        redis_pool=pool,
        burst=True,  # returns once the queue is empty
        poll_delay=0.01,
        handle_signals=False,
        keep_result=0,
        job_serializer=dumps,
        job_deserializer=loads,
    )
    try:
        await asyncio.wait_for(worker.main(), 10)
    finally:
        await pool.aclose()
    assert (ran, worker.jobs_complete, worker.jobs_failed) == ([lane], 1, 0)
    assert await store.redis.zcard(QUEUE) == 0


async def test_a_payload_is_stored_as_sent_and_read_as_the_receiver_decodes_it(
    store: Store,
) -> None:
    sent = b'{"title": "KEP \\ud800 \xc3\xa9", "n": 1}'  # a lone surrogate escape, UTF-8
    lane = await accept(store, "d1", payload=sent)
    assert lane is not None
    stored = store.redis.hget(f"kepbot:job:{job_id('30', 'd1')}", "data")
    assert await cast(Awaitable[bytes], stored) == sent
    job = await store.head(lane)
    assert job is not None and job.authentic
    assert job.data == {"title": "KEP \ud800 \u00e9", "n": 1}


async def test_a_lane_is_given_up_only_when_it_is_empty(store: Store) -> None:
    lane = await accept(store, "d1")
    assert lane is not None
    assert await store.take(lane, "me")
    assert not await store.take(lane, "another")  # one holder at a time
    assert not await store.release_if_empty(lane, "me")  # a job waits: keep going
    job = await store.head(lane)
    assert job is not None
    await store.finish(lane, job.id, forget=False)
    assert await store.release_if_empty(lane, "me")
    assert await store.take(lane, "another")  # the lease is free again
    assert await store.orphans(older_than_ms=0) == []  # and no lane has work


async def test_finishing_a_job_that_is_no_longer_the_head_leaves_the_lane_alone(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    await accept(store, "d2")
    assert lane is not None
    first = await store.head(lane)
    assert first is not None
    await store.finish(lane, first.id, forget=False)
    await store.finish(lane, first.id, forget=False)  # a late second finish of the same job
    second = await store.head(lane)
    assert second is not None and second.delivery == "d2"


async def test_a_lease_is_renewed_only_by_its_holder(store: Store) -> None:
    lane = await accept(store, "d1")
    assert lane is not None
    assert await store.take(lane, "me")
    assert await store.renew(lane, "me")
    assert not await store.renew(lane, "another")
    await store.release(lane, "another")  # not theirs to release
    assert not await store.take(lane, "another")
    await store.release(lane, "me")
    assert await store.orphans(older_than_ms=0) == [lane]  # work and no holder


async def test_a_failed_job_is_forgotten_so_that_its_redelivery_is_taken(store: Store) -> None:
    lane = await accept(store, "d1")
    assert lane is not None
    job = await store.head(lane)
    assert job is not None
    await store.finish(lane, job.id, forget=True)
    assert await accept(store, "d1") == lane
    done = await store.head(lane)
    assert done is not None
    await store.finish(lane, done.id, forget=False)
    assert await accept(store, "d1") is None  # handled: a repeat for 24 hours
    assert (await store.stats()).depth == 0


async def test_the_workers_counted_are_those_that_reported_within_a_lease(store: Store) -> None:
    await store.heartbeat("w1")
    await store.heartbeat("w2")
    assert (await store.stats()).workers == 2
    await store.leave("w1")
    assert (await store.stats()).workers == 1


async def test_the_shared_rate_limit_wait_keeps_the_later_time_and_expires_after_it(
    redis_server: RedisServer,
) -> None:
    now = 1_780_000_000.0
    async with Redis.from_url(redis_server.url) as client:
        shared = RedisSharedWait(client, clock=lambda: now)
        assert await shared.resume_at("7") is None
        await shared.hold_until("7", now + 30)
        await shared.hold_until("7", now + 10)  # an earlier time does not shorten the wait
        assert await shared.resume_at("7") == now + 30
        await shared.hold_until("7", now + 45.5)
        assert await shared.resume_at("7") == now + 45.5
        assert await shared.resume_at("8") is None  # per installation
        ttl = await client.pttl(wait_key("7"))
        assert 45_500 < ttl <= 105_500  # the wait, then a minute, then gone
        await client.set(wait_key("9"), "soon")  # not a time: no wait
        assert await shared.resume_at("9") is None


async def test_an_unreachable_redis_means_no_shared_wait_rather_than_an_error(
    redis_server: RedisServer,
) -> None:
    async with Redis.from_url(redis_server.url) as client:
        shared = RedisSharedWait(client)
        await shared.hold_until("7", 4_000_000_000.0)
        assert await shared.resume_at("7") == 4_000_000_000.0
        await redis_server.kill()
        assert await shared.resume_at("7") is None
        await shared.hold_until("7", 4_000_000_001.0)  # logged, not raised
