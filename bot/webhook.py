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
from array import array
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from gidgethub.sansio import Event

from bot.logs import event_context, log_context
from bot.metrics import Metrics
from bot.worker import WorkerPool

__all__ = ["DEDUPE_BUDGET_BYTES", "Accept", "DeliveryIds", "WebhookReceiver", "signature_for"]

# Hosted mode (bot.hosted.web): takes a verified delivery (event, delivery id, hook id,
# payload) in place of the de-duplication and the pool, and answers it.
Accept = Callable[[str, str, str, dict[str, Any]], Awaitable[web.Response]]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"
RETRY_AFTER_SECONDS = 30
BODY_TIMEOUT_SECONDS = 10.0  # GitHub gives up on a delivery after 10 s
DEDUPE_TTL_SECONDS = 24 * 3600

# What remembering one delivery costs in `DeliveryIds`: a 16-byte key and a 4-byte ring
# position in a hash table kept at most half full (2 slots x 20 bytes), and in the ring of
# arrival order the key again (16 bytes) and its arrival time (8 bytes): 40 + 24 = 64 bytes.
DEDUPE_BYTES_PER_ID = 2 * (16 + 4) + 16 + 8
# The four buffers' object headers and the table object itself, within this.
_DEDUPE_FIXED_BYTES = 2048
# The whole de-duplication table, allocated once: (4 MiB - 2 KiB) / 64 bytes = 65,504
# deliveries, so 24 hours of them (DEDUPE_TTL_SECONDS) up to 45 a minute. Past that rate
# the oldest are forgotten before their 24 hours: memory stays at 4 MiB whatever the rate
# (it was about 330 bytes a delivery, up to 33 MB, in a TTLCache of header strings).
DEDUPE_BUDGET_BYTES = 4 * 1024 * 1024

