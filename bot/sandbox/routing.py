"""How endpoints are declared: the route registry, what each endpoint needs, the request
context handed to handlers, their replies, and pagination with `Link` headers.

Handlers are synchronous on purpose: each request reads and writes the state without
yielding, so every write is atomic, as GitHub's are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from bot.sandbox.auth import Identity
from bot.sandbox.errors import ApiError, unprocessable
from bot.sandbox.model import Json, Repo, State
from bot.sandbox.ratelimit import RateLimiter
from bot.sandbox.views import Urls

T = TypeVar("T")
JSON_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
}


@dataclass(frozen=True)
class Needs:
    """What a caller must hold.

    auth: "default" (installation token, personal token, or anonymous reads of public data),
    "jwt" (App JWT only), "installation" (installation token only), "any" (all callers).
    permission: App permissions of which any one suffices (Issues *or* Pull requests, …).
    user_role: least repository role a personal-token user needs.
    """

    auth: str = "default"
    permission: tuple[str, ...] = ("metadata",)
    write: bool = False
    user_role: str | None = None  # None: "write" for writes, "read" otherwise
    counts: bool = True  # whether the request counts against the primary rate limit
    resource: str = "core"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Ctx:
    state: State
    request: web.Request
    identity: Identity
    urls: Urls
    version: str
    limiter: RateLimiter
    body: Any = None
    found_repo: Repo | None = None

    @property
    def repo(self) -> Repo:
        assert self.found_repo is not None, "endpoint is not repository-scoped"
        return self.found_repo

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query.get(name, default)

    @property
    def actor(self) -> str:
        if self.identity.login is None:
            raise ApiError(401, "Requires authentication")
        return self.identity.login

    def json(self) -> Json:
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body

    def field(self, name: str, kind: type[T], *, required: bool = False) -> T | None:
        """A body field of the given type; 422 when missing (if required) or mistyped."""
        value = self.json().get(name)
        if value is None:
            if required:
                raise ApiError(
                    422,
                    "Invalid request.\n\n" + f'"{name}" wasn\'t supplied.',
                )
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = JSON_TYPE_NAMES.get(kind, kind.__name__)
            raise unprocessable(
                f"Invalid request.\n\nFor '{name}', {json.dumps(value)} is not {expected}."
            )
        return value


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    needs: Needs


class Registry:
    """Collects the endpoints of one routes module."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, **needs: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, Needs(**needs)))
            return handler

        return register


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=body, headers=headers or {})


def created(body: Any, location: str | None = None) -> Reply:
    return Reply(status=201, body=body, headers={"location": location} if location else {})


def no_content() -> Reply:
    return Reply(status=204)


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.query(name)
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def paginate(ctx: Ctx, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """One page of `items` (per_page default 30, max 100) and its `Link` header."""
    per_page = min(max(_int_param(ctx, "per_page", 30), 1), 100)
    page = max(_int_param(ctx, "page", 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chosen = list(items[(page - 1) * per_page : page * per_page])
    links: list[str] = []

    def link(number: int, rel: str) -> None:
        url = ctx.request.url.update_query(page=str(number))
        links.append(f'<{url}>; rel="{rel}"')

    if page > 1:
        link(min(page - 1, last), "prev")
    if page < last:
        link(page + 1, "next")
        link(last, "last")
    if page > 1:
        link(1, "first")
    return chosen, ({"link": ", ".join(links)} if links else {})


def paged(ctx: Ctx, items: Sequence[Any]) -> Reply:
    page, headers = paginate(ctx, items)
    return ok(page, headers=headers)
