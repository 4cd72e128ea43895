"""Reconcile (docs/design.md B8): on start-up and periodically, catch up with what
deliveries did not bring about.

For every installation, every open pull request that touches proposals is checked again,
and commands that carry no outcome reaction from the bot (👍 done, 👎 refused) are run:
a command never claimed (no 👀) is claimed and run; one claimed longer ago than a grace
period whose outcome never came (the instance died mid-way) is run again, which is safe
because every effect is idempotent on GitHub (edits are no-ops at the target, replies are
posted once by marker). Only commands that count as their author's are candidates
(bot.handlers.authorship): a comment edited after it was written counts only as the bot
recorded it when it saw the edit, so an edit whose delivery never came runs nothing here.
The pass is also the timer of comment periods: a period that has run out by the pass's
clock makes its move then (bot.handlers.periods). The pass stops for an installation when
its rate limit runs low.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gidgethub.abc import GitHubAPI

from bot.engine.authorize import Spoken
from bot.engine.verbs import has_periods
from bot.github.auth import AppAuth
from bot.github.urls import Part, repo_url
from bot.handlers.commands import DONE, handle
from bot.handlers.context import HandlerContext, parse_time
from bot.handlers.periods import complete_periods
from bot.handlers.pr_state import load_config, load_pull_state
from bot.handlers.proposals import check_state

if TYPE_CHECKING:
    from bot.routing import Bot

log = logging.getLogger(__name__)


@dataclass
class Summary:
    pulls: int = 0
    commands: int = 0
    stopped_for_budget: bool = False


def _age(timestamp: str, now: datetime.datetime) -> float:
    return (now - parse_time(timestamp)).total_seconds()


class Reconciler:
    """Runs reconcile passes for a started Bot (see bot.routing)."""

    def __init__(self, bot: Bot, *, grace: float = 600.0, reserve: int = 500) -> None:
        self.bot = bot
        self.grace = grace  # how long a claimed command may stay without an outcome
        self.reserve = reserve  # rate-limit requests left untouched for live deliveries

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                await self.pass_once()
            except Exception:  # a failed pass must not end the loop (docs/design.md I9)
                log.exception("reconcile pass failed")
            await asyncio.sleep(interval)

    async def pass_once(self) -> Summary:
        summary = Summary()
        for installation in await self._installations():
            ctx = await self.bot.context(installation)
            async for repo in ctx.gh.getiter(
                "/installation/repositories?per_page=100", iterable_key="repositories"
            ):
                if not await self._repository(ctx, repo, summary):
                    summary.stopped_for_budget = True
                    break
        log.info(
            "reconcile pass: %d pull requests, %d commands run",
            summary.pulls,
            summary.commands,
            extra={"stopped_for_budget": summary.stopped_for_budget},
        )
        return summary

    async def _installations(self) -> list[int]:
        client = self.bot.client
        if not isinstance(client.credentials, AppAuth):
            return []  # a bot user has no installations to list; it relies on deliveries
        jwt = client.credentials.jwt()
        return [i["id"] async for i in client.app_api.getiter("/app/installations", jwt=jwt)]

    def _budget_left(self, gh: GitHubAPI) -> bool:
        limit = getattr(gh, "rate_limit", None)
        return limit is None or limit.remaining > self.reserve

    async def _repository(
        self, ctx: HandlerContext, repo: dict[str, Any], summary: Summary
    ) -> bool:
        url = repo_url(str(repo["full_name"]), "pulls", query={"state": "open", "per_page": 100})
        async for pull in ctx.gh.getiter(url):
            if not self._budget_left(ctx.gh):
                return False
            summary.pulls += 1
            summary.commands += await self._pull(ctx, repo, pull)
        return True

    async def _pull(self, ctx: HandlerContext, repo: dict[str, Any], pull: dict[str, Any]) -> int:
        result = await load_config(ctx, repo)
        if result.config is None:
            return 0
        state = await load_pull_state(ctx, repo, pull, result.config)
        if not state.pairs:
            return 0
        if has_periods(state.config):
            await complete_periods(state)  # the pass is the timer of comment periods
        ran = 0
        for spoken in state.history:
            claimed = await self._pending(ctx, repo["full_name"], pull, spoken)
            if claimed is None:
                continue
            commands = list(spoken.commands)
            await handle(ctx, repo, int(pull["number"]), spoken, commands, not claimed)
            ran += 1
        if not ran:
            await check_state(state)
        return ran

    async def _pending(
        self, ctx: HandlerContext, repo: str, pull: dict[str, Any], spoken: Spoken
    ) -> bool | None:
        """None: handled (or being handled); False: never claimed; True: claimed, stalled."""
        where: tuple[Part, ...] = (
            ("issues", "comments", spoken.comment_id)
            if spoken.comment_id
            else ("issues", int(pull["number"]))
        )
        url = repo_url(repo, *where, "reactions", query={"per_page": 100})
        mine = [
            r
            async for r in ctx.gh.getiter(url)
            if (r.get("user") or {}).get("login") == ctx.bot_login
        ]
        if any(r.get("content") in DONE for r in mine):
            return None
        claims = [r for r in mine if r.get("content") == "eyes"]
        if not claims:
            return False
        now = ctx.clock()
        return True if _age(str(claims[0].get("created_at")), now) > self.grace else None
