"""The root of event handling: one router per concern, joined here, and the Bot that runs them.

The Bot owns the GitHub side of the server for its whole life: one aiohttp session, the
GitHub client (tokens, retries, ETag caches) and the configuration cache. It drops events
the bot caused itself before any handler sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web
from gidgethub import routing, sansio

from bot.github.auth import AppAuth
from bot.github.client import GitHubClient
from bot.github.gateway import for_installation
from bot.github.people import Directory
from bot.github.repo_config import ConfigCache
from bot.handlers import (
    buttons,
    commands,
    links,
    merge,
    proposals,
    release_commands,
    tracking_issues,
)
from bot.handlers.context import HandlerContext, utcnow
from bot.handlers.reply_budget import ReplyBudget
from bot.pipeline_page import pipeline_stylesheet, pipeline_view
from bot.reconcile import Reconciler
from bot.release_page import release_view
from bot.settings import Settings

log = logging.getLogger(__name__)

ROUTER = routing.Router(
    proposals.router,
    commands.router,
    merge.router,
    links.router,
    buttons.router,
    tracking_issues.router,
    release_commands.router,
)


class Bot:
    """Dispatches deliveries to the handlers with an installation's client."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_options: dict[str, Any] | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
    ):
        self.settings = settings
        self.clock = clock
        self.config_cache = ConfigCache()
        self.directory = Directory()
        self.replies = ReplyBudget(settings.kepbot_replies_per_hour)
        # Read when the bot starts (hosted mode's web process fills it as Redis opens).
        self._client_options = client_options if client_options is not None else {}
        self._session: aiohttp.ClientSession | None = None
        self._client: GitHubClient | None = None
        self._reconcile: asyncio.Task[None] | None = None

    @property
    def client(self) -> GitHubClient:
        if self._client is None:
            raise RuntimeError("the bot is not started")
        return self._client

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._client = GitHubClient.from_settings(
            self.settings, self._session, **self._client_options
        )

    async def close(self) -> None:
        if self._reconcile is not None:
            self._reconcile.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconcile
        if self._session is not None:
            await self._session.close()
        self._session = self._client = self._reconcile = None

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """For aiohttp's cleanup_ctx: started before the workers, closed after they drain.

        The reconcile loop (docs/design.md B8) starts with the bot: its first pass catches
        up with whatever happened while no instance was running.
        """
        await self.start()
        interval = self.settings.kepbot_reconcile_seconds
        if interval > 0:
            grace = self.settings.kepbot_reconcile_grace_seconds
            reconciler = Reconciler(self, grace=grace)
            self._reconcile = asyncio.create_task(reconciler.run_forever(interval))
        yield
        await self.close()

    def install_routes(self, app: web.Application) -> None:
        """The read-only pages the bot serves besides the webhook (before the app starts)."""
        app.router.add_get("/pipeline/{owner}/{repo}", pipeline_view(self))
        app.router.add_get("/pipeline.css", pipeline_stylesheet)
        app.router.add_get("/pipeline/{owner}/{repo}/release/{milestone}", release_view(self))

    async def context(self, installation: int) -> HandlerContext:
        """What handlers get for `installation`: its gateway and the bot's shared caches."""
        github = await for_installation(self.client, installation)
        login = await self.client.bot_login()
        app_mode = isinstance(self.client.credentials, AppAuth)
        return HandlerContext(
            github, login, self.config_cache, app_mode, self.directory, self.clock, self.replies
        )

    async def dispatch(self, event: sansio.Event) -> None:
        installation = (event.data.get("installation") or {}).get("id")
        if installation is None:
            log.info("event %s has no installation; ignored", event.event)
            return
        ctx = await self.context(int(installation))
        sender = (event.data.get("sender") or {}).get("login")
        if sender == ctx.bot_login:
            log.info("event %s was caused by the bot itself; ignored", event.event)
            return
        await ROUTER.dispatch(event, ctx)
