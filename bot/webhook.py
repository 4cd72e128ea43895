"""The HTTP boundary of deliveries: size cap, signature, parsing, de-duplication, hand-off.

``POST /webhook`` reads at most ``max_body_bytes`` (413 above) within ``body_timeout`` seconds
(408 and the connection closed past it, so a client trickling its body holds nothing for
long), checks ``X-Hub-Signature-256``
before looking at the body (401), decodes the JSON object (400 when malformed), answers
``ping`` itself, drops repeated deliveries, and queues the rest on the worker pool
(202 at once; 503 with ``Retry-After`` when the queue is full, so GitHub records a failed
delivery that can be redelivered).

The acknowledgement is the hot path (docs/design.md S1): it sets no log context and writes
no log line unless it refuses a delivery; the worker pool logs one line per delivery
handled, with its context.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from gidgethub.sansio import Event

from bot.delivery_ids import DEDUPE_BUDGET_BYTES, DEDUPE_TTL_SECONDS, DeliveryIds
from bot.logs import event_context, log_context
from bot.metrics import Metrics
from bot.worker import WorkerPool

__all__ = ["Accept", "WebhookReceiver", "signature_for"]

# Hosted mode (bot.hosted.web): takes a verified delivery (event, delivery id, hook id,
# payload, and the payload as UTF-8 JSON to store) in place of the de-duplication and the
# pool, and answers it.
Accept = Callable[[str, str, str, dict[str, Any], bytes], Awaitable[web.Response]]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"
RETRY_AFTER_SECONDS = 30
BODY_TIMEOUT_SECONDS = 10.0  # GitHub gives up on a delivery after 10 s

_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})\Z")
_HEADER_VALUE_LIMIT = 200


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _refusal(
    status: int, reason: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": reason, "message": message}, status=status, headers=headers)


def _short(value: str | None) -> str | None:
    return None if value is None else value[:_HEADER_VALUE_LIMIT]


def _decode(content_type: str, charset: str | None, body: bytes) -> Any:
    """The JSON value of a delivery's body (raises ValueError or LookupError when malformed).

    A UTF-8 JSON body (every delivery GitHub sends) is decoded with orjson, which takes less
    than half the time of the standard library's decoder on the acknowledgement path
    (docs/design.md S1); what orjson refuses (a lone surrogate escape, which JSON allows, or
    a malformed body) goes to the standard decoder, which accepts the first and gives the
    second its usual error."""
    if not body:
        return None
    if content_type == "application/json" and (charset or "utf-8").lower() == "utf-8":
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    text = body.decode(charset or "utf-8")
    if content_type == "application/x-www-form-urlencoded":
        text = urllib.parse.parse_qs(text)["payload"][0]
    return json.loads(text)


def _as_json(content_type: str, charset: str | None, body: bytes, data: object) -> bytes:
    """The payload as UTF-8 JSON text: a UTF-8 JSON body as it is (`_decode` took it, so it
    is one), anything else serialized from its decoded value (ASCII, so that a lone
    surrogate survives)."""
    if content_type == "application/json" and (charset or "utf-8").lower() == "utf-8":
        return body
    return json.dumps(data, separators=(",", ":")).encode()


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
        dedupe_budget_bytes: int = DEDUPE_BUDGET_BYTES,
        clock: Callable[[], float] = time.monotonic,
        accept: Accept | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._accept = accept
        self._secret = secret
        self._max_body_bytes = max_body_bytes
        self._body_timeout = body_timeout
        self._pool = pool
        self._metrics = metrics
        self._recent = DeliveryIds(budget_bytes=dedupe_budget_bytes, ttl=dedupe_ttl, clock=clock)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery; never waits for its handling."""
        limit = self._max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            return self._oversize(request)
        content = request.content
        if content.is_eof():
            # The whole body came with the head (the usual case): nothing to wait for.
            body: bytes | None = content.read_nowait()
        else:
            try:
                async with asyncio.timeout(self._body_timeout):
                    body = await self._read_capped(request)
            except TimeoutError:
                response = self._reject(
                    request,
                    408,
                    "slow",
                    f"the body did not arrive within {self._body_timeout:g} s "
                    "(KEPBOT_BODY_TIMEOUT_SECONDS)",
                )
                response.force_close()
                return response
        if body is None or len(body) > limit:
            return self._oversize(request)

        problem = self._signature_problem(request, body)
        if problem is not None:
            return self._reject(request, 401, "signature", problem)

        headers = request.headers
        event_name = headers.get("X-GitHub-Event", "").strip()
        delivery_id = headers.get("X-GitHub-Delivery", "").strip()
        if not event_name or not delivery_id:
            missing = " and ".join(
                name
                for name, value in (
                    ("X-GitHub-Event", event_name),
                    ("X-GitHub-Delivery", delivery_id),
                )
                if not value
            )
            return self._reject(
                request, 400, "malformed", f"missing header {missing}: not a GitHub delivery"
            )
        if request.content_type not in _CONTENT_TYPES:
            sent = headers.get("Content-Type")
            return self._reject(
                request,
                400,
                "malformed",
                f"unsupported Content-Type {sent!r}: configure the webhook to send "
                "application/json",
            )
        try:
            data = _decode(request.content_type, request.charset, body)
        except RecursionError:
            return self._reject(request, 400, "malformed", "the JSON body is nested too deeply")
        except (ValueError, LookupError) as exc:
            return self._reject(
                request, 400, "malformed", f"the body could not be decoded as JSON: {exc}"
            )
        if not isinstance(data, dict):
            return self._reject(request, 400, "malformed", "the body must be a JSON object")

        self._metrics.deliveries.inc(event=event_name)
        hook_id = headers.get("X-GitHub-Hook-ID", "").strip()
        if event_name == "ping":
            with log_context(**event_context(data, event=event_name, delivery=delivery_id)):
                logger.info("ping received", extra={"hook_id": hook_id or None})
            return web.json_response({"ok": True, "zen": data.get("zen")})
        if self._accept is not None:  # hosted mode: Redis de-duplicates and queues
            payload = _as_json(request.content_type, request.charset, body, data)
            return await self._accept(event_name, delivery_id, hook_id, data, payload)

        if not self._recent.claim(hook_id, delivery_id):
            self._metrics.rejected.inc(reason="duplicate")
            with log_context(**event_context(data, event=event_name, delivery=delivery_id)):
                logger.info("duplicate delivery dropped", extra={"hook_id": hook_id or None})
            return web.json_response({"duplicate": True, "delivery": delivery_id})

        event = Event(data, event=event_name, delivery_id=delivery_id)
        if not self._pool.submit(
            event, on_failure=lambda: self._recent.forget(hook_id, delivery_id), size=len(body)
        ):
            self._recent.forget(hook_id, delivery_id)
            message = (
                "the work queue is full; redeliver this delivery later"
                if self._pool.accepting
                else "the server is shutting down; redeliver this delivery later"
            )
            return self._reject(
                request,
                503,
                "overloaded",
                message,
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
                context=event_context(data, event=event_name, delivery=delivery_id),
            )
        # The worker pool logs "delivery handled" with the delivery's context.
        return web.Response(
            body=b'{"queued": true, "delivery": %s}' % json.dumps(delivery_id).encode(),
            status=202,
            content_type="application/json",
            charset="utf-8",
        )

    async def _read_capped(self, request: web.Request) -> bytes | None:
        """The body, or ``None`` as soon as it is known to exceed the cap."""
        limit = self._max_body_bytes
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    def _oversize(self, request: web.Request) -> web.Response:
        response = self._reject(
            request,
            413,
            "oversize",
            f"the body is larger than {self._max_body_bytes} bytes "
            "(raise KEPBOT_MAX_BODY_BYTES if this delivery is genuine)",
        )
        response.force_close()
        return response

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
        expected = hmac.digest(self._secret, body, "sha256")
        if not hmac.compare_digest(expected, bytes.fromhex(match.group(1))):
            return (
                f"{SIGNATURE_HEADER} does not match the body: check that the webhook secret "
                "equals GITHUB_WEBHOOK_SECRET"
            )
        return None

    def _reject(
        self,
        request: web.Request,
        status: int,
        reason: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        context: dict[str, object] | None = None,
    ) -> web.Response:
        self._metrics.rejected.inc(reason=reason)
        if context is None:  # what the request claims to be, before it is decoded
            context = {
                "delivery": _short(request.headers.get("X-GitHub-Delivery")),
                "event": _short(request.headers.get("X-GitHub-Event")),
            }
        with log_context(**context):
            logger.warning(
                "delivery rejected: %s", message, extra={"reason": reason, "status": status}
            )
        return _refusal(status, reason, message, headers)
