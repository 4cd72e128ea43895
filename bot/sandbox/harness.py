"""The real bot server running against the double, with a way to send it deliveries.

Used by `kepbot demo` and by the end-to-end tests, so both exercise exactly what runs in
production: signed deliveries over HTTP into the webhook, the worker pool, the handlers and
the GitHub client, with every effect read back from the double.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from bot.app import POOL, create_app
from bot.handlers.context import utcnow
from bot.routing import Bot
from bot.sandbox.double import GitHubDouble
from bot.sandbox.model import CheckRun
from bot.sandbox.payloads import Event, delivery_headers, encode
from bot.sandbox.testing import AppCredentials, running
from bot.settings import Settings
from bot.worker import WorkerPool

SECRET = "sandbox-webhook-secret"
T = TypeVar("T")


@dataclass
class Harness:
    double: GitHubDouble
    bot: Bot
    pool: WorkerPool
    bot_url: str
    session: aiohttp.ClientSession

    async def deliver(self, event: Event, *, delivery_id: str | None = None) -> int:
        """POST `event` to the bot as GitHub would (signed); the HTTP status it answered."""
        name, payload = event
        body = encode(payload)
        headers = delivery_headers(self.double, name, body, SECRET, delivery_id=delivery_id)
        async with self.session.post(f"{self.bot_url}/webhook", data=body, headers=headers) as r:
            return r.status

    async def until(self, probe: Callable[[], T | None], timeout: float = 15.0) -> T:
        """Wait until `probe` (reading the double) returns something."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            await asyncio.sleep(0.02)
        raise TimeoutError(f"nothing after {timeout:.0f} s")

    async def check_run(self, repo: str, sha: str, count: int = 1) -> CheckRun:
        """The latest check run on `sha` once there are `count` of them."""

        def runs() -> list[CheckRun] | None:
            found = self.double.check_runs(repo, sha)
            return found if len(found) >= count else None

        return (await self.until(runs))[-1]

    async def idle(self, timeout: float = 15.0) -> None:
        """Wait until the bot has no queued or running work."""

        def quiet() -> bool:
            return self.pool.queue_depth == 0 and self.pool.in_flight == 0

        await self.until(quiet, timeout)


def settings_for(
    api_url: str, credentials: AppCredentials | None, token: str | None = None, **extra: Any
) -> Settings:
    if token is not None:
        auth: dict[str, Any] = {"github_token": token, "github_app_id": None}
    else:
        assert credentials is not None
        auth = {
            "github_app_id": credentials.app_id,
            "github_private_key": credentials.private_key,
            "github_token": None,
        }
    extra.setdefault("kepbot_reconcile_seconds", 0)  # tests start reconcile passes themselves
    return Settings(github_webhook_secret=SECRET, github_api_url=api_url, **auth, **extra)


@asynccontextmanager
async def harness(
    double: GitHubDouble,
    credentials: AppCredentials | None,
    *,
    token: str | None = None,
    base_path: str = "",
    client_options: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    clock: Callable[[], datetime.datetime] = utcnow,
) -> AsyncIterator[Harness]:
    """The double and the bot both on loopback; App mode unless a personal `token` is given."""
    async with running(double, base_path=base_path) as api_url:
        configured = settings_for(api_url, credentials, token, **(settings or {}))
        bot = Bot(configured, client_options=client_options, clock=clock)
        app = create_app(configured, bot.dispatch, contexts=[bot.lifecycle])
        bot.install_routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session:
                yield Harness(double, bot, app[POOL], f"http://127.0.0.1:{port}", session)
        finally:
            await runner.cleanup()
