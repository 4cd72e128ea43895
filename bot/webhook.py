"""The HTTP boundary of deliveries: size cap, signature, parsing, de-duplication, hand-off.

``POST /webhook`` reads at most ``max_body_bytes`` (413 above) within ``body_timeout`` seconds
(408 and the connection closed past it, so a client trickling its body holds nothing for
long), checks ``X-Hub-Signature-256``
before looking at the body (401), builds a ``gidgethub.sansio.Event`` (400 when malformed),
answers ``ping`` itself, drops repeated deliveries, and queues the rest on the worker pool
(202 at once; 503 with ``Retry-After`` when the queue is full, so GitHub records a failed
delivery that can be redelivered).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable

from aiohttp import web
from cachetools import TTLCache
from gidgethub import BadRequest
from gidgethub.sansio import Event

from bot.logs import event_context, log_context
from bot.metrics import Metrics
from bot.worker import WorkerPool

__all__ = ["WebhookReceiver", "signature_for"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"
RETRY_AFTER_SECONDS = 30
BODY_TIMEOUT_SECONDS = 10.0  # GitHub gives up on a delivery after 10 s
DEDUPE_TTL_SECONDS = 24 * 3600
DEDUPE_MAX_ENTRIES = 100_000

_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})\Z")
_HEADER_VALUE_LIMIT = 200

DedupeKey = tuple[str, str]


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _refusal(
    status: int, reason: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": reason, "message": message}, status=status, headers=headers)


def _short(value: str | None) -> str | None:
    return None if value is None else value[:_HEADER_VALUE_LIMIT]


class WebhookReceiver:
    """Turns signed webhook requests into queued events (the ``POST /webhook`` handler)."""

    def __init__(
        self,
        *,
        secret: bytes,
        max_body_bytes: int,
        pool: WorkerPool,
        metrics: Metrics,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        dedupe_ttl: float = DEDUPE_TTL_SECONDS,
        dedupe_max_entries: int = DEDUPE_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret
        self._max_body_bytes = max_body_bytes
        self._body_timeout = body_timeout
        self._pool = pool
        self._metrics = metrics
        self._seen: TTLCache[DedupeKey, bool] = TTLCache(
            maxsize=dedupe_max_entries, ttl=dedupe_ttl, timer=clock
        )

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery; never waits for its handling."""
        headers = request.headers
        with log_context(
            delivery=_short(headers.get("X-GitHub-Delivery")),
            event=_short(headers.get("X-GitHub-Event")),
        ):
            return await self._handle(request)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(self._body_timeout):
                body = await self._read_capped(request)
        except TimeoutError:
            response = self._reject(
                408,
                "slow",
                f"the body did not arrive within {self._body_timeout:g} s "
                "(KEPBOT_BODY_TIMEOUT_SECONDS)",
            )
            response.force_close()
            return response
        if body is None:
            response = self._reject(
                413,
                "oversize",
                f"the body is larger than {self._max_body_bytes} bytes "
                "(raise KEPBOT_MAX_BODY_BYTES if this delivery is genuine)",
            )
            response.force_close()
            return response

        problem = self._signature_problem(request, body)
        if problem is not None:
            return self._reject(401, "signature", problem)

        headers = request.headers
        event_name = headers.get("X-GitHub-Event", "").strip()
        delivery_id = headers.get("X-GitHub-Delivery", "").strip()
        hook_id = headers.get("X-GitHub-Hook-ID", "").strip()
        missing = [
            name
            for name, value in (
                ("X-GitHub-Event", event_name),
                ("X-GitHub-Delivery", delivery_id),
            )
            if not value
        ]
        if missing:
            return self._reject(
                400, "malformed", f"missing header {' and '.join(missing)}: not a GitHub delivery"
            )

        event_or_refusal = self._parse(request, body, event_name, delivery_id)
        if isinstance(event_or_refusal, web.Response):
            return event_or_refusal
        event = event_or_refusal

        with log_context(**event_context(event.data, event=event_name, delivery=delivery_id)):
            self._metrics.deliveries.inc(event=event_name)
            if event_name == "ping":
                logger.info("ping received", extra={"hook_id": hook_id or None})
                return web.json_response({"ok": True, "zen": event.data.get("zen")})

            key: DedupeKey = (hook_id, delivery_id)
            if key in self._seen:
                self._metrics.rejected.inc(reason="duplicate")
                logger.info("duplicate delivery dropped", extra={"hook_id": hook_id or None})
                return web.json_response({"duplicate": True, "delivery": delivery_id})

            if not self._pool.submit(event, on_failure=lambda: self._forget(key)):
                message = (
                    "the work queue is full; redeliver this delivery later"
                    if self._pool.accepting
                    else "the server is shutting down; redeliver this delivery later"
                )
                return self._reject(
                    503, "overloaded", message, {"Retry-After": str(RETRY_AFTER_SECONDS)}
                )
            self._seen[key] = True
            logger.debug("delivery queued")  # "delivery handled" follows at INFO
            return web.json_response({"queued": True, "delivery": delivery_id}, status=202)

    async def _read_capped(self, request: web.Request) -> bytes | None:
        """The body, or ``None`` as soon as it is known to exceed the cap."""
        limit = self._max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            return None
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    def _signature_problem(self, request: web.Request, body: bytes) -> str | None:
        values = request.headers.getall(SIGNATURE_HEADER, [])
        if not values:
            if LEGACY_SIGNATURE_HEADER in request.headers:
                return (
                    f"only the legacy {LEGACY_SIGNATURE_HEADER} (sha1) header was sent; "
                    f"kepbot requires {SIGNATURE_HEADER}"
                )
            return (
                f"missing {SIGNATURE_HEADER}: set the webhook secret of the App (or webhook) "
                "to the value of GITHUB_WEBHOOK_SECRET"
            )
        match = _SIGNATURE.match(values[0].strip()) if len(values) == 1 else None
        if match is None:
            return f"{SIGNATURE_HEADER} must be one 'sha256=' followed by 64 hex digits"
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), match.group(1).lower().encode()):
            return (
                f"{SIGNATURE_HEADER} does not match the body: check that the webhook secret "
                "equals GITHUB_WEBHOOK_SECRET"
            )
        return None

    def _parse(
        self, request: web.Request, body: bytes, event_name: str, delivery_id: str
    ) -> Event | web.Response:
        if request.content_type not in _CONTENT_TYPES:
            sent = request.headers.get("Content-Type")
            return self._reject(
                400,
                "malformed",
                f"unsupported Content-Type {sent!r}: configure the webhook to send "
                "application/json",
            )
        # The signature is already verified; hand gidgethub only what it needs to decode.
        headers = {
            "content-type": request.headers["Content-Type"],
            "x-github-event": event_name,
            "x-github-delivery": delivery_id,
        }
        try:
            event = Event.from_http(headers, body)
        except RecursionError:
            return self._reject(400, "malformed", "the JSON body is nested too deeply")
        except (BadRequest, ValueError, LookupError) as exc:
            cause = exc.__cause__ if isinstance(exc, BadRequest) and exc.__cause__ else exc
            return self._reject(400, "malformed", f"the body could not be decoded as JSON: {cause}")
        if not isinstance(event.data, dict):
            return self._reject(400, "malformed", "the body must be a JSON object")
        return event

    def _forget(self, key: DedupeKey) -> None:
        # A delivery whose handling failed may be redelivered from GitHub and run again.
        self._seen.pop(key, None)

    def _reject(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        self._metrics.rejected.inc(reason=reason)
        logger.warning("delivery rejected: %s", message, extra={"reason": reason, "status": status})
        return _refusal(status, reason, message, headers)
