"""Background work: per-PR ordering, concurrency, failures, health while busy, draining."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from gidgethub.sansio import Event

from bot.metrics import Metrics
from bot.worker import WorkerPool, ordering_key

from .conftest import StartServer
from .helpers import (
    INSTALLATION,
    REPO,
    WAIT,
    LogWatcher,
    Recorder,
    Server,
    issue_comment_payload,
    pull_request_payload,
    push_payload,
)


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (pull_request_payload(12), f"{REPO}#12"),
        (issue_comment_payload(12), f"{REPO}#12"),
        (
            {"check_run": {"pull_requests": [{"number": 12}]}, "repository": {"full_name": REPO}},
            f"{REPO}#12",
        ),
        (
            {"check_suite": {"pull_requests": [{"number": 3}]}, "repository": {"full_name": REPO}},
            f"{REPO}#3",
        ),
        ({"check_run": {"pull_requests": []}, "repository": {"full_name": REPO}}, None),
        (push_payload(), None),
        ({"pull_request": {"number": 12}}, None),
        ({"pull_request": {"number": True}, "repository": {"full_name": REPO}}, None),
        ({"issue": {"number": "12"}, "repository": {"full_name": REPO}}, None),
        ([1, 2], None),
    ],
)
def test_ordering_key(payload: Any, key: str | None) -> None:
    assert ordering_key(payload) == key


def test_ordering_key_differs_per_repository() -> None:
    assert ordering_key(pull_request_payload(1)) != ordering_key(
        pull_request_payload(1, repo="octo-org/other")
    )


async def test_same_pull_request_runs_in_arrival_order(server: Server) -> None:
    recorder = server.recorder
    release_first = recorder.gate("pr1-a")
    await server.deliver(pull_request_payload(1, action="opened"), delivery="pr1-a")
    await recorder.wait("start", "pr1-a")
    await server.deliver(issue_comment_payload(1), event="issue_comment", delivery="pr1-b")
    await server.deliver(pull_request_payload(1, action="edited"), delivery="pr1-c")
    # Work on another PR, sent after them, runs to completion on a free worker...
    await server.deliver(pull_request_payload(2), delivery="pr2-a")
    await recorder.wait("end", "pr2-a")
    # ...while the later events of PR 1 wait for the first, though workers are free.
    assert "pr1-b" not in recorder.seen("start")
    assert "pr1-c" not in recorder.seen("start")
    release_first.set()
    await recorder.wait("end", "pr1-c")
    pr1 = [entry for entry in recorder.log if entry[1].startswith("pr1")]
    assert pr1 == [
        ("start", "pr1-a"),
        ("end", "pr1-a"),
        ("start", "pr1-b"),
        ("end", "pr1-b"),
        ("start", "pr1-c"),
        ("end", "pr1-c"),
    ]
    assert server.pool.tracked_keys == 0  # no memory kept for idle pull requests


async def test_many_events_on_one_pull_request_keep_their_order(server: Server) -> None:
    deliveries = [f"burst-{index}" for index in range(20)]
    for delivery in deliveries:
        assert (await server.deliver(pull_request_payload(5), delivery=delivery)).status == 202
    await server.recorder.wait("end", deliveries[-1])
    assert server.recorder.seen("start") == deliveries
    assert server.recorder.seen("end") == deliveries


async def test_different_pull_requests_run_concurrently(server: Server) -> None:
    recorder = server.recorder
    gates = [recorder.gate(name) for name in ("pr1", "pr2", "push")]
    await server.deliver(pull_request_payload(1), delivery="pr1")
    await server.deliver(pull_request_payload(2), delivery="pr2")
    await server.deliver(push_payload(), event="push", delivery="push")
    # All three are inside the handler at once: none waits for another.
    for name in ("pr1", "pr2", "push"):
        await recorder.wait("start", name)
    assert server.pool.in_flight == 3
    assert recorder.seen("end") == []
    for gate in gates:
        gate.set()
    for name in ("pr1", "pr2", "push"):
        await recorder.wait("end", name)


async def test_failing_handler_is_logged_counted_and_the_worker_survives(
    make_server: StartServer, logs: LogWatcher
) -> None:
    server = await make_server(kepbot_workers=1)
    server.recorder.failing.add("d-fails")
    assert (await server.deliver(pull_request_payload(1), delivery="d-fails")).status == 202
    assert (await server.deliver(pull_request_payload(2), delivery="d-next")).status == 202
    await server.recorder.wait("end", "d-next")  # the single worker is still alive
    failure = await logs.wait_for(lambda line: line["message"] == "handling the delivery failed")
    assert failure["level"] == "ERROR"
    assert failure["delivery"] == "d-fails"
    assert failure["repository"] == REPO
    assert failure["installation"] == INSTALLATION
    assert "handler for d-fails failed" in failure["exc"]
    assert server.metrics.failed.value(event="pull_request") == 1
    assert server.metrics.handled.value(event="pull_request") == 1
    assert (await server.get("/healthz")).status == 200


async def test_healthz_answers_while_every_worker_hangs(make_server: StartServer) -> None:
    server = await make_server(kepbot_workers=2)
    gates = [server.recorder.gate(name) for name in ("h1", "h2", "h3")]
    for number, name in enumerate(("h1", "h2", "h3"), start=1):
        assert (await server.deliver(pull_request_payload(number), delivery=name)).status == 202
    await server.recorder.wait("start", "h1")
    await server.recorder.wait("start", "h2")
    started = time.monotonic()
    reply = await server.get("/healthz")
    assert time.monotonic() - started < 1.0
    assert reply.status == 200
    health = reply.json()
    assert health["status"] == "ok"
    assert health["version"] == "0.1.0"
    assert health["in_flight"] == 2
    assert health["queue_depth"] == 1
    assert health["uptime_seconds"] >= 0
    for gate in gates:
        gate.set()
    await server.recorder.wait("end", "h3")
    health = (await server.get("/healthz")).json()
    assert (health["in_flight"], health["queue_depth"]) == (0, 0)


async def test_shutdown_drains_in_flight_work_and_cancels_past_the_deadline(
    make_server: StartServer, logs: LogWatcher
) -> None:
    server = await make_server(kepbot_drain_seconds=0.5)
    recorder = server.recorder
    finishing = recorder.gate("finishes")  # released once the drain has begun
    recorder.gate("hangs")  # never released
    await server.deliver(pull_request_payload(1), delivery="finishes")
    await server.deliver(pull_request_payload(2), delivery="hangs")
    await server.deliver(pull_request_payload(2, action="edited"), delivery="queued-behind")
    await recorder.wait("start", "finishes")
    await recorder.wait("start", "hangs")

    started = time.monotonic()
    stopping = asyncio.create_task(server.stop())
    await logs.wait_for(lambda line: line["message"].startswith("draining"))
    assert not server.pool.accepting
    finishing.set()
    await asyncio.wait_for(stopping, WAIT)
    elapsed = time.monotonic() - started

    assert "finishes" in recorder.seen("end")
    assert recorder.seen("cancelled") == ["hangs"]
    assert "queued-behind" not in recorder.seen("start")
    assert 0.5 <= elapsed < 3.0
    cancelled_running = logs.matching(
        lambda line: line["message"] == "delivery cancelled at shutdown while running"
    )
    assert [line["delivery"] for line in cancelled_running] == ["hangs"]
    cancelled_waiting = logs.matching(
        lambda line: line["message"] == "delivery cancelled at shutdown before it started"
    )
    assert [line["delivery"] for line in cancelled_waiting] == ["queued-behind"]
    summary = await logs.wait_for(lambda line: line["message"].startswith("drained"))
    assert sorted(summary["cancelled"]) == ["hangs", "queued-behind"]
    assert server.metrics.failed.value(event="pull_request") == 2


async def test_shutdown_waits_for_queued_work_within_the_deadline(
    make_server: StartServer, logs: LogWatcher
) -> None:
    server = await make_server(kepbot_workers=1, kepbot_drain_seconds=5)
    gate = server.recorder.gate("first")
    for number, name in enumerate(("first", "second", "third"), start=1):
        await server.deliver(pull_request_payload(number), delivery=name)
    await server.recorder.wait("start", "first")
    stopping = asyncio.create_task(server.stop())
    await logs.wait_for(lambda line: line["message"].startswith("draining"))
    gate.set()
    await asyncio.wait_for(stopping, WAIT)
    assert server.recorder.seen("end") == ["first", "second", "third"]
    summary = await logs.wait_for(lambda line: line["message"].startswith("drained"))
    assert summary["cancelled"] == []


def _event(delivery: str, number: int | None = 1) -> Event:
    data = pull_request_payload(number) if number is not None else push_payload()
    return Event(data, event="pull_request", delivery_id=delivery)


async def test_pool_refuses_work_before_start_and_after_drain() -> None:
    recorder = Recorder()
    pool = WorkerPool(recorder, workers=1, queue_size=1, metrics=Metrics())
    assert not pool.submit(_event("early"))
    await pool.start()
    assert pool.submit(_event("on-time"))
    await recorder.wait("end", "on-time")
    assert await pool.drain(1.0) == []
    assert not pool.submit(_event("late"))
    assert [event.delivery_id for event in recorder.events] == ["on-time"]


async def test_drain_returns_what_it_cancelled() -> None:
    recorder = Recorder()
    metrics = Metrics()
    pool = WorkerPool(recorder, workers=1, queue_size=5, metrics=metrics)
    await pool.start()
    recorder.gate("stuck")
    assert pool.submit(_event("stuck", 1))
    assert pool.submit(_event("waiting", None))
    await recorder.wait("start", "stuck")
    assert metrics.queue_depth.value() == 1
    assert metrics.in_flight.value() == 1
    cancelled = await pool.drain(0.05)
    assert sorted(cancelled) == ["stuck", "waiting"]
    assert (pool.queue_depth, pool.in_flight) == (0, 0)
    assert (metrics.queue_depth.value(), metrics.in_flight.value()) == (0, 0)


async def test_handler_failure_calls_the_failure_callback() -> None:
    recorder = Recorder()
    recorder.failing.add("bad")
    pool = WorkerPool(recorder, workers=2, queue_size=5, metrics=Metrics())
    await pool.start()
    failed: list[str] = []
    assert pool.submit(_event("bad"), on_failure=lambda: failed.append("bad"))
    assert pool.submit(_event("good", 2), on_failure=lambda: failed.append("good"))
    await recorder.wait("end", "good")
    await recorder.wait("start", "bad")
    assert failed == ["bad"]
    await pool.drain(1.0)


async def test_the_queue_is_bounded_by_the_bytes_of_the_bodies_waiting() -> None:
    """A burst of large deliveries fills the queue by bytes before it fills by count; one
    delivery always fits an empty queue, and the bytes are given back as work starts."""
    recorder = Recorder()
    pool = WorkerPool(recorder, workers=1, queue_size=100, queue_bytes=1000, metrics=Metrics())
    await pool.start()
    gate = recorder.gate("running")
    assert pool.submit(_event("running", 1), size=5000)  # larger than the bound, queue empty
    await recorder.wait("start", "running")
    assert pool.submit(_event("first", 2), size=600)
    assert not pool.submit(_event("too-much", 3), size=401)
    assert pool.submit(_event("just-fits", 4), size=400)
    assert pool.queue_depth == 2
    gate.set()
    await recorder.wait("end", "just-fits")
    assert pool.submit(_event("after", 5), size=1000)
    await recorder.wait("end", "after")
    assert recorder.seen("end") == ["running", "first", "just-fits", "after"]
    await pool.drain(1.0)
