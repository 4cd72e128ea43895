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
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis_process import RedisServer

from bot.hosted.batching import ScriptBatcher
from bot.hosted.connect import QUEUE, RUN_LANE, dumps, loads
from bot.hosted.lanes import Done, Job, LeaseLost, QueueFull, Store, job_id
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


async def first(store: Store, lane: str, token: str = "me") -> Job | None:
    """The lane's first job, read by a worker that takes the lane's lease for it."""
    assert await store.take(lane, token)
    return await store.next_job(lane, token)


async def test_a_delivery_is_queued_once_in_its_pull_requests_lane(store: Store) -> None:
    assert await accept(store, "d1") == f"pr:{PR}"
    assert await accept(store, "d1") is None  # a repeat
    assert await accept(store, "d2") == f"pr:{PR}"
    other = await accept(store, "d3", key=None)
    assert other is not None and other.startswith("delivery:")  # a lane of its own
    assert (await store.stats()).depth == 3
    job = await first(store, f"pr:{PR}")
    assert job is not None and (job.delivery, job.tries, job.authentic) == ("d1", 1, True)


async def test_acceptance_enqueues_one_ticket_for_the_jobs_lane_as_arq_does(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    queued = await tickets(store)
    assert list(queued) == [job_id("30", "d1")]  # one arq job per delivery (lane not held)
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
    job = await first(store, lane)
    assert job is not None and job.authentic
    assert job.data == {"title": "KEP \ud800 \u00e9", "n": 1}


async def test_a_lane_is_given_up_only_when_it_is_empty(store: Store) -> None:
    lane = await accept(store, "d1")
    await accept(store, "d2")
    assert lane is not None
    assert await store.take(lane, "me")
    assert not await store.take(lane, "another")  # one holder at a time
    one = await store.next_job(lane, "me")
    assert one is not None and one.delivery == "d1"
    two = await store.next_job(lane, "me", done=Done(one.id, forget=False))
    assert two is not None and two.delivery == "d2"  # the first finished, the next read
    assert await store.take(lane, "another") is False  # a job waits: the lease is kept
    assert await store.next_job(lane, "me", done=Done(two.id, forget=False)) is None
    assert (await store.stats()).depth == 0
    assert await store.take(lane, "another")  # the lease is free again
    assert await store.orphans(older_than_ms=0) == []  # and no lane has work


async def test_a_job_queued_while_its_lane_is_held_gets_no_ticket_and_its_holder_runs_it(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    assert lane is not None and len(await tickets(store)) == 1
    running = await first(store, lane)
    assert running is not None
    assert await accept(store, "d2") == lane
    assert len(await tickets(store)) == 1  # the holder will read it: no second ticket
    after = await store.next_job(lane, "me", done=Done(running.id, forget=False))
    assert after is not None and after.delivery == "d2"
    assert await store.next_job(lane, "me", done=Done(after.id, forget=False)) is None
    assert await accept(store, "d3") == lane  # the lane given up: a ticket again
    assert len(await tickets(store)) == 2


async def test_a_holder_whose_lease_ran_out_finishes_its_job_and_reads_no_other(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    await accept(store, "d2")
    assert lane is not None
    running = await first(store, lane)
    assert running is not None
    await store.redis.delete(f"kepbot:lease:{lane}")  # ran out ...
    assert await store.take(lane, "another")  # ... and another worker took the lane
    with pytest.raises(LeaseLost):
        await store.next_job(lane, "me", done=Done(running.id, forget=False))
    taken = await store.next_job(lane, "another")
    assert taken is not None and (taken.delivery, taken.tries) == ("d2", 1)


async def test_a_job_id_whose_job_is_gone_is_dropped_from_its_lane(store: Store) -> None:
    lane = await accept(store, "d1")
    await accept(store, "d2")
    assert lane is not None
    await store.redis.delete(f"kepbot:job:{job_id('30', 'd1')}")
    job = await first(store, lane)
    assert job is not None and job.delivery == "d2"
    assert (await store.stats()).depth == 1


async def test_finishing_a_job_that_is_no_longer_the_head_leaves_the_lane_alone(
    store: Store,
) -> None:
    lane = await accept(store, "d1")
    await accept(store, "d2")
    assert lane is not None
    one = await first(store, lane)
    assert one is not None
    second = await store.next_job(lane, "me", done=Done(one.id, forget=False))
    await store.finish(lane, one.id, forget=False)  # a late second finish of the same job
    assert second is not None and second.delivery == "d2"
    again = await store.next_job(lane, "me")  # d2 is still the head: read again
    assert again is not None and (again.delivery, again.tries) == ("d2", 2)


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
    job = await first(store, lane)
    assert job is not None
    assert await store.next_job(lane, "me", done=Done(job.id, forget=True)) is None
    assert await accept(store, "d1") == lane
    done = await first(store, lane)
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


async def test_acceptances_made_at_once_share_one_round_trip_and_each_gets_its_own_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelines: list[object] = []
    make_pipeline = store.redis.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(kwargs)
        return make_pipeline(*args, **kwargs)

    monkeypatch.setattr(store.redis, "pipeline", counted)
    deliveries = ["d0", "d1", "d0", "d2", "d3"]  # d0 twice in the same batch
    lanes = await asyncio.gather(
        *(accept(store, d, key=f"octo-org/enhancements#{d}") for d in deliveries)
    )
    assert pipelines == [{"transaction": False}]  # one round trip for the five
    assert lanes == [
        "pr:octo-org/enhancements#d0",
        "pr:octo-org/enhancements#d1",
        None,  # the repeat, and only it
        "pr:octo-org/enhancements#d2",
        "pr:octo-org/enhancements#d3",
    ]
    assert await accept(store, "d4") == f"pr:{PR}"  # alone: a call of its own
    assert len(pipelines) == 1


async def test_an_error_of_one_acceptance_in_a_batch_is_its_callers_alone(store: Store) -> None:
    await store.redis.set("kepbot:lane:pr:octo-org/enhancements#2", "not a list")
    first, broken, third = await asyncio.gather(
        accept(store, "d1"),
        accept(store, "d2", key="octo-org/enhancements#2"),
        accept(store, "d3"),
        return_exceptions=True,
    )
    assert (first, third) == (f"pr:{PR}", f"pr:{PR}")
    assert isinstance(broken, ResponseError) and "WRONGTYPE" in str(broken)


async def test_an_error_of_the_whole_batch_reaches_every_caller_in_it(
    redis_server: RedisServer,
) -> None:
    await redis_server.kill()
    async with Redis.from_url(redis_server.url) as client:
        store = Store(client, secret=SECRET.encode())
        answers = await asyncio.gather(
            *(accept(store, f"d{n}") for n in range(3)), return_exceptions=True
        )
    assert all(isinstance(answer, RedisConnectionError) for answer in answers), answers


async def test_a_batch_loads_the_acceptance_script_when_redis_has_forgotten_it(
    store: Store,
) -> None:
    assert await accept(store, "d1") == f"pr:{PR}"
    await store.redis.script_flush()  # as after a restart
    assert await asyncio.gather(accept(store, "d2"), accept(store, "d1")) == [f"pr:{PR}", None]


async def test_a_batch_redis_does_not_answer_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # takes the commands, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Redis(host="127.0.0.1", port=port) as client:
        batcher = ScriptBatcher(client, "return 1", timeout=0.2)
        answers = await asyncio.gather(
            batcher(keys=[], args=[]), batcher(keys=[], args=[]), return_exceptions=True
        )
    assert all(isinstance(answer, TimeoutError) for answer in answers), answers


SIZE = len(json.dumps(pull_request_payload(1)).encode())  # each delivery's payload bytes


async def queued_bytes(store: Store) -> int:
    return int(await store.redis.get("kepbot:queued-bytes") or 0)


async def test_a_delivery_that_would_pass_the_queues_bound_in_bytes_is_refused(
    redis_server: RedisServer,
) -> None:
    async with Redis.from_url(redis_server.url) as client:
        store = Store(client, secret=SECRET.encode(), queue_bytes=3 * SIZE)
        for delivery in ("d1", "d2", "d3"):
            assert await accept(store, delivery) == f"pr:{PR}"
        with pytest.raises(QueueFull) as refused:
            await accept(store, "d4")
        assert (refused.value.queued, refused.value.bound) == (3 * SIZE, 3 * SIZE)
        assert await accept(store, "d1") is None  # a repeat is still a repeat, full or not
        assert (await store.stats()).depth == 3
        assert len(await tickets(store)) == 3  # nothing of d4 was written


async def test_a_finish_frees_its_jobs_bytes_once(redis_server: RedisServer) -> None:
    async with Redis.from_url(redis_server.url) as client:
        store = Store(client, secret=SECRET.encode(), queue_bytes=2 * SIZE)
        assert await accept(store, "d1") == f"pr:{PR}"
        assert await accept(store, "d2") == f"pr:{PR}"
        one = await first(store, f"pr:{PR}")
        assert one is not None
        await store.finish(one.lane, one.id, forget=False)
        assert await queued_bytes(store) == SIZE
        await store.next_job(one.lane, "me", done=Done(one.id, forget=False))  # repeated
        assert await queued_bytes(store) == SIZE  # frees nothing more
        assert await accept(store, "d3") == f"pr:{PR}"  # the room d1 left
        with pytest.raises(QueueFull):
            await accept(store, "d4")


async def test_one_delivery_fits_an_empty_queue_whatever_its_size(store: Store) -> None:
    small = Store(store.redis, secret=SECRET.encode(), queue_bytes=1)
    assert await accept(small, "d1") == f"pr:{PR}"
    with pytest.raises(QueueFull):
        await accept(small, "d2")


async def test_acceptances_at_once_from_two_web_processes_never_pass_the_bound(
    redis_server: RedisServer,
) -> None:
    bound = 10 * SIZE
    async with Redis.from_url(redis_server.url) as one, Redis.from_url(redis_server.url) as two:
        stores = [Store(client, secret=SECRET.encode(), queue_bytes=bound) for client in (one, two)]
        answers = await asyncio.gather(
            *(accept(stores[n % 2], f"d{n}", key=f"o/r#{n}") for n in range(40)),
            return_exceptions=True,
        )
        taken = [answer for answer in answers if isinstance(answer, str)]
        refused = [answer for answer in answers if isinstance(answer, QueueFull)]
        assert (len(taken), len(refused)) == (10, 30)
        assert await queued_bytes(stores[0]) == bound
        assert (await stores[0].stats()).depth == 10
