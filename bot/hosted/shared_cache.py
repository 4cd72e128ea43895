"""The caches every worker of a fleet shares, in Redis, each bounded in bytes (hosted mode).

`RedisSharedCache` is `bot.github.caches.SharedCache` on the hosted mode's Redis. Each
space (``etag``, ``blob``, ``config``, ``label``; their limits are in
``bot/github/caches.py``) is five keys, so that one Lua step reads or changes it whole:

- ``kepbot:cache:<space>:values`` and ``:tags``: hashes, key → value and key → tag;
- ``:sizes``: a hash, key → what the entry weighs (its key, tag and value, plus
  ``SHARED_ENTRY_BYTES``);
- ``:written``: a sorted set, key → the order of its last write (``:writes`` counts them);
- ``:bytes``: the sum of ``:sizes``.

A put that takes the space over its limit removes the least recently written entries until
it fits; an entry larger than the whole space is not kept. Reads write nothing: with the
append-only file synced on every write, a read that wrote would cost Redis a disk sync per
request to GitHub. Nothing expires by time: an ETag's answer is checked by GitHub on every
use, a blob never changes, and a configuration or a label carries the time it was read.
Redis must not evict keys itself (``maxmemory-policy noeviction``: the queue lives there
too); these limits are what bound the caches.

Every value is stored behind an HMAC of its space, key, tag and value under a key derived
from the webhook secret, and one that does not match is a miss (logged): a process that can
write to Redis but does not hold the secret cannot make a worker act on an answer GitHub
never gave or a configuration nobody wrote (docs/security.md).

A Redis that does not answer within ``TIMEOUT_SECONDS`` is a miss and a put not kept
(logged at most once a minute): the worker asks GitHub as a lone process would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.github.caches import SHARED_BYTES, SHARED_ENTRY_BYTES, SharedEntry, Space
from bot.hosted.lanes import PREFIX
from bot.settings import Settings

__all__ = ["RedisSharedCache", "shared_cache", "space_keys", "spaces_used"]

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
WARN_EVERY_SECONDS = 60.0
MAC_BYTES = 32

ROLES = ("values", "tags", "sizes", "written", "bytes", "writes")

# KEYS: the ROLES. ARGV: key, tag, value, limit, overhead. The order of writes is a counter,
# not a clock: two writes in one millisecond still have an order.
_PUT = """
local size = #ARGV[1] + #ARGV[2] + #ARGV[3] + tonumber(ARGV[5])
local limit = tonumber(ARGV[4])
if size > limit then return 0 end
local before = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], size)
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[6]), ARGV[1])
local total = redis.call('INCRBY', KEYS[5], size - before)
while total > limit do
  local oldest = redis.call('ZPOPMIN', KEYS[4])
  if #oldest == 0 then break end
  local gone = tonumber(redis.call('HGET', KEYS[3], oldest[1]) or '0')
  redis.call('HDEL', KEYS[1], oldest[1])
  redis.call('HDEL', KEYS[2], oldest[1])
  redis.call('HDEL', KEYS[3], oldest[1])
  total = redis.call('DECRBY', KEYS[5], gone)
end
return 1
"""

# KEYS: values, tags. ARGV: key, the tag the caller holds.
_GET = """
local tag = redis.call('HGET', KEYS[2], ARGV[1])
if not tag then return false end
if tag == ARGV[2] then return {tag} end
return {tag, redis.call('HGET', KEYS[1], ARGV[1])}
"""


def space_keys(space: Space) -> Mapping[str, str]:
    """The Redis keys of one space, by role."""
    base = f"{PREFIX}cache:{space}:"
    return {role: base + role for role in ROLES}


class RedisSharedCache:
    """``SharedCache`` on Redis, within the limits ``limits`` (by default the documented
    ones, ``bot.github.caches.SHARED_BYTES``)."""

    def __init__(
        self,
        redis: Redis,
        *,
        secret: bytes,
        limits: Mapping[Space, int] = SHARED_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self._mac_key = hmac.digest(secret, b"kepbot shared caches", hashlib.sha256)
        self.limits = dict(limits)
        self._put = redis.register_script(_PUT)
        self._get = redis.register_script(_GET)
        self._clock = clock
        self._warned_at: float | None = None

    async def get(self, space: Space, key: str, *, known_tag: str = "") -> SharedEntry | None:
        keys = space_keys(space)
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                found = await self._get(
                    keys=[keys["values"], keys["tags"]],
                    args=[key, known_tag],
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable(exc)
            return None
        if not found:
            return None
        tag = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
        if len(found) < 2:
            return SharedEntry(tag, None)
        sealed = found[1] if isinstance(found[1], bytes) else b""
        value = sealed[MAC_BYTES:]
        if not hmac.compare_digest(sealed[:MAC_BYTES], self._mac(space, key, tag, value)):
            logger.error("shared cache entry %s:%s dropped: its HMAC does not match", space, key)
            return None
        return SharedEntry(tag, value)

    async def put(self, space: Space, key: str, tag: str, value: bytes) -> None:
        keys = space_keys(space)
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                await self._put(
                    keys=[keys[role] for role in ROLES],
                    args=[
                        key,
                        tag,
                        self._mac(space, key, tag, value) + value,
                        self.limits[space],
                        SHARED_ENTRY_BYTES,
                    ],
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable(exc)

    async def used(self, space: Space) -> int:
        """The bytes the space's entries weigh now (for /metrics and the tests)."""
        raw = await self.redis.get(space_keys(space)["bytes"])
        return int(raw or 0)

    def _mac(self, space: str, key: str, tag: str, value: bytes) -> bytes:
        head = f"{space}\n{key}\n{tag}\n".encode("utf-8", "surrogateescape")
        return hmac.new(self._mac_key, head + value, hashlib.sha256).digest()

    def _unavailable(self, exc: BaseException) -> None:
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("the shared caches are unavailable; asking GitHub: %s", exc)


async def spaces_used(redis: Redis) -> dict[str, int]:
    """The bytes each space's entries weigh now (for /healthz and /metrics)."""
    spaces = list(SHARED_BYTES)
    counts = await redis.mget([space_keys(space)["bytes"] for space in spaces])
    return {space: int(count or 0) for space, count in zip(spaces, counts, strict=True)}


def shared_cache(redis: Redis, settings: Settings) -> RedisSharedCache | None:
    """The shared cache of a process of the fleet, unless ``KEPBOT_SHARED_CACHES`` turns
    it off."""
    if not settings.kepbot_shared_caches:
        return None
    return RedisSharedCache(redis, secret=settings.webhook_secret())
