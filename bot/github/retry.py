"""When a GitHub request is tried again, and how long to wait first.

Owns the retry policy (attempts, back-off, the longest rate-limit wait) and the reading of a
failed response: a 5xx of a request that is safe to repeat, a secondary rate limit (honour
`retry-after`, else wait a minute and back off), a primary rate limit (wait until
`x-ratelimit-reset` when that is close enough). It never sleeps itself.

Whether a POST or PATCH is safe to repeat (content-addressed git objects, a fast-forward-only
ref update, a new installation token...) is an argument of the write: `post(gh, url, ...,
retry_safe=True)` and `patch(...)` here send it through the caller's client and carry the
flag, for that one request, to the client's retry decision (`bot.github.client`); nothing of
it goes over the wire.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "is_retry_safe",
    "patch",
    "post",
    "rate_limit_delay",
    "retry_delay",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The `retry_safe` argument of the write being sent (`post`, `patch`), for the one request
# it makes: the client reads it as the request starts, in the same task.
_RETRY_SAFE: ContextVar[bool] = ContextVar("kepbot_retry_safe", default=False)

_SECONDARY_MARKERS = ("secondary rate limit", "abuse detection")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one request; every wait is in seconds."""

    attempts: int = 5  # tries in all, the first included
    base_delay: float = 1.0  # first back-off after a 5xx or a connection error
    max_delay: float = 60.0
    secondary_delay: float = 60.0  # first wait on a secondary limit without retry-after
    max_rate_limit_wait: float = 15 * 60.0  # a longer wait raises instead
    timeout: float = 30.0  # per attempt
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential back-off after failed attempt `attempt` (1-based), with half jitter."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay * (0.5 + float(self.jitter()) / 2)


def is_retry_safe(method: str) -> bool:
    """Whether the request starting now may be repeated: its method is idempotent, or it is
    a write sent with `retry_safe=True`."""
    return method.upper() in IDEMPOTENT_METHODS or _RETRY_SAFE.get()


async def _write(send: Callable[..., Awaitable[Any]], retry_safe: bool, **options: Any) -> Any:
    token = _RETRY_SAFE.set(retry_safe)
    try:
        return await send(**options)
    finally:
        _RETRY_SAFE.reset(token)


async def post(gh: Any, url: str, *, retry_safe: bool = False, **options: Any) -> Any:
    """`gh.post(url, **options)`; with `retry_safe`, the client may send it again after a
    5xx or a lost connection (a repeat must change nothing)."""
    return await _write(gh.post, retry_safe, url=url, **options)


async def patch(gh: Any, url: str, *, retry_safe: bool = False, **options: Any) -> Any:
    """`gh.patch(url, **options)`, with `retry_safe` as for `post`."""
    return await _write(gh.patch, retry_safe, url=url, **options)


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


def _says_secondary(body: bytes) -> bool:
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace")
    return any(marker in message.lower() for marker in _SECONDARY_MARKERS)


def rate_limit_delay(
    headers: Mapping[str, str], body: bytes, *, attempt: int, policy: RetryPolicy, now: float
) -> float | None:
    """The wait a 403/429 asks for; None when it is no rate limit or the wait is too long."""
    wait = _retry_after(headers, now)
    if wait is None and headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return None
        wait = max(reset - now, 0.0) + 1.0  # the reset is whole seconds; allow for skew
    if wait is None and _says_secondary(body):
        wait = policy.secondary_delay * 2 ** (attempt - 1)
    if wait is None or wait > policy.max_rate_limit_wait:
        return None
    return wait


def retry_delay(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    retry_safe: bool,
    attempt: int,
    policy: RetryPolicy,
    now: float,
) -> float | None:
    """Seconds to wait before trying again, or None to hand the response to the caller."""
    if attempt >= policy.attempts:
        return None
    if status in (403, 429):
        return rate_limit_delay(headers, body, attempt=attempt, policy=policy, now=now)
    if status >= 500 and retry_safe:
        after = _retry_after(headers, now)
        if after is None:
            return policy.backoff(attempt)
        return after if after <= policy.max_rate_limit_wait else None
    return None
