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

A pass does not read every open pull request again (docs/design.md B8 says what it costs).
Per repository it lists the open pull requests, most recently updated first, with a
conditional request (GitHub answers 304, free, when none moved), and looks only at those
worth a look: one never looked at by this reconciler (so the first pass after a start looks
at all of them, as a restart must), one whose `updated_at` or head moved since it was
looked at (a comment, an edit, a push, a label), and one whose recorded due time has come:
a comment period's end, a claimed command's grace, or at once for one with work left
(commands run by the pass, a period's move waiting for its implementations, a look that
failed). What it remembers is one `Seen` per open pull request, at most `REMEMBERED` in
all (beyond that a pull request is looked at on every pass); a pull request no longer
listed open, and a repository no longer listed, are forgotten.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine.authorize import Replay, Spoken, Verdict
from bot.engine.verbs import has_periods
from bot.github.auth import AppAuth
from bot.github.gateway import GitHub, app_installations
from bot.github.shapes import Pull, Repository, login_of
from bot.github.urls import Query
from bot.handlers.commands import DONE, handle
from bot.handlers.context import HandlerContext, RunningBot, parse_time
from bot.handlers.periods import complete_periods, ended
from bot.handlers.pr_state import ProposalPair, load_config, load_pull_state
from bot.handlers.proposals import check_state
from bot.handlers.tracking_drift import Drift

log = logging.getLogger(__name__)

REMEMBERED = 10_000  # open pull requests remembered, all repositories together (about 4 MB)
# GitHub's times are whole seconds, so a pull request updated in the second its list was
# read may move again with the same `updated_at`: it is looked at on the next pass too.
# The margin also covers a GitHub clock behind the bot's by up to that much.
SAME_SECOND = datetime.timedelta(seconds=5)
OPEN_PULLS: Query = {"state": "open", "sort": "updated", "direction": "desc", "per_page": 100}


@dataclass
class Summary:
    listed: int = 0  # open pull requests listed
    pulls: int = 0  # of them, looked at
    commands: int = 0
    stopped_for_budget: bool = False


@dataclass(frozen=True)
class Seen:
    """An open pull request as the pass that last looked at it left it."""

    moved: tuple[str, str]  # its `updated_at` and head sha, as listed
    due: datetime.datetime | None  # look again from then on, moved or not (None: not unless)


def _age(timestamp: str, now: datetime.datetime) -> float:
    return (now - parse_time(timestamp)).total_seconds()


def _earliest(*times: datetime.datetime | None) -> datetime.datetime | None:
    return min((t for t in times if t is not None), default=None)


def _recent(updated_at: str, now: datetime.datetime) -> bool:
    try:
        return parse_time(updated_at) >= now - SAME_SECOND
    except ValueError:
        return True


def period_due(
    verdicts: Sequence[tuple[ProposalPair, Verdict, Replay]], now: datetime.datetime
) -> datetime.datetime | None:
    """When a comment period of these proposals has a move to make: `now` for one that has
    ended but whose move is not on the branch (it waits for the linked implementations to
    merge, or its write failed), else the earliest end of a running period; None when no
    period runs or open concerns pause it (resolving one is a comment: the PR moves)."""
    due = None
    for pair, _, replayed in verdicts:
        step = ended(replayed)
        moved_to = step.transition.to if step is not None and step.transition else None
        if moved_to is not None and pair.head_status != moved_to:
            return now
        if replayed.period is not None:
            due = _earliest(due, replayed.period.ends_at(replayed.concerns))
    return due


