"""Background work: a bounded queue of deliveries, worker tasks, per-PR ordering, draining.

Deliveries about the same pull request or issue run one after the other in arrival order;
others run concurrently on up to ``workers`` tasks. A failing handler is logged and counted and
never stops a worker. ``drain`` finishes what it can before a deadline and cancels the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.logs import event_context, log_context
from bot.metrics import Metrics
from bot.settings import DEFAULT_QUEUE_BYTES

__all__ = ["Dispatch", "Job", "WorkerPool", "ordering_key"]

logger = logging.getLogger(__name__)

# ``gidgethub.sansio.Event`` (untyped): ``.event``, ``.delivery_id``, ``.data``.
Event = Any
Dispatch = Callable[[Event], Awaitable[None]]

# How long cancelled workers get to unwind before drain gives up on them.
_CANCEL_GRACE_SECONDS = 5.0


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def ordering_key(data: object) -> str | None:
    """``owner/repo#N`` for a payload about pull request or issue N, else ``None``."""
    # `dict` first: decoded payloads are dicts, and the check against the ABC alone costs
    # several times as much (this runs for every delivery).
    if not isinstance(data, (dict, Mapping)):
        return None
    repository = data.get("repository")
    if not isinstance(repository, (dict, Mapping)):
        return None
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or not full_name:
        return None
    number: int | None = None
    for field_name in ("pull_request", "issue"):
        item = data.get(field_name)
        if isinstance(item, (dict, Mapping)):
            number = _number(item.get("number"))
            if number is not None:
                break
    if number is None:
        for field_name in ("check_run", "check_suite"):
            item = data.get(field_name)
            pulls = item.get("pull_requests") if isinstance(item, (dict, Mapping)) else None
            if isinstance(pulls, list) and pulls and isinstance(pulls[0], (dict, Mapping)):
                number = _number(pulls[0].get("number"))
                if number is not None:
                    break
    return None if number is None else f"{full_name}#{number}"


@dataclass(eq=False, slots=True)
class Job:
    """One accepted delivery waiting for, or being handled by, a worker."""

    event: Event
    key: str | None
    on_failure: Callable[[], None] | None = None
    size: int = 0  # the bytes of the delivery's body, counted against the queue's bound
    accepted_at: float = field(default_factory=time.monotonic)

    @property
    def delivery_id(self) -> str:
        return str(self.event.delivery_id)

    def context(self) -> dict[str, object]:
        return event_context(self.event.data, event=self.event.event, delivery=self.delivery_id)


