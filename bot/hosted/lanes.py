"""The Redis side of hosted mode: deliveries, per-pull-request lanes, leases, heartbeats.

Every delivery is a job; every job waits in the lane of its pull request (a Redis list,
``kepbot:lane:<owner/repo#N>``, in arrival order) or, when it is about no pull request, in
a lane of its own. A worker runs a lane's jobs one after the other while it holds the
lane's lease (``kepbot:lease:<lane>``, a token with an expiry it renews); a job leaves its
lane only once it has been handled, so a worker that dies mid-job leaves the job at the
head of its lane, and the lease runs out. Each change below is one Lua script, so that no
other process ever sees half of it.

Acceptance is one script, one round trip: besides the job it writes the job's arq ticket
(``run_lane(lane)``, arq job id the job's id) exactly as arq's ``enqueue_job`` would, unless
a worker holds the lane (it runs the job). The acceptances of one event-loop turn share
their round trip (``bot.hosted.batching``). A worker's step between two jobs of its lane
is one script too (``Store.next_job``).

Keys (one Redis, not a cluster: the scripts touch keys of several slots):

- ``kepbot:seen:<id>``: a delivery accepted in the last 24 hours (de-duplication across
  every web process);
- ``kepbot:job:<id>``: a hash: event name, delivery id, hook id, payload (UTF-8 JSON: the
  body as GitHub sent it), lane, acceptance time (ms), tries, an HMAC of the first four
  under the webhook secret (a worker runs no job that Redis holds without it:
  docs/security.md), and the payload's length in bytes;
- ``kepbot:queued-bytes``: the payload bytes of the jobs not finished, which acceptance
  keeps under ``KEPBOT_REDIS_QUEUE_BYTES`` (so that a fleet without live workers does not
  fill Redis's memory);
- ``kepbot:lane:<lane>``: job ids in arrival order;
- ``kepbot:lanes``: a sorted set of lanes with jobs, scored by when each got its first;
- ``kepbot:pending``: a sorted set of job ids waiting or running, by acceptance time;
- ``kepbot:lease:<lane>``: the token of the worker running the lane;
- ``arq:job:<id>``, ``kepbot:queue``: a job's ticket and arq's queue of tickets;
- ``kepbot:workers``: a sorted set of worker ids, by last heartbeat;
- ``kepbot:chores``, ``kepbot:reconcile``: fleet-wide leases (one sweep, one reconcile pass
  at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from arq.constants import expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from redis.asyncio import Redis

from bot.hosted.batching import ScriptBatcher
from bot.hosted.connect import QUEUE, RUN_LANE, dumps
from bot.settings import DEFAULT_REDIS_QUEUE_BYTES

__all__ = [
    "ACCEPT_TIMEOUT_SECONDS",
    "DEDUPE_TTL_SECONDS",
    "PREFIX",
    "Done",
    "Job",
    "LeaseLost",
    "QueueFull",
    "QueueStats",
    "Store",
    "job_id",
    "lane_of",
]

PREFIX = "kepbot:"
DEDUPE_TTL_SECONDS = 24 * 3600  # as long as GitHub lets a delivery be redelivered by hand
ACCEPT_TIMEOUT_SECONDS = 5.0  # GitHub gives up on a delivery after 10 s

# The bytes of the payloads queued are counted (``kepbot:queued-bytes``, each job's own in
# its hash) and bounded: a delivery that would pass the bound is refused, unless nothing is
# queued (one delivery always fits). The last two writes are the ticket, as arq's
# enqueue_job writes one: its job (expiring a day later) and its place in arq's queue,
# scored by when it was queued. A lane whose lease is held gets no ticket: its holder takes
# the next job and gives the lane up only when it is empty, each in one step (_NEXT), so it
# runs this job too; if the holder dies, its lease runs out and the sweep finds the lane.
# The reply: 1 queued, 0 a repeat, minus the bytes queued when refused.
_ACCEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local size = string.len(ARGV[5])
local queued = tonumber(redis.call('GET', KEYS[8]) or '0')
if queued > 0 and queued + size > tonumber(ARGV[12]) then return -queued end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('HSET', KEYS[2], 'event', ARGV[2], 'delivery', ARGV[3], 'hook', ARGV[4],
           'data', ARGV[5], 'accepted', ARGV[6], 'lane', ARGV[8], 'tries', 0, 'mac', ARGV[9],
           'bytes', size)
redis.call('INCRBY', KEYS[8], size)
redis.call('RPUSH', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[4], 'NX', ARGV[6], ARGV[8])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[7])
if redis.call('EXISTS', KEYS[9]) == 0 then
  redis.call('SET', KEYS[6], ARGV[10], 'PX', ARGV[11])
  redis.call('ZADD', KEYS[7], ARGV[6], ARGV[7])
end
return 1
"""

