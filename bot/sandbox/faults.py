"""Fault injection: canned failures and latency for requests matching a method and path.

Default bodies are GitHub's: the secondary-rate-limit message (with `retry-after: 60` unless
the fault's headers map `retry-after` to None) for 403/429, `Bad credentials` for 401, the
`{code, message}` body for 503, and a basic error for anything else.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from bot.sandbox.errors import DOCS, bad_credentials

SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


def secondary_rate_limit_body() -> dict[str, Any]:
    request_id = secrets.token_hex(8).upper()
    return {
        "message": (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            f"request ID {request_id}."
        ),
        "documentation_url": SECONDARY_DOCS,
    }


def default_fault_body(status: int) -> dict[str, Any]:
    if status in (403, 429):
        return secondary_rate_limit_body()
    if status == 401:
        return bad_credentials().body()
    if status == 503:
        return {
            "code": "unavailable",
            "message": "Service Unavailable",
            "documentation_url": DOCS,
        }
    return {"message": HTTPStatus(status).phrase, "documentation_url": DOCS}


@dataclass
class Fault:
    method: str  # "*" matches every method
    path: re.Pattern[str]
    status: int | None  # None: only add latency, then answer normally
    times: int | None  # None: forever
    headers: dict[str, str | None] = field(default_factory=dict)  # None: leave a default out
    body: Any = None
    latency: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        live = self.times is None or self.hits < self.times
        return live and self.method in ("*", method) and self.path.search(path) is not None

    def response_headers(self) -> dict[str, str]:
        headers: dict[str, str | None] = {"retry-after": "60"} if self.status in (403, 429) else {}
        headers.update((name.lower(), value) for name, value in self.headers.items())
        return {name: value for name, value in headers.items() if value is not None}

    def response_body(self) -> Any:
        assert self.status is not None
        return self.body if self.body is not None else default_fault_body(self.status)


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first live fault matching the request, counting the hit."""
        for fault in self.faults:
            if fault.matches(method, path):
                fault.hits += 1
                return fault
        return None
