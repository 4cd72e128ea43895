"""The aiohttp application: routes, app state and the worker pool's lifecycle.

``create_app(settings, dispatch)`` wires ``POST /webhook``, ``GET /healthz`` and
``GET /metrics``; the worker pool starts with the app and is drained on shutdown within
``KEPBOT_DRAIN_SECONDS``. ``bot.serving`` serves it with the limits on slow and numerous
clients.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web

from bot import __version__
from bot.metrics import CONTENT_TYPE, Metrics, default_metrics
from bot.settings import Settings
from bot.webhook import Accept, WebhookReceiver
from bot.worker import Dispatch, WorkerPool

__all__ = ["METRICS", "POOL", "QUEUE_STATS", "SETTINGS", "STARTED_AT", "create_app"]

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", WorkerPool)
METRICS = web.AppKey("metrics", Metrics)
STARTED_AT = web.AppKey("started_at", float)
# Hosted mode: the queue's figures (depth, oldest job, workers) as read from Redis.
QueueStats = Callable[[], Awaitable[dict[str, object]]]
QUEUE_STATS: web.AppKey[QueueStats] = web.AppKey("queue_stats")


Lifecycle = Callable[[web.Application], AsyncIterator[None]]


def create_app(
    settings: Settings,
    dispatch: Dispatch,
    *,
    metrics: Metrics | None = None,
    contexts: Sequence[Lifecycle] = (),
    accept: Accept | None = None,
    queue_stats: QueueStats | None = None,
) -> web.Application:
    """Build the application; ``dispatch`` handles each queued delivery in the background.

    ``metrics`` defaults to the process-wide registry (the one the GitHub client records in).
    ``contexts`` (such as the Bot's HTTP session) start before the workers and close after
    the workers have drained. In hosted mode ``accept`` queues each verified delivery in
    Redis instead of the pool, and ``queue_stats`` reports that queue (bot.hosted.web).
    """
    metrics = metrics if metrics is not None else default_metrics()
    pool = WorkerPool(
        dispatch,
        workers=settings.kepbot_workers,
        queue_size=settings.kepbot_queue_size,
        queue_bytes=settings.kepbot_queue_bytes,
        metrics=metrics,
    )
    receiver = WebhookReceiver(
        secret=settings.webhook_secret(),
        max_body_bytes=settings.kepbot_max_body_bytes,
        body_timeout=settings.kepbot_body_timeout_seconds,
        pool=pool,
        metrics=metrics,
        accept=accept,
    )
    app = web.Application(client_max_size=settings.kepbot_max_body_bytes)
    app[SETTINGS] = settings
    app[POOL] = pool
    app[METRICS] = metrics
    app[STARTED_AT] = time.monotonic()
    if queue_stats is not None:
        app[QUEUE_STATS] = queue_stats
    app.router.add_post("/webhook", receiver.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.cleanup_ctx.extend(contexts)
    app.cleanup_ctx.append(_worker_lifecycle)
    return app


async def _worker_lifecycle(app: web.Application) -> AsyncIterator[None]:
    pool = app[POOL]
    await pool.start()
    yield
    await pool.drain(app[SETTINGS].kepbot_drain_seconds)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: answers from the event loop alone, whatever the handlers are doing."""
    app = request.app
    pool = app[POOL]
    body: dict[str, object] = {
        "status": "ok",
        "version": __version__,
        "accepting": pool.accepting,
        "queue_depth": pool.queue_depth,
        "in_flight": pool.in_flight,
        "uptime_seconds": round(time.monotonic() - app[STARTED_AT], 3),
    }
    queue_stats = app.get(QUEUE_STATS)
    if queue_stats is not None:  # hosted mode: the queue is Redis's, the work the workers'
        del body["in_flight"]
        body.update(await queue_stats())
    return web.json_response(body)


async def metrics_view(request: web.Request) -> web.Response:
    """The Prometheus exposition of the app's metrics."""
    queue_stats = request.app.get(QUEUE_STATS)
    if queue_stats is not None:  # sets the queue's gauges from Redis
        await queue_stats()
    body = request.app[METRICS].render()
    return web.Response(body=body.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})