# The job leaves its lane only if it is still the lane's head (a worker whose lease ran
# out may finish after another worker has run the job again and moved on); its bytes leave
# the count only with the job itself, so that a second finish frees nothing.
_FINISHING = """
local function finish(lane, job, pending, seen, bytes, id, forget)
  if redis.call('LINDEX', lane, 0) == id then redis.call('LPOP', lane) end
  local size = redis.call('HGET', job, 'bytes')
  if redis.call('DEL', job) == 1 and size then redis.call('DECRBY', bytes, size) end
  redis.call('ZREM', pending, id)
  if forget == '1' then redis.call('DEL', seen) end
end
"""

_FINISH = (
    _FINISHING
    + """
finish(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
return 1
"""
)

# A worker's step between two jobs: finish the job it has run (none on the first step),
# then, if it still holds the lane's lease, read the lane's next job with its tries
# counted, or give the lane up when it is empty, in the same step that looks (a job queued
# a moment later finds the lease free and writes a ticket). A job id without its job (never
# expected) is dropped. The reply: the job's id and fields, false when the lane was given
# up, 0 when the lease is another's. Job keys are made here from their ids (one Redis, not
# a cluster).
_NEXT = (
    _FINISHING
    + """
local lane, lease, pending, prefix = KEYS[1], KEYS[2], KEYS[4], ARGV[5]
local done = ARGV[3]
if done ~= '' then
  finish(lane, prefix .. 'job:' .. done, pending, prefix .. 'seen:' .. done, KEYS[5], done,
         ARGV[4])
end
if redis.call('GET', lease) ~= ARGV[1] then return 0 end
while true do
  local first = redis.call('LINDEX', lane, 0)
  if not first then
    redis.call('DEL', lease)
    redis.call('ZREM', KEYS[3], ARGV[2])
    return false
  end
  local job = prefix .. 'job:' .. first
  if redis.call('HEXISTS', job, 'data') == 1 then
    redis.call('HINCRBY', job, 'tries', 1)
    return {first, redis.call('HGETALL', job)}
  end
  redis.call('LPOP', lane)
  redis.call('ZREM', pending, first)
end
"""
)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def _key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


def job_id(hook_id: str, delivery_id: str) -> str:
    """32 hex digits that stand for the delivery (a redelivery has the same)."""
    return hashlib.blake2b(
        f"{hook_id}\n{delivery_id}".encode("utf-8", "surrogateescape"), digest_size=16
    ).hexdigest()


def lane_of(ordering_key: str | None, job: str) -> str:
    """The lane of a job: its pull request's, or one of its own."""
    return f"pr:{ordering_key}" if ordering_key is not None else f"delivery:{job}"


def job_mac(secret: bytes, event: str, delivery: str, hook: str, payload: bytes) -> str:
    """What the web process signs and the worker checks: the job as GitHub sent it."""
    head = "\n".join((event, delivery, hook, "")).encode("utf-8", "surrogateescape")
    return hmac.new(secret, head + payload, hashlib.sha256).hexdigest()