class WorkerPool:
    """A bounded queue drained by ``workers`` tasks running the injected ``dispatch``."""

    def __init__(
        self,
        dispatch: Dispatch,
        *,
        workers: int = 8,
        queue_size: int = 1000,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        metrics: Metrics | None = None,
    ) -> None:
        if workers < 1 or queue_size < 1 or queue_bytes < 1:
            raise ValueError("workers, queue_size and queue_bytes must be at least 1")
        self._dispatch = dispatch
        self._worker_count = workers
        self._queue_size = queue_size
        self._queue_bytes = queue_bytes
        self._pending_bytes = 0
        self._metrics = metrics if metrics is not None else Metrics()
        self._queue: asyncio.Queue[Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Keys being handled now, each with the jobs that arrived for it meanwhile.
        self._lanes: dict[str, deque[Job]] = {}
        self._running: set[Job] = set()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._accepting = False
        self._stopping = False

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def queue_depth(self) -> int:
        """Jobs accepted and not started yet."""
        return self._pending

    @property
    def in_flight(self) -> int:
        return len(self._running)

    @property
    def tracked_keys(self) -> int:
        """Ordering keys with work running or waiting (idle keys are forgotten)."""
        return len(self._lanes)

    async def start(self) -> None:
        """Start the worker tasks on the running loop."""
        if self._tasks:
            raise RuntimeError("the worker pool is already started")
        self._queue = asyncio.Queue()
        for index in range(self._worker_count):
            task = asyncio.create_task(self._work(), name=f"kepbot-worker-{index}")
            task.add_done_callback(self._worker_done)
            self._tasks.append(task)
        self._accepting = True

    def submit(
        self, event: Event, *, on_failure: Callable[[], None] | None = None, size: int = 0
    ) -> bool:
        """Queue a delivery of `size` bytes; ``False`` when the queue is full (by count or
        by bytes; one delivery always fits an empty queue) or the pool is not accepting.

        ``on_failure`` is called if the delivery's handling raises or is cancelled.
        """
        if not self._accepting or self._queue is None or self._pending >= self._queue_size:
            return False
        if self._pending and self._pending_bytes + size > self._queue_bytes:
            return False
        self._queue.put_nowait(Job(event, ordering_key(event.data), on_failure, size))
        self._pending += 1
        self._pending_bytes += size
        self._idle.clear()
        self._metrics.queue_depth.set(self._pending)
        return True

    async def drain(self, deadline_seconds: float) -> list[str]:
        """Stop accepting, wait for queued and running work up to the deadline, cancel the rest.

        Returns the delivery ids that were cancelled.
        """
        self._accepting = False
        if not self._tasks or self._stopping:
            return []
        self._stopping = True
        if not self._idle.is_set():
            logger.info(
                "draining: waiting up to %ss for %d queued and %d running deliveries",
                deadline_seconds,
                self._pending,
                len(self._running),
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline_seconds):
                    await self._idle.wait()
        not_started = self._take_waiting_jobs()
        running = list(self._running)
        for task in self._tasks:
            task.cancel()
        _, stuck = await asyncio.wait(self._tasks, timeout=_CANCEL_GRACE_SECONDS)
        if stuck:
            logger.error("%d workers did not stop after cancellation", len(stuck))
        for job in not_started:
            with log_context(**job.context()):
                logger.warning("delivery cancelled at shutdown before it started")
            self._failed(job)
        cancelled = [job.delivery_id for job in running + not_started]
        self._pending = self._pending_bytes = 0
        self._update_gauges()
        logger.info(
            "drained: %d deliveries cancelled",
            len(cancelled),
            extra={"cancelled": cancelled},
        )
        return cancelled

    def _take_waiting_jobs(self) -> list[Job]:
        jobs: list[Job] = []
        if self._queue is not None:
            while not self._queue.empty():
                jobs.append(self._queue.get_nowait())
        for lane in self._lanes.values():
            jobs.extend(lane)
            lane.clear()
        jobs.sort(key=lambda job: job.accepted_at)
        return jobs

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            key = job.key
            if key is None:
                await self._run(job)
                continue
            # No await between taking a job and claiming its key: jobs with the same key are
            # claimed in arrival order, and the worker holding a key runs them in that order.
            if key in self._lanes:
                self._lanes[key].append(job)
                continue
            lane = self._lanes[key] = deque()
            try:
                await self._run(job)
                while lane:
                    await self._run(lane.popleft())
            finally:
                del self._lanes[key]

    async def _run(self, job: Job) -> None:
        self._pending -= 1
        self._pending_bytes -= job.size
        self._running.add(job)
        self._update_gauges()
        event_name = str(job.event.event)
        started = time.monotonic()
        with log_context(**job.context()):
            try:
                await self._dispatch(job.event)
            except asyncio.CancelledError:
                logger.warning("delivery cancelled at shutdown while running")
                self._failed(job)
                raise
            except Exception:
                logger.exception("handling the delivery failed")
                self._failed(job)
            else:
                self._metrics.handled.inc(event=event_name)
                logger.info(
                    "delivery handled",
                    extra={
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                        "waited_ms": round((started - job.accepted_at) * 1000, 1),
                    },
                )
            finally:
                self._running.discard(job)
                if self._pending == 0 and not self._running:
                    self._idle.set()
                self._metrics.in_flight.set(len(self._running))

    def _failed(self, job: Job) -> None:
        self._metrics.failed.inc(event=str(job.event.event))
        if job.on_failure is not None:
            try:
                job.on_failure()
            except Exception:
                logger.exception("the failure callback of a delivery raised")

    def _update_gauges(self) -> None:
        self._metrics.queue_depth.set(self._pending)
        self._metrics.in_flight.set(len(self._running))

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("worker %s stopped", task.get_name(), exc_info=task.exception())
