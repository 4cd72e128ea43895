"""`kepbot worker` with a recording dispatch, run as a child process by the hosted tests.

Each delivery it handles is written to the Redis list `test:log` ("start ID", then
"end ID"); with `TEST_GATED=1` it waits between the two until the test pushes to
`test:go:ID`. Everything else is the real worker: lanes, leases, arq, the sweep.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from redis.asyncio import Redis

from bot.hosted.worker import main

GATE_TIMEOUT_SECONDS = 60


async def dispatch(event: Any) -> None:
    delivery = str(event.delivery_id)
    async with Redis.from_url(os.environ["KEPBOT_REDIS_URL"]) as redis:
        await redis.rpush("test:log", f"start {delivery}")
        if os.environ.get("TEST_GATED") == "1":
            await redis.blpop([f"test:go:{delivery}"], timeout=GATE_TIMEOUT_SECONDS)
        await redis.rpush("test:log", f"end {delivery}")


if __name__ == "__main__":
    sys.exit(main(dispatch=dispatch))
