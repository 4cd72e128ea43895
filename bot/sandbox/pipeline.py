"""The request pipeline every endpoint runs through, and the aiohttp application built on it.

Order: API version → credentials (401) → primary rate limit (403/429) → injected faults →
access (404 for what the caller may not see, 403 for missing permissions) → handler →
ETag / 304 (not counted) → x-ratelimit-* headers. Every request lands in the request log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.sandbox import (
    archive,
    routes_app,
    routes_checks,
    routes_contents,
    routes_git,
    routes_issues,
    routes_milestones,
    routes_people,
    routes_pulls,
    routes_search,
)
from bot.sandbox.access import authorize
from bot.sandbox.auth import Identity, identify
from bot.sandbox.errors import ApiError
from bot.sandbox.faults import FaultInjector
from bot.sandbox.model import State
from bot.sandbox.ratelimit import Bucket, RateLimiter
from bot.sandbox.routing import Ctx, Endpoint, Reply
from bot.sandbox.views import Urls

SUPPORTED_VERSIONS = ("2022-11-28", "2026-03-10")
DEFAULT_VERSION = "2022-11-28"
VERSIONS_DOCS = "https://docs.github.com/rest/about-the-rest-api/api-versions"
IDENTITY = web.RequestKey("identity", str)
BUCKET = web.RequestKey("bucket", Bucket)
BODY = web.RequestKey("body", object)
VERSION = web.RequestKey("version", str)
ENDPOINTS: list[Endpoint] = [
    endpoint
    for module in (
        archive,
        routes_app,
        routes_contents,
        routes_git,
        routes_pulls,
        routes_issues,
        routes_milestones,
        routes_checks,
        routes_people,
        routes_search,
    )
    for endpoint in module.registry.endpoints
]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the base path, e.g. /repos/o/r/pulls/1
    query: dict[str, str]
    status: int
    identity: str  # e.g. installation:1, user:alice, app, anonymous:127.0.0.1
    time: float  # the double's clock when the request arrived
    duration: float  # seconds spent answering, injected latency included
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased, no Authorization
    auth_scheme: str | None = None  # e.g. "token", "bearer"; "" if none given; None: no header


@dataclass
class Runtime:
    """What the pipeline works with; owned by GitHubDouble."""

    state: State
    limiter: RateLimiter
    faults: FaultInjector
    requests: list[RecordedRequest]


def _version(request: web.Request) -> str:
    version = request.headers.get("X-GitHub-Api-Version", DEFAULT_VERSION)
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(
            f'"{v}"' + (" (most recent)" if v == SUPPORTED_VERSIONS[-1] else "")
            for v in reversed(SUPPORTED_VERSIONS)
        )
        raise ApiError(
            400,
            f'The version you specified in the "X-GitHub-API-Version" request header, '
            f'"{version}", is not a supported version. The following versions are currently '
            f"supported: {supported}.",
            documentation_url=VERSIONS_DOCS,
        )
    return version


async def _read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ApiError(400, "Problems parsing JSON") from error


def _drop_singular_assignee(value: Any) -> Any:
    """API version 2026-03-10 removed `assignee` from issues and pull requests."""
    if isinstance(value, list):
        return [_drop_singular_assignee(item) for item in value]
    if isinstance(value, dict):
        return {
            key: _drop_singular_assignee(item)
            for key, item in value.items()
            if not (key == "assignee" and "assignees" in value)
        }
    return value


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [candidate.strip() for candidate in header.split(",")]
    return etag in candidates or etag.removeprefix("W/") in candidates or "*" in candidates


def _etag(request: web.Request, payload: bytes) -> str:
    """The answer's ETag. GitHub's vary with the credentials and the media type (`Vary:
    Accept, Authorization`): after an installation token is renewed, a conditional request
    carrying the ETag the old token got is answered 200, not 304."""
    digest = hashlib.sha256()
    for name in ("Authorization", "Accept"):
        digest.update(request.headers.get(name, "").encode() + b"\n")
    digest.update(payload)
    return f'W/"{digest.hexdigest()[:40]}"'


def _render(request: web.Request, reply: Reply, version: str) -> web.Response:
    headers = dict(reply.headers)
    headers["x-github-api-version-selected"] = version
    headers["x-github-media-type"] = "github.v3; format=json"
    if reply.raw is not None:
        payload: bytes | None = reply.raw
    elif reply.body is None and reply.status in (204, 304):
        payload = None
    else:
        body = _drop_singular_assignee(reply.body) if version == "2026-03-10" else reply.body
        payload = json.dumps(body).encode()
    if request.method == "GET" and reply.status == 200 and payload is not None:
        etag = _etag(request, payload)
        headers["etag"] = etag
        headers["vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            # Like GitHub's, a 304 carries no `Link`: a client keeps each page's next link.
            kept = {name: value for name, value in headers.items() if name.lower() != "link"}
            return web.Response(status=304, headers=kept)
    if payload is None:
        return web.Response(status=reply.status, headers=headers)
    return web.Response(
        status=reply.status, body=payload, headers={**headers, "content-type": reply.content_type}
    )


async def _answer(rt: Runtime, endpoint: Endpoint, request: web.Request, base_path: str) -> Reply:
    state = rt.state
    identity: Identity = identify(state, request.headers.get("Authorization"), request.remote or "")
    request[IDENTITY] = identity.label
    needs = endpoint.needs
    user = state.find_user(identity.login) if identity.login else None
    if needs.counts:
        bucket = rt.limiter.check(identity, needs.resource, user.id if user else None)
    else:
        bucket = rt.limiter.bucket(identity, needs.resource)
    request[BUCKET] = bucket
    body = request[BODY] = await _read_body(request)
    fault = rt.faults.take(request.method, request.path.removeprefix(base_path))
    if fault is not None:
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.status is not None:
            return Reply(fault.status, fault.response_body(), fault.response_headers())
    urls = Urls(
        api=f"{request.scheme}://{request.host}{base_path}",
        web=f"{request.scheme}://{request.host}",
    )
    ctx = Ctx(state, request, identity, urls, request[VERSION], rt.limiter, body)
    authorize(ctx, needs)
    return endpoint.handler(ctx)


def _handler(
    rt: Runtime, endpoint: Endpoint, base_path: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        version = DEFAULT_VERSION
        try:
            version = request[VERSION] = _version(request)
            reply = await _answer(rt, endpoint, request, base_path)
        except ApiError as error:
            reply = Reply(error.status, error.body(), dict(error.headers))
        response = _render(request, reply, version)
        bucket = request.get(BUCKET)
        if bucket is None and response.status == 401:
            # Refused credentials are answered with the unauthenticated budget, uncounted.
            caller = Identity("anonymous", remote=request.remote or "")
            response.headers.update(rt.limiter.bucket(caller, "core").headers())
        if bucket is not None:
            counted = endpoint.needs.counts and response.status != 304
            exhausted = response.headers.get("x-ratelimit-remaining") == "0"
            if counted and not exhausted:
                bucket.remaining -= 1
            for name, value in bucket.headers().items():
                response.headers.setdefault(name, value)
        return response

    return handle


def _recorded_headers(request: web.Request) -> tuple[dict[str, str], str | None]:
    """Request headers by lower-cased name (repeats joined), and the Authorization scheme."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    authorization = headers.pop("authorization", None)
    if authorization is None:
        return headers, None
    scheme, space, _ = authorization.strip().partition(" ")
    return headers, scheme if space else ""  # a lone word may be the secret itself


def _log_requests(rt: Runtime, base_path: str) -> Middleware:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        arrived, started = rt.state.clock(), time.monotonic()
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            # GitHub answers an unknown route or method with a JSON 404.
            error = ApiError(404, "Not Found")
            response = web.json_response(error.body(), status=404)
        headers, auth_scheme = _recorded_headers(request)
        rt.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path.removeprefix(base_path) or "/",
                query=dict(request.query),
                status=response.status,
                identity=request.get(IDENTITY, "unauthenticated"),
                time=arrived,
                duration=time.monotonic() - started,
                body=request.get(BODY),
                headers=headers,
                auth_scheme=auth_scheme,
            )
        )
        return response

    return middleware


def build_application(rt: Runtime, base_path: str = "") -> web.Application:
    base_path = base_path.rstrip("/")
    app = web.Application(middlewares=[_log_requests(rt, base_path)], client_max_size=2**27)
    for endpoint in ENDPOINTS:
        app.router.add_route(
            endpoint.method, base_path + endpoint.path, _handler(rt, endpoint, base_path)
        )
    # The download host of repository archives (not the API: no base path, no rate limit).
    app.router.add_get(archive.CODELOAD, archive.download_handler(rt.state, rt.faults))
    return app