_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})\Z")
_HEADER_VALUE_LIMIT = 200
_KEY_BYTES = 16
_EMPTY_KEY = bytes(_KEY_BYTES)


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _refusal(
    status: int, reason: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": reason, "message": message}, status=status, headers=headers)


def _short(value: str | None) -> str | None:
    return None if value is None else value[:_HEADER_VALUE_LIMIT]


def _delivery_key(hook_id: str, delivery_id: str) -> bytes:
    """16 bytes that stand for the pair: a BLAKE2b digest, whatever the ids look like.

    GitHub's delivery ids are GUIDs, but any string is accepted. Two of the 65,504 pairs kept
    share a digest with a probability below 2**-96; a redelivery always has the same digest.
    """
    digest = hashlib.blake2b(
        f"{hook_id}\n{delivery_id}".encode("utf-8", "surrogateescape"), digest_size=_KEY_BYTES
    ).digest()
    return digest if digest != _EMPTY_KEY else b"\x01" + digest[1:]  # all zeros marks a free slot


class DeliveryIds:
    """The deliveries accepted lately, in a fixed number of bytes (``budget_bytes``).

    A delivery is remembered for ``ttl`` seconds or until ``capacity`` later ones push it
    out, whichever comes first. Everything is allocated here, once: remembering more
    deliveries never takes more memory. Keys live in an open-addressing hash table with
    linear probing (at most half full, so a lookup reads about two slots) and, in arrival
    order, in a ring that says which one to forget next and when.
    """

    def __init__(
        self,
        *,
        budget_bytes: int = DEDUPE_BUDGET_BYTES,
        ttl: float = DEDUPE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        capacity = (budget_bytes - _DEDUPE_FIXED_BYTES) // DEDUPE_BYTES_PER_ID
        if capacity < 1:
            raise ValueError(f"a de-duplication budget of {budget_bytes} bytes holds no delivery")
        self.capacity = capacity
        self._ttl = ttl
        self._clock = clock
        self._slots = 2 * capacity
        self._table = bytearray(_KEY_BYTES * self._slots)  # all zeros: a free slot
        self._table_position = array("I", [0]) * self._slots  # each key's place in the ring
        self._ring = bytearray(_KEY_BYTES * capacity)
        self._ring_time = array("d", [0.0]) * capacity
        self._oldest = 0  # ring position of the oldest entry
        self._entries = 0  # ring positions in use (a forgotten key keeps its place)
        self._live = 0  # keys in the table

    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        """The bytes of the table's buffers (fixed at creation)."""
        return (
            sum(len(buffer) * buffer.itemsize for buffer in (self._table_position, self._ring_time))
            + len(self._table)
            + len(self._ring)
        )

    def claim(self, hook_id: str, delivery_id: str) -> bool:
        """Remember a delivery; ``False`` when it is remembered already (a repeat)."""
        now = self._clock()
        self._expire(now)
        key = _delivery_key(hook_id, delivery_id)
        slot = self._find(key)
        if slot >= 0:
            return False
        if self._entries == self.capacity:
            self._drop_oldest()
            slot = self._find(key)  # dropping may have moved the free slot found
        position = (self._oldest + self._entries) % self.capacity
        self._entries += 1
        self._ring[position * _KEY_BYTES : (position + 1) * _KEY_BYTES] = key
        self._ring_time[position] = now
        free = ~slot
        self._table[free * _KEY_BYTES : (free + 1) * _KEY_BYTES] = key
        self._table_position[free] = position
        self._live += 1
        return True

    def seen(self, hook_id: str, delivery_id: str) -> bool:
        """Whether the delivery is remembered."""
        self._expire(self._clock())
        return self._find(_delivery_key(hook_id, delivery_id)) >= 0

    def forget(self, hook_id: str, delivery_id: str) -> None:
        """Forget a delivery, so that its redelivery is accepted."""
        slot = self._find(_delivery_key(hook_id, delivery_id))
        if slot >= 0:
            self._remove(slot)

    def _home(self, key: bytes | bytearray) -> int:
        return int.from_bytes(key[:8], "little") % self._slots

    def _find(self, key: bytes) -> int:
        """The slot holding ``key``, or ``~slot`` of the free slot where it would go."""
        table, slots = self._table, self._slots
        slot = self._home(key)
        while True:
            start = slot * _KEY_BYTES
            held = table[start : start + _KEY_BYTES]
            if held == key:
                return slot
            if held == _EMPTY_KEY:
                return ~slot
            slot = slot + 1 if slot + 1 < slots else 0

    def _remove(self, slot: int) -> None:
        """Empty ``slot``, moving back the keys after it that would no longer be found."""
        table, positions, slots = self._table, self._table_position, self._slots
        hole = slot
        probe = slot
        while True:
            probe = probe + 1 if probe + 1 < slots else 0
            start = probe * _KEY_BYTES
            held = table[start : start + _KEY_BYTES]
            if held == _EMPTY_KEY:
                break
            home = self._home(held)
            # The key at `probe` may fill the hole unless its home lies after the hole,
            # cyclically up to `probe` (then a lookup starting at its home never sees the hole).
            if (home <= hole < probe) or (probe < home <= hole) or (hole < probe < home):
                table[hole * _KEY_BYTES : (hole + 1) * _KEY_BYTES] = held
                positions[hole] = positions[probe]
                hole = probe
        table[hole * _KEY_BYTES : (hole + 1) * _KEY_BYTES] = _EMPTY_KEY
        self._live -= 1

    def _drop_oldest(self) -> None:
        position = self._oldest
        key = bytes(self._ring[position * _KEY_BYTES : (position + 1) * _KEY_BYTES])
        slot = self._find(key)
        # A key forgotten and claimed again has a newer place in the ring: keep it.
        if slot >= 0 and self._table_position[slot] == position:
            self._remove(slot)
        self._oldest = position + 1 if position + 1 < self.capacity else 0
        self._entries -= 1

    def _expire(self, now: float) -> None:
        cutoff = now - self._ttl
        times = self._ring_time
        while self._entries and times[self._oldest] <= cutoff:
            self._drop_oldest()


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
            return await self._accept(event_name, delivery_id, hook_id, data)

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