class Reconciler:
    """Runs reconcile passes for a started Bot (see bot.routing)."""

    def __init__(self, bot: RunningBot, *, grace: float = 600.0, reserve: int = 500) -> None:
        self.bot = bot
        self.grace = grace  # how long a claimed command may stay without an outcome
        self.reserve = reserve  # rate-limit requests left untouched for live deliveries
        self._seen: dict[str, dict[int, Seen]] = {}  # by repository (lower-case full name)
        self._drift = Drift(grace)  # tracking issues: when each installation was searched

    def remembered(self) -> int:
        """How many open pull requests the reconciler remembers (at most `REMEMBERED`)."""
        return sum(len(pulls) for pulls in self._seen.values())

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                await self.pass_once()
            except Exception:  # a failed pass must not end the loop (docs/design.md I9)
                log.exception("reconcile pass failed")
            await asyncio.sleep(interval)

    async def pass_once(self) -> Summary:
        summary = Summary()
        listed: set[str] = set()
        for installation in await self._installations():
            ctx = await self.bot.context(installation)
            repos = []
            async for repo in ctx.github.installation_repositories():
                listed.add(str(repo["full_name"]).lower())
                repos.append(repo)
                if not await self._repository(ctx, repo, summary):
                    summary.stopped_for_budget = True
                    break
            if not summary.stopped_for_budget:
                await self._tracking(ctx, installation, repos)
        if not summary.stopped_for_budget:
            for gone in set(self._seen) - listed:
                del self._seen[gone]
        log.info(
            "reconcile pass: %d open pull requests, %d looked at, %d commands run",
            summary.listed,
            summary.pulls,
            summary.commands,
            extra={"stopped_for_budget": summary.stopped_for_budget},
        )
        return summary

    async def _tracking(
        self, ctx: HandlerContext, installation: int, repos: Sequence[Repository]
    ) -> None:
        """The tracking issues updated since the last pass, synced again (docs/design.md B9)."""
        try:
            await self._drift.sweep(ctx, installation, repos)
        except Exception:  # a failed sweep stops no other work (docs/design.md I9)
            log.exception("reconcile: tracking issues of installation %s failed", installation)

    async def _installations(self) -> list[int]:
        client = self.bot.client
        if not isinstance(client.credentials, AppAuth):
            return []  # a bot user has no installations to list; it relies on deliveries
        jwt = client.credentials.jwt()
        return await app_installations(client, jwt)

    def _budget_left(self, github: GitHub) -> bool:
        left = github.rate_limit_left()
        return left is None or left > self.reserve

    async def _repository(self, ctx: HandlerContext, repo: Repository, summary: Summary) -> bool:
        """Look at the open pull requests of `repo` worth a look; False when the rate limit
        ran low before all of them were."""
        name = str(repo["full_name"])
        now = ctx.clock()
        pulls = await ctx.github.open_pulls(name, OPEN_PULLS)
        summary.listed += len(pulls)
        before = self._seen.get(name.lower())  # None: not listed yet: look at every one
        room = REMEMBERED - self.remembered() + len(before or {})
        after: dict[int, Seen] = {}
        complete = True
        for pull in pulls:
            number = int(pull["number"])
            moved = (str(pull.get("updated_at") or ""), str(pull["head"]["sha"]))
            seen = before.get(number) if before is not None else None
            if seen is not None and seen.moved == moved and (seen.due is None or seen.due > now):
                after[number] = seen
                continue
            if not self._budget_left(ctx.github):
                complete = False  # not remembered: looked at on the next pass
                continue
            summary.pulls += 1
            try:
                ran, due = await self._pull(ctx, repo, pull)
            except Exception:  # one pull request's failure stops no other (docs/design.md I9)
                log.exception("reconcile: %s#%d failed; it is looked at again", name, number)
                continue
            summary.commands += ran
            if len(after) < room:
                after[number] = Seen(moved, now if _recent(moved[0], now) else due)
        self._seen[name.lower()] = after
        return complete

    async def _pull(
        self, ctx: HandlerContext, repo: Repository, pull: Pull
    ) -> tuple[int, datetime.datetime | None]:
        """End the pull request's comment periods that ran out, run its commands without an
        outcome, check it; the commands run, and when to look at it again even if it does
        not move (None: only once it moves)."""
        result = await load_config(ctx, repo)
        if result.config is None:
            return 0, None
        state = await load_pull_state(ctx, repo, pull, result.config)
        if not state.pairs:
            return 0, None
        if has_periods(state.config):
            await complete_periods(state)  # the pass is the timer of comment periods
        ran, due = 0, None
        for spoken in state.history:
            claimed = await self._pending(ctx, repo["full_name"], pull, spoken)
            if isinstance(claimed, datetime.datetime):
                due = _earliest(due, claimed)  # claimed by an instance; its grace runs
                continue
            if claimed is None:
                continue
            commands = list(spoken.commands)
            await handle(ctx, repo, int(pull["number"]), spoken, commands, not claimed)
            ran += 1
        if ran:
            return ran, ctx.clock()  # what ran is looked at again on the next pass
        verdicts = await check_state(state)
        return 0, _earliest(due, period_due(verdicts, ctx.clock()))

    async def _pending(
        self, ctx: HandlerContext, repo: str, pull: Pull, spoken: Spoken
    ) -> bool | datetime.datetime | None:
        """None: handled; False: never claimed; True: claimed, stalled; a time: claimed, and
        the claim's grace ends then (until then it is being handled)."""
        reactions = await ctx.github.reactions(
            repo, comment_id=spoken.comment_id or None, number=int(pull["number"])
        )
        mine = [r for r in reactions if login_of(r.get("user")) == ctx.bot_login]
        if any(r.get("content") in DONE for r in mine):
            return None
        claims = [r for r in mine if r.get("content") == "eyes"]
        if not claims:
            return False
        claimed_at = str(claims[0].get("created_at"))
        if _age(claimed_at, ctx.clock()) > self.grace:
            return True
        return parse_time(claimed_at) + datetime.timedelta(seconds=self.grace)
