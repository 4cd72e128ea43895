"""The rate-limit wait shared by every worker of an installation (hosted mode).

When GitHub answers one worker 403 or 429 with a reset time or ``Retry-After``, the client
records in Redis until when the installation's requests wait (``kepbot:ratelimit:<label>``,
the label being the installation id, ``token`` or ``app``; the later of the time held and
the new one, in one Lua step), and every client of every worker reads it before each
request to GitHub (``bot.github.client.SharedWait``). A Redis that does not answer within
a second means no shared wait: the request goes on, and its own answer still says to wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.hosted.lanes import PREFIX

__all__ = ["RedisSharedWait", "wait_key"]

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
# The key outlives the wait by this much (then it is gone, and reading it costs nothing).
LINGER_SECONDS = 60.0

# The later of the time held and the new one; the key expires after both.
_HOLD = """
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


def wait_key(label: str) -> str:
    return f"{PREFIX}ratelimit:{label}"


class RedisSharedWait:
    """``SharedWait`` on the hosted mode's Redis."""

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self._clock = clock
        self._hold = redis.register_script(_HOLD)

    async def resume_at(self, key: str) -> float | None:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                raw = await self.redis.get(wait_key(key))
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("the shared rate-limit wait is unavailable: %s", exc)
            return None
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            return None

    async def hold_until(self, key: str, until: float) -> None:
        linger_ms = int((max(until - self._clock(), 0.0) + LINGER_SECONDS) * 1000)
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                if await self._hold(keys=[wait_key(key)], args=[repr(until), linger_ms]):
                    logger.info(
                        "GitHub rate limit (%s): every worker waits %.1fs",
                        key,
                        until - self._clock(),
                    )
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("the rate-limit wait could not be shared: %s", exc)
