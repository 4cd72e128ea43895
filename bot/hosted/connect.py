"""The Redis connection of hosted mode, as arq makes it, with jobs serialized as JSON."""

from __future__ import annotations

import json
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.settings import Settings

__all__ = ["QUEUE", "RUN_LANE", "connect", "dumps", "loads"]

QUEUE = "kepbot:queue"  # arq's queue of tickets
RUN_LANE = "run_lane"  # the one job function: run a lane's jobs


def dumps(value: Any) -> bytes:
    """arq's job serializer: JSON, never pickle (what Redis holds is not code to run)."""
    return json.dumps(value, separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw)


def redis_settings(settings: Settings) -> RedisSettings:
    config = RedisSettings.from_dsn(settings.redis_url())
    # Fail within GitHub's 10 s: a web process answers 503 rather than hang.
    config.conn_timeout = 2
    config.conn_retries = 0
    # A command that meets a dropped connection (Redis restarted) is tried again for about
    # two seconds before it fails. Every command is safe to repeat: a repeated acceptance
    # finds its delivery there already, and the lane scripts check before they change.
    config.retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 8)
    config.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    return config


async def connect(settings: Settings) -> ArqRedis:
    return await create_pool(
        redis_settings(settings),
        job_serializer=dumps,
        job_deserializer=loads,
        default_queue_name=QUEUE,
    )
