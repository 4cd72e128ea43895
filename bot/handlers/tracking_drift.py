"""Reconcile's part in keeping tracking issues true (docs/design.md B9, B10).

Each pass, one search per installation lists the issues updated since its last search
(newest first, one page of `SEARCH_PAGE`; the first pass after a start: the newest
updated ones). Each of them that is a proposal's tracking issue (found by its number:
`tracking.issue: number`) is synced again from the default branch's metadata, so a label or
milestone a person changed is put back; the search answer carries the issue's labels and
milestone, so the sync reads only its comments. On the same issues, an opt-in command
(`track`, `untrack`) that carries no outcome reaction of the bot's is run: one never
claimed, or claimed longer ago than reconcile's grace (the instance died mid-way), as
reconcile does for pull requests. A comment edited since it was written is not run here:
its edit's delivery decides what it counts for (bot.handlers.release_commands).

Cost: the search (from GitHub's search budget, 30 a minute, not the 5,000 an hour; the
client's view of the core budget is kept: `GitHub.search_issues`), and per tracking issue
updated, its comments and what differs; per repository with such issues, its
configuration and its default branch's tree (conditional), and each proposal's metadata
by blob sha (kept per installation).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

from gidgethub import BadRequest

from bot.engine.authorize import Spoken
from bot.engine.commands import parse_commands
from bot.engine.config import Config
from bot.github.comments import Thread
from bot.github.shapes import Issue, Repository, is_bot, login_of
from bot.handlers.context import HandlerContext, parse_time
from bot.handlers.release_commands import DONE, release_commands, run_issue_commands
from bot.handlers.tracking_issues import load_at, proposal_of_issue, sync_issue

__all__ = ["Drift"]

log = logging.getLogger(__name__)


SEARCH_MARGIN = datetime.timedelta(minutes=2)  # GitHub's search sees an update this late
SEARCH_PAGE = 100  # tracking issues looked at per installation and pass, newest updates first


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _repo_of(item: Issue) -> str:
    """`owner/name` of an issue as search lists it (from its `repository_url`)."""
    url = str(item.get("repository_url") or "")
    return "/".join(url.rstrip("/").split("/")[-2:]).lower()


class Drift:
    """Reconcile's part (docs/design.md B9): the tracking issues updated since the last pass
    of each installation, found with one search, synced again, so a label or milestone a
    person changed is put back. Remembers, per installation, when its last search began."""

    def __init__(self, grace: float = 600.0) -> None:
        self.grace = grace  # how long a claimed command may stay without an outcome
        self._since: dict[int, datetime.datetime] = {}

    async def sweep(
        self, ctx: HandlerContext, installation: int, repos: Sequence[Repository]
    ) -> int:
        """Sync the tracking issues of `repos` updated since the last sweep; how many."""
        started = ctx.clock()
        repos = [repo for repo in repos if await self._tracks(ctx, repo)]
        owners = sorted({str(repo["full_name"]).split("/")[0] for repo in repos})
        if not owners:  # no repository keeps tracking issues: no search
            return 0
        terms = [f"user:{owner}" for owner in owners[:5]] + ["is:issue"]
        since = self._since.get(installation)
        if since is not None:
            terms.append(f"updated:>={_stamp(since - SEARCH_MARGIN)}")
        query: dict[str, str | int] = {
            "q": " ".join(terms),
            "sort": "updated",
            "order": "desc",
            "per_page": SEARCH_PAGE,
        }
        found = await ctx.github.search_issues(query)
        by_name = {str(repo["full_name"]).lower(): repo for repo in repos}
        items = [item for item in found.get("items") or [] if _repo_of(item) in by_name]
        synced = 0
        for name in dict.fromkeys(_repo_of(item) for item in items):
            mine = [item for item in items if _repo_of(item) == name]
            synced += await self._repository(ctx, by_name[name], mine)
        self._since[installation] = started
        return synced

    @staticmethod
    async def _tracks(ctx: HandlerContext, repo: Repository) -> bool:
        """Whether `repo`'s configuration keeps tracking issues (read from the configuration
        cache: the pass has just read it for the repository's pull requests)."""
        name, branch = str(repo["full_name"]), str(repo["default_branch"])
        result = await ctx.github.config(name, branch, cache=ctx.config_cache)
        return result.config is not None and result.config.tracking is not None

    async def _repository(
        self, ctx: HandlerContext, repo: Repository, items: Sequence[Issue]
    ) -> int:
        name, branch = str(repo["full_name"]), str(repo["default_branch"])
        result = await ctx.github.config(name, branch, cache=ctx.config_cache)
        config = result.config
        if config is None or config.tracking is None:
            return 0
        listing = await ctx.github.tree(name, branch)
        synced = 0
        for item in items:
            path = proposal_of_issue(config, listing.paths, int(item["number"]))
            proposal = await load_at(ctx, name, config, path, listing.blobs) if path else None
            if proposal is None:
                continue
            try:
                done = await sync_issue(ctx, repo, config, proposal, issue=item)
                if done is not None:
                    await self._commands(ctx, repo, config, done.issue, done.thread)
            except BadRequest:  # one issue's failure stops no other (docs/design.md I9)
                log.exception("reconcile: tracking issue %s#%s failed", name, item["number"])
                continue
            synced += done is not None
        return synced

    async def _commands(
        self,
        ctx: HandlerContext,
        repo: Repository,
        config: Config,
        number: int,
        thread: Thread,
    ) -> None:
        """Run the opt-in commands of the issue's comments that have no outcome yet."""
        name = str(repo["full_name"])
        for comment in thread:
            user = comment.get("user")
            if is_bot(user) or login_of(user) == ctx.bot_login:
                continue
            if comment.get("updated_at") != comment.get("created_at"):
                continue  # edited: its edit's delivery decided
            commands = release_commands(parse_commands(comment.get("body") or "", config.command))
            if not commands:
                continue
            comment_id = int(comment["id"])
            if not await self._pending(ctx, name, comment_id):
                continue
            spoken = Spoken(login_of(user), tuple(commands), comment_id)
            refused = await run_issue_commands(ctx, repo, config, number, spoken, commands)
            content = DONE[1] if refused else DONE[0]
            await ctx.github.react(name, comment_id=comment_id, content=content)

    async def _pending(self, ctx: HandlerContext, repo: str, comment_id: int) -> bool:
        """Whether the comment's commands are to run now: never claimed (claimed now), or
        claimed past the grace with no outcome."""
        reactions = await ctx.github.reactions(repo, comment_id=comment_id)
        mine = [r for r in reactions if login_of(r.get("user")) == ctx.bot_login]
        if any(r.get("content") in DONE for r in mine):
            return False
        claims = [r for r in mine if r.get("content") == "eyes"]
        if not claims:
            return await ctx.github.claim(repo, comment_id=comment_id)
        claimed = parse_time(str(claims[0].get("created_at")))
        return (ctx.clock() - claimed).total_seconds() > self.grace
