"""How often one client may ask for the pipeline page: a token bucket per client address.

Every page request takes a token; a client's bucket holds at most `burst` tokens and gains
`per_minute / 60` a second. A request that finds the bucket empty is answered 429 with
`Retry-After` (whole seconds until a token is back) and costs GitHub nothing.

The client is the connection's peer address, or, behind `trusted_proxies` reverse proxies
(Heroku's router, an ingress), the address the nearest of them recorded: the entry that
many places from the right of `X-Forwarded-For` (entries further left are whatever the
client sent, so they are never trusted). An IPv6 client counts by its /64 network, which
one host can fill with addresses. At most `max_clients` buckets are kept (the least
recently used are dropped); a dropped bucket comes back full, which is no more than a new
client would get.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

from aiohttp import web
from cachetools import LRUCache

__all__ = ["ClientLimiter"]

MAX_CLIENTS = 10_000
FORWARDED_FOR = "X-Forwarded-For"


class ClientLimiter:
    """Token buckets keyed by client address."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        trusted_proxies: int = 0,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("the page's rate and burst must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.trusted_proxies = trusted_proxies
        self._clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(maxsize=max_clients)

    def client(self, request: web.Request) -> str:
        """The key of the client that sent `request` (see the module's docstring)."""
        address = request.remote or ""
        if self.trusted_proxies:
            hops = [
                entry.strip()
                for value in request.headers.getall(FORWARDED_FOR, [])
                for entry in value.split(",")
            ]
            if len(hops) >= self.trusted_proxies:
                address = hops[-self.trusted_proxies]
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return address[:100]
        if isinstance(parsed, ipaddress.IPv6Address):
            if parsed.ipv4_mapped is not None:
                return str(parsed.ipv4_mapped)
            return str(ipaddress.IPv6Network((parsed, 64), strict=False))
        return str(parsed)

    def take(self, request: web.Request) -> int:
        """Take a token for the request's client: 0 when given, else the seconds to wait."""
        key, now = self.client(request), self._clock()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))
