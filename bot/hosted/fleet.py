"""What a process of the fleet shares through Redis when it talks to GitHub (hosted mode):
the options of its `GitHubClient`, the same in a worker and in a web process (whose
pipeline page reads GitHub too).

- ``shared_wait``: a rate-limit answer to one process holds every process's requests to
  that installation (``bot.hosted.ratelimit``);
- ``token_share``: one installation token for the fleet, minted by one process at a time
  (``bot.hosted.tokens``; App mode only);
- ``shared_cache``: ETags, blobs, configurations and labels read once for the fleet
  (``bot.hosted.shared_cache``), unless ``KEPBOT_SHARED_CACHES`` is false.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.hosted.ratelimit import RedisSharedWait
from bot.hosted.shared_cache import shared_cache
from bot.hosted.tokens import token_share
from bot.settings import Settings

__all__ = ["client_options"]


def client_options(redis: Redis, settings: Settings) -> dict[str, Any]:
    """The `GitHubClient` options of a process of the fleet."""
    return {
        "shared_wait": RedisSharedWait(redis),
        "token_share": token_share(redis, settings),
        "shared_cache": shared_cache(redis, settings),
    }
