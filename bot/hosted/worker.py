"""``kepbot worker`` (``python -m bot worker``): run queued deliveries from Redis.

An arq worker runs tickets (``run_lane``): a ticket takes its lane's lease, runs the
lane's jobs one after the other in arrival order through the same ``dispatch`` the
one-process pool runs (``Bot.dispatch``), and gives the lane up when it is empty. Up to
``KEPBOT_WORKERS`` lanes run at once in each worker process; lanes of different pull
requests run in parallel across all of them. Beside the tickets, each worker

- renews the leases it holds (every third of ``KEPBOT_LEASE_SECONDS``);
- reports a heartbeat (the worker count of ``/healthz``);
- sweeps, one worker of the fleet at a time: a lane with jobs and no lease (its worker
  died, or its ticket was lost) gets a ticket;
- runs the reconcile pass (docs/design.md B8), once per ``KEPBOT_RECONCILE_SECONDS`` for
  the whole fleet, under a Redis lease;
- shares each installation's token (one worker mints it; ``bot.hosted.tokens``) and its
  caches of GitHub's answers (ETags, blobs, configurations; ``bot.hosted.shared_cache``,
  ``KEPBOT_SHARED_CACHES``) with every worker;
- shares GitHub's rate-limit waits: a 403/429 that says to wait holds every worker's
  requests to the installation until then (``bot.hosted.ratelimit``).

A job that fails is logged, counted and finished (its redelivery is accepted again, as in
one-process mode); a job whose worker died is run again by the next holder of its lane, at
most ``MAX_TRIES`` times. SIGTERM stops taking tickets, lets running jobs finish within
``KEPBOT_DRAIN_SECONDS``, and leaves the rest in Redis for the other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker, func
from gidgethub.sansio import Event
from redis.exceptions import RedisError

from bot.heap import settle
from bot.hosted.connect import QUEUE, RUN_LANE, connect, dumps, loads
from bot.hosted.fleet import client_options
from bot.hosted.lanes import Done, Job, LeaseLost, Store
from bot.logs import configure_logging, event_context, log_context
from bot.metrics import Metrics, default_metrics
from bot.settings import Settings, SettingsError

__all__ = ["MAX_TRIES", "LaneRunner", "main"]

logger = logging.getLogger(__name__)

Dispatch = Callable[[Any], Awaitable[None]]

MAX_TRIES = 3  # a job whose worker died this many times is given up (logged, counted)
RUNNER = "kepbot_runner"  # the LaneRunner in arq's job context
# A lane queued this long without a lease is an orphan: its ticket was lost or its worker died.
ORPHAN_AFTER_MS = 2000
# A ticket waits at most this long for a slot (rarely: a busy worker takes no tickets); a
# ticket whose worker died is retried by arq this long (plus 10 s) after it started.
TICKET_TIMEOUT_SECONDS = 60


class LaneRunner:
    """Runs lanes for one worker process: at most ``lanes_at_once`` at a time.

    A ticket only takes the lane's lease and starts the lane's drain as a task of its own,
    then returns: arq's time limit bounds the ticket, never a delivery's handling, and a
    ticket left behind by a dead worker is retried (and finds nothing to do) within
    ``TICKET_TIMEOUT_SECONDS``. While every slot is busy the worker takes no tickets
    (arq's ``allow_pick_jobs``), so they wait in Redis for a worker with room.
    """

    def __init__(
        self,
        store: Store,
        redis: ArqRedis,
        dispatch: Dispatch,
        *,
        worker_id: str,
        metrics: Metrics,
        lanes_at_once: int = 8,
        on_room: Callable[[bool], None] = lambda room: None,
    ) -> None:
        self.store = store
        self.redis = redis
        self.dispatch = dispatch
        self.worker_id = worker_id
        self.metrics = metrics
        self.stopping = False
        self.drains: set[asyncio.Task[None]] = set()
        self._lanes_at_once = lanes_at_once
        self._slots = asyncio.Semaphore(lanes_at_once)
        self._on_room = on_room

    async def ticket(self, lane: str) -> None:
        """Start running the lane unless another worker holds it (its holder runs it)."""
        if self.stopping:
            return
        await self._slots.acquire()
        token = f"{self.worker_id}:{uuid.uuid4().hex}"
        try:
            taken = not self.stopping and await self.store.take(lane, token)
        except BaseException:
            self._slots.release()
            raise
        if not taken:
            self._slots.release()
            return
        task = asyncio.create_task(self._drain(lane, token), name=f"kepbot-lane-{lane}")
        self.drains.add(task)
        task.add_done_callback(self._drained)
        self._on_room(len(self.drains) < self._lanes_at_once)

    def _drained(self, task: asyncio.Task[None]) -> None:
        self.drains.discard(task)
        self._slots.release()
        self._on_room(not self.stopping)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a lane stopped", exc_info=task.exception())

    async def _drain(self, lane: str, token: str) -> None:
        """Run the lane's jobs while holding its lease, in order, until it is empty: one
        Redis step between two jobs finishes the one and reads the next."""
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._renew(lane, token, lost))
        done: Done | None = None
        released = False
        try:
            while not self.stopping and not lost.is_set():
                try:
                    job = await self.store.next_job(lane, token, done=done)
                except LeaseLost:  # `done` was finished all the same
                    done = None
                    logger.error("the lease of lane %s ran out; another worker has it", lane)
                    lost.set()
                    return
                done = None
                if job is None:
                    released = True
                    return
                done = Done(job.id, forget=await self._run_job(job))
        finally:
            renewer.cancel()
            if done is not None:  # run, not yet finished: stopping, or the lease lost
                await self._finish(lane, done)
            if not released and not lost.is_set():
                await self._hand_over(lane, token)

    async def _finish(self, lane: str, done: Done) -> None:
        try:
            await self.store.finish(lane, done.job, forget=done.forget)
        except Exception:  # run again by the lane's next holder (tries counted)
            logger.exception("finishing a job of lane %s failed", lane)

    async def _hand_over(self, lane: str, token: str) -> None:
        """Give the lane up with work left (stopping, or a job cancelled): another worker
        takes it from its head."""
        try:
            await self.store.release(lane, token)
            if await self.store.has_work(lane):
                await self.redis.enqueue_job(RUN_LANE, lane)
        except Exception:  # the lease expires and the sweep finds the lane all the same
            logger.exception("handing lane %s over failed", lane)

    async def _renew(self, lane: str, token: str, lost: asyncio.Event) -> None:
        interval = self.store.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self.store.renew(lane, token)
            except Exception:
                logger.exception("renewing the lease of lane %s failed", lane)
                continue
            if not held:
                logger.error("the lease of lane %s ran out; another worker has it", lane)
                lost.set()
                return

    async def _run_job(self, job: Job) -> bool:
        """Run one job (or give it up); whether GitHub's redelivery of it may be accepted
        again (it failed, or was given up for its tries)."""
        context = event_context(job.data, event=job.event, delivery=job.delivery)
        with log_context(**context, worker=self.worker_id):
            if not job.authentic:
                # Written into Redis by something without the webhook secret: not run.
                logger.error("job dropped: its signature does not match (docs/security.md)")
                self.metrics.failed.inc(event=job.event)
                return False
            if job.tries > MAX_TRIES:
                logger.error(
                    "delivery given up: its worker stopped %d times while handling it",
                    job.tries - 1,
                )
                self.metrics.failed.inc(event=job.event)
                return True
            started = time.time()
            forget = False
            logger.debug("delivery started", extra={"tries": job.tries})
            try:
                await self.dispatch(Event(job.data, event=job.event, delivery_id=job.delivery))
            except asyncio.CancelledError:
                logger.warning("delivery interrupted at shutdown; it stays queued")
                raise
            except Exception:
                logger.exception("handling the delivery failed")
                self.metrics.failed.inc(event=job.event)
                forget = True
            else:
                self.metrics.handled.inc(event=job.event)
                logger.info(
                    "delivery handled",
                    extra={
                        "duration_ms": round((time.time() - started) * 1000, 1),
                        "waited_ms": round(started * 1000 - job.accepted_ms, 1),
                        "tries": job.tries,
                    },
                )
            return forget

    async def chores(self, sweep_seconds: float) -> None:
        """Heartbeat and, one worker of the fleet at a time, the sweep for orphan lanes."""
        while True:
            try:
                await self.store.heartbeat(self.worker_id)
                if not self.stopping and await self.store.fleet_lease(
                    "chores", self.worker_id, sweep_seconds * 0.9
                ):
                    for lane in await self.store.orphans(older_than_ms=ORPHAN_AFTER_MS):
                        logger.info("lane %s has work and no worker: ticket queued", lane)
                        await self.redis.enqueue_job(RUN_LANE, lane)
            except Exception:
                logger.exception("heartbeat or sweep failed")
            await asyncio.sleep(sweep_seconds)


async def run_lane(ctx: dict[str, Any], lane: str) -> None:
    """arq's job function: one ticket for one lane."""
    runner: LaneRunner = ctx[RUNNER]
    await runner.ticket(lane)


async def _reconcile(bot: Any, settings: Settings, store: Store, worker_id: str) -> None:
    """One reconcile pass per interval for the whole fleet: the worker that takes the lease
    runs it; the others look again a little later."""
    from bot.reconcile import Reconciler

    interval = settings.kepbot_reconcile_seconds
    reconciler = Reconciler(bot, grace=settings.kepbot_reconcile_grace_seconds)
    retry = min(interval, 60.0)
    while True:
        try:
            if await store.fleet_lease("reconcile", worker_id, interval):
                await reconciler.pass_once()
            else:
                logger.debug("reconcile: this interval's pass is another worker's")
        except Exception:  # a failed pass must not end the loop (docs/design.md I9)
            logger.exception("reconcile pass failed")
        await asyncio.sleep(retry)


async def serve(settings: Settings, dispatch: Dispatch | None = None) -> int:
    """Run a worker until SIGTERM or SIGINT; returns the exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    redis = await connect(settings)
    bot = None
    if dispatch is None:
        from bot.routing import Bot

        # The token, the caches and the rate-limit waits are the fleet's (fleet.py).
        bot = Bot(settings, client_options=client_options(redis, settings))
        await bot.start()
        dispatch = bot.dispatch
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    store = Store(
        redis, secret=settings.webhook_secret(), lease_seconds=settings.kepbot_lease_seconds
    )

    def room(free: bool) -> None:  # take tickets only while a lane slot is free
        worker.allow_pick_jobs = free

    runner = LaneRunner(
        store,
        redis,
        dispatch,
        worker_id=worker_id,
        metrics=default_metrics(),
        lanes_at_once=settings.kepbot_workers,
        on_room=room,
    )
    worker = Worker(
        [func(run_lane, name=RUN_LANE)],
        queue_name=QUEUE,
        redis_pool=redis,
        handle_signals=False,
        max_jobs=settings.kepbot_workers,
        job_timeout=TICKET_TIMEOUT_SECONDS,
        keep_result=0,
        poll_delay=0.1,
        max_tries=2,
        ctx={RUNNER: runner},
        job_serializer=dumps,
        job_deserializer=loads,
        log_results=False,
    )
    settle()  # started: what start-up built stays out of the collector's full passes
    tasks = [
        asyncio.create_task(worker.async_run(), name="kepbot-arq"),
        asyncio.create_task(runner.chores(settings.kepbot_lease_seconds / 4), name="kepbot-chores"),
    ]
    if bot is not None and settings.kepbot_reconcile_seconds > 0:
        tasks.append(
            asyncio.create_task(
                _reconcile(bot, settings, store, worker_id), name="kepbot-reconcile"
            )
        )
    logger.info(
        "worker ready", extra={"worker": worker_id, "lanes_at_once": settings.kepbot_workers}
    )
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if tasks[0] in done and not stopper.done():
        logger.error("the worker stopped: %s", tasks[0].exception())
        code = 1
    stopper.cancel()

    # Stop taking tickets; let the jobs running now finish within the drain time, then
    # interrupt the rest: their lanes are handed over with the job still queued.
    runner.stopping = True
    worker.allow_pick_jobs = False
    if runner.drains:
        logger.info("draining: %d lanes running", len(runner.drains))
        await asyncio.wait(set(runner.drains), timeout=settings.kepbot_drain_seconds)
    draining = list(runner.drains)
    for task in draining:
        task.cancel()
    await asyncio.gather(*draining, return_exceptions=True)
    for task in tasks[1:]:
        task.cancel()
    with contextlib.suppress(Exception):
        await store.leave(worker_id)
    with contextlib.suppress(Exception):
        await worker.close()  # cancels what is still running; its jobs stay queued
    if bot is not None:
        await bot.close()
    logger.info("stopped", extra={"worker": worker_id})
    return code


def main(*, dispatch: Dispatch | None = None) -> int:
    """The worker process; returns its exit status."""
    try:
        settings = Settings.from_env()
        settings.redis_url()
    except SettingsError as exc:
        print(f"kepbot worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    logging.getLogger("arq").setLevel(logging.WARNING)  # one line per delivery is ours
    try:
        return asyncio.run(serve(settings, dispatch))
    except (OSError, RedisError) as exc:
        logger.error("cannot reach Redis (KEPBOT_REDIS_URL): %s", exc)
        return 1
