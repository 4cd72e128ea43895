"""Primary rate limits per caller and resource, with GitHub's x-ratelimit-* headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.auth import Identity
from bot.sandbox.errors import ApiError
from bot.sandbox.model import Settings

PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-the-primary-rate-limit"
)
WINDOWS = {"core": 3600, "search": 60}


@dataclass
class Bucket:
    resource: str
    limit: int
    remaining: int
    reset: int  # epoch seconds

    @property
    def used(self) -> int:
        return self.limit - self.remaining

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": self.resource,
        }


class RateLimiter:
    """One bucket per (caller, resource); a bucket refills when its window ends."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.buckets: dict[tuple[str, str], Bucket] = {}

    def _limit(self, identity: Identity, resource: str) -> int:
        if resource == "search":
            return self.settings.search_rate_limit if identity.kind != "anonymous" else 10
        if identity.kind == "anonymous":
            return self.settings.anonymous_rate_limit
        return self.settings.rate_limit

    def bucket(self, identity: Identity, resource: str) -> Bucket:
        key = (identity.label, resource)
        now = int(self.clock())
        found = self.buckets.get(key)
        if found is None or now >= found.reset:
            limit = self._limit(identity, resource)
            found = Bucket(resource, limit, limit, now + WINDOWS[resource])
            self.buckets[key] = found
        return found

    def check(self, identity: Identity, resource: str, user_id: int | None) -> Bucket:
        """The caller's bucket; raise GitHub's exhausted-limit error when it is empty."""
        bucket = self.bucket(identity, resource)
        if bucket.remaining > 0:
            return bucket
        if identity.kind == "installation":
            who = f"installation ID {identity.installation_id}"
        elif identity.kind == "user":
            who = f"user ID {user_id}"
        else:
            who = identity.remote or "app"
        raise ApiError(
            self.settings.exhausted_status,
            f"API rate limit exceeded for {who}.",
            documentation_url=PRIMARY_DOCS,
            headers=bucket.headers(),
        )

    def set_remaining(self, label: str, remaining: int, resource: str = "core") -> Bucket:
        """Force a caller's remaining budget (label as in the request log, e.g. installation:1)."""
        key = (label, resource)
        bucket = self.buckets.get(key)
        if bucket is None or int(self.clock()) >= bucket.reset:
            limit = (
                self.settings.search_rate_limit
                if resource == "search"
                else self.settings.rate_limit
            )
            bucket = Bucket(resource, limit, limit, int(self.clock()) + WINDOWS[resource])
            self.buckets[key] = bucket
        bucket.remaining = remaining
        return bucket
