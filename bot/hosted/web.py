"""The web process of hosted mode: deliveries answered 202 once they are durable in Redis.

The receiver (``bot.webhook``) checks size, signature and JSON as in one-process mode and
hands each delivery (its payload decoded, and as the JSON text to store) to
``HostedWeb.accept``, which de-duplicates it across every web process, queues it in its
pull request's lane and enqueues the arq ticket that wakes a worker, in one Redis step,
then answers. A delivery Redis does not take, or would take past the bound on the bytes
queued there (``KEPBOT_REDIS_QUEUE_BYTES``), is answered 503 with ``Retry-After``, so
GitHub records a failure it can redeliver; nothing is answered 202 that is not in Redis
with its ticket.
``/healthz`` and ``/metrics`` read from Redis the queue's depth, its oldest job's age, the
live workers and what Redis holds within its bounds: the payload bytes queued and each
shared cache space's bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import prometheus_client
from aiohttp import web
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from bot.hosted.connect import connect
from bot.hosted.fleet import client_options
from bot.hosted.lanes import ACCEPT_TIMEOUT_SECONDS, QueueFull, Store
from bot.hosted.shared_cache import spaces_used
from bot.logs import event_context, log_context
from bot.metrics import Metrics
from bot.settings import Settings
from bot.worker import ordering_key

__all__ = ["HostedWeb"]

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
STATS_TIMEOUT_SECONDS = 2.0  # /healthz answers even when Redis does not


class HostedWeb:
    """What a web process of hosted mode adds to the app: acceptance, queue figures."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._redis: ArqRedis | None = None
        self._store: Store | None = None
        # The GitHub client options of the process's pipeline page, filled once Redis is
        # open: its token, caches and rate-limit waits are the fleet's (bot/hosted/fleet.py).
        self.client_options: dict[str, Any] = {}
        self._oldest = prometheus_client.Gauge(
            "kepbot_queue_oldest_age_seconds",
            "Age of the oldest delivery queued in Redis and not finished (hosted mode).",
            registry=metrics.registry,
        )
        self._workers = prometheus_client.Gauge(
            "kepbot_workers",
            "Worker processes that reported within the lease time (hosted mode).",
            registry=metrics.registry,
        )
        self._queued_bytes = prometheus_client.Gauge(
            "kepbot_redis_queued_bytes",
            "Payload bytes of the deliveries queued in Redis (hosted mode; bounded by "
            "KEPBOT_REDIS_QUEUE_BYTES).",
            registry=metrics.registry,
        )
        self._cache_bytes = prometheus_client.Gauge(
            "kepbot_shared_cache_bytes",
            "Bytes held by each space of the caches the fleet shares in Redis (hosted mode).",
            ["space"],
            registry=metrics.registry,
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """For aiohttp's cleanup_ctx: the Redis pool, opened at start and closed at stop."""
        try:
            self._redis = await connect(self._settings)
        except RedisError as exc:
            raise OSError(f"cannot reach Redis (KEPBOT_REDIS_URL): {exc}") from exc
        self._store = Store(
            self._redis,
            secret=self._settings.webhook_secret(),
            lease_seconds=self._settings.kepbot_lease_seconds,
            queue_bytes=self._settings.kepbot_redis_queue_bytes,
        )
        self.client_options.update(client_options(self._redis, self._settings))
        logger.info("hosted mode: deliveries are queued in Redis for the worker processes")
        yield
        await self._redis.aclose()
        self._redis = self._store = None
        self.client_options.clear()

    async def accept(
        self, event: str, delivery: str, hook: str, data: dict[str, Any], payload: bytes
    ) -> web.Response:
        """Queue one verified delivery (``payload``: ``data`` as UTF-8 JSON) in Redis: 202
        once it is there, 200 for a repeat, 503 when Redis cannot take it or its queue is
        full."""
        store = self._store
        try:
            if store is None:
                raise RedisError("the Redis connection is not open")
            async with asyncio.timeout(ACCEPT_TIMEOUT_SECONDS):
                lane = await store.accept(
                    event=event,
                    delivery=delivery,
                    hook=hook,
                    payload=payload,
                    ordering_key=ordering_key(data),
                )
        except UnicodeEncodeError:  # an id header that is not text
            self._metrics.rejected.inc(reason="malformed")
            return web.json_response(
                {"error": "malformed", "message": "the delivery's headers are not UTF-8 text"},
                status=400,
            )
        except QueueFull as full:
            message = (
                f"the queue in Redis is full: {full.queued} bytes queued, at most "
                f"{full.bound} (KEPBOT_REDIS_QUEUE_BYTES); are the workers running? "
                "Redeliver this delivery later"
            )
            return self._refuse(message, message, data, event, delivery)
        except (RedisError, OSError, TimeoutError) as exc:
            # A timeout may come after Redis took the delivery: GitHub's redelivery is
            # then answered as a repeat, and the delivery runs once.
            message = "the queue (Redis) is unavailable; redeliver this delivery later"
            reason = f"Redis did not take it: {exc}"
            return self._refuse(message, reason, data, event, delivery)
        if lane is None:
            self._metrics.rejected.inc(reason="duplicate")
            with log_context(**event_context(data, event=event, delivery=delivery)):
                logger.info("duplicate delivery dropped", extra={"hook_id": hook or None})
            return web.json_response({"duplicate": True, "delivery": delivery})
        return web.Response(
            body=b'{"queued": true, "delivery": %s}' % json.dumps(delivery).encode(),
            status=202,
            content_type="application/json",
            charset="utf-8",
        )

    def _refuse(
        self, message: str, reason: str, data: dict[str, Any], event: str, delivery: str
    ) -> web.Response:
        """503 with ``Retry-After`` (GitHub records a failure it can redeliver), ``message``
        in its body; ``reason`` is logged."""
        self._metrics.rejected.inc(reason="overloaded")
        with log_context(**event_context(data, event=event, delivery=delivery)):
            logger.error("delivery refused: %s", reason)
        return web.json_response(
            {"error": "overloaded", "message": message},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def stats(self) -> dict[str, object]:
        """The queue's figures for /healthz; the gauges of /metrics are set from them."""
        store = self._store
        try:
            if store is None:
                raise RedisError("the Redis connection is not open")
            async with asyncio.timeout(STATS_TIMEOUT_SECONDS):
                figures = await store.stats()
                cached = await spaces_used(store.redis)
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("queue figures unavailable: %s", exc)
            return {"mode": "hosted", "redis": "unreachable"}
        self._metrics.queue_depth.set(figures.depth)
        self._oldest.set(figures.oldest_age_seconds)
        self._workers.set(figures.workers)
        self._queued_bytes.set(figures.queued_bytes)
        for space, used in cached.items():
            self._cache_bytes.labels(space=space).set(used)
        return {
            "mode": "hosted",
            "redis": "ok",
            "queue_depth": figures.depth,
            "oldest_job_age_seconds": figures.oldest_age_seconds,
            "workers": figures.workers,
            "queued_bytes": figures.queued_bytes,
            "shared_cache_bytes": cached,
        }