def ticket(lane: str, enqueued_ms: int) -> bytes:
    """The arq job that wakes a worker for the lane, serialized as ``enqueue_job`` does."""
    return serialize_job(RUN_LANE, (lane,), {}, None, enqueued_ms, serializer=dumps)


def _payload(raw: bytes) -> Any:
    """A stored payload's value, decoded as the receiver decodes a body (``bot.webhook``):
    orjson, or the standard decoder for what orjson refuses (a lone surrogate escape)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw.decode())


def now_ms() -> int:
    return int(time.time() * 1000)


class LeaseLost(Exception):
    """The lane's lease is another worker's now (this one's ran out)."""


@dataclass(frozen=True)
class Done:
    """A job a worker has run: ``forget`` lets GitHub's redelivery of it be accepted again."""

    job: str
    forget: bool


class QueueFull(Exception):
    """The payloads queued in Redis would pass their bound with this delivery."""

    def __init__(self, *, queued: int, bound: int) -> None:
        super().__init__(f"{queued} bytes queued, bound {bound}")
        self.queued = queued
        self.bound = bound


@dataclass(frozen=True)
class Job:
    """A job as a worker reads it from Redis."""

    id: str
    lane: str
    event: str
    delivery: str
    hook: str
    data: Any
    accepted_ms: int
    tries: int
    authentic: bool  # its HMAC matches: written by a web process that holds the secret


@dataclass(frozen=True)
class QueueStats:
    depth: int  # jobs accepted and not finished (waiting, or running now)
    oldest_age_seconds: float  # the oldest of them, 0 when there is none
    workers: int  # worker processes that reported within the lease time
    queued_bytes: int  # the payload bytes of those jobs (bounded by KEPBOT_REDIS_QUEUE_BYTES)


class Store:
    """The operations of hosted mode on one Redis connection pool."""

    def __init__(
        self,
        redis: Redis,
        *,
        secret: bytes,
        lease_seconds: float = 10.0,
        queue_bytes: int = DEFAULT_REDIS_QUEUE_BYTES,
    ) -> None:
        self.redis = redis
        self._secret = secret
        self.lease_ms = int(lease_seconds * 1000)
        self.queue_bytes = queue_bytes
        self._accept = ScriptBatcher(redis, _ACCEPT, timeout=ACCEPT_TIMEOUT_SECONDS)
        self._finish = redis.register_script(_FINISH)
        self._next = redis.register_script(_NEXT)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    # -- the web side

    async def accept(
        self, *, event: str, delivery: str, hook: str, payload: bytes, ordering_key: str | None
    ) -> str | None:
        """Queue a delivery (``payload``: its UTF-8 JSON) and its ticket durably; its lane,
        or ``None`` when it was accepted before. Raises ``QueueFull`` when the payloads
        queued would pass ``queue_bytes``."""
        job = job_id(hook, delivery)
        lane = lane_of(ordering_key, job)
        now = now_ms()
        added = await self._accept(
            keys=[
                _key("seen", job),
                _key("job", job),
                _key("lane", lane),
                _key("lanes"),
                _key("pending"),
                job_key_prefix + job,
                QUEUE,
                _key("queued-bytes"),
                _key("lease", lane),
            ],
            args=[
                DEDUPE_TTL_SECONDS,
                event,
                delivery,
                hook,
                payload,
                now,
                job,
                lane,
                job_mac(self._secret, event, delivery, hook, payload),
                ticket(lane, now),
                expires_extra_ms,
                self.queue_bytes,
            ],
        )
        if added < 0:
            raise QueueFull(queued=-added, bound=self.queue_bytes)
        return lane if added else None

    async def stats(self) -> QueueStats:
        now = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(_key("pending"))
            pipe.zrange(_key("pending"), 0, 0, withscores=True)
            pipe.zcount(_key("workers"), now - self.lease_ms, "+inf")
            pipe.get(_key("queued-bytes"))
            depth, oldest, workers, queued = await pipe.execute()
        age = max(0.0, (now - float(oldest[0][1])) / 1000) if oldest else 0.0
        return QueueStats(int(depth), round(age, 3), int(workers), int(queued or 0))

    # -- the worker side

    async def take(self, lane: str, token: str) -> bool:
        """Take the lane's lease; ``False`` when another worker holds it."""
        return bool(await self.redis.set(_key("lease", lane), token, nx=True, px=self.lease_ms))

    async def renew(self, lane: str, token: str) -> bool:
        """Extend the lease; ``False`` when it is no longer this token's."""
        return bool(await self._renew(keys=[_key("lease", lane)], args=[token, self.lease_ms]))

    async def release(self, lane: str, token: str) -> None:
        await self._release(keys=[_key("lease", lane)], args=[token])

    async def next_job(self, lane: str, token: str, *, done: Done | None = None) -> Job | None:
        """Finish ``done`` (the job just run), then the lane's next job with its tries
        counted (one more than before), in one step; ``None`` when the lane is empty, its
        lease then given up. Raises ``LeaseLost`` when ``token`` no longer holds the lane
        (``done`` is finished all the same)."""
        reply = await self._next(
            keys=[
                _key("lane", lane),
                _key("lease", lane),
                _key("lanes"),
                _key("pending"),
                _key("queued-bytes"),
            ],
            args=[
                token,
                lane,
                done.job if done else "",
                "1" if done and done.forget else "0",
                PREFIX,
            ],
        )
        if reply is None:
            return None
        if not reply:
            raise LeaseLost(lane)
        raw_id, flat = reply
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        payload = fields.pop(b"data")
        text = {key.decode(): value.decode() for key, value in fields.items()}
        mac = job_mac(self._secret, text["event"], text["delivery"], text["hook"], payload)
        return Job(
            id=raw_id.decode(),
            lane=lane,
            event=text["event"],
            delivery=text["delivery"],
            hook=text["hook"],
            data=_payload(payload),
            accepted_ms=int(text["accepted"]),
            tries=int(text["tries"]),
            authentic=hmac.compare_digest(mac, text.get("mac", "")),
        )

    async def finish(self, lane: str, job: str, *, forget: bool) -> None:
        """The job is done (or given up): out of its lane; ``forget`` lets GitHub's
        redelivery of it be accepted again."""
        await self._finish(
            keys=[
                _key("lane", lane),
                _key("job", job),
                _key("pending"),
                _key("seen", job),
                _key("queued-bytes"),
            ],
            args=[job, "1" if forget else "0"],
        )

    async def has_work(self, lane: str) -> bool:
        return bool(await cast(Awaitable[int], self.redis.llen(_key("lane", lane))))

    async def orphans(self, *, older_than_ms: int, limit: int = 1000) -> list[str]:
        """Lanes with jobs, queued at least ``older_than_ms`` ago, that no worker holds."""
        found = await self.redis.zrangebyscore(
            _key("lanes"), "-inf", now_ms() - older_than_ms, start=0, num=limit
        )
        lanes = [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in found]
        if not lanes:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for lane in lanes:
                pipe.exists(_key("lease", lane))
            held = await pipe.execute()
        return [lane for lane, leased in zip(lanes, held, strict=True) if not leased]

    async def heartbeat(self, worker: str) -> None:
        now = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(_key("workers"), {worker: now})
            pipe.zremrangebyscore(_key("workers"), "-inf", now - 10 * self.lease_ms)
            await pipe.execute()

    async def leave(self, worker: str) -> None:
        await self.redis.zrem(_key("workers"), worker)

    async def fleet_lease(self, name: str, token: str, seconds: float) -> bool:
        """A fleet-wide lease (``chores``, ``reconcile``): ``True`` for the one that takes it."""
        return bool(
            await self.redis.set(_key(name), token, nx=True, px=max(1, int(seconds * 1000)))
        )
