"""The proposal side of implementation links: its tracking comment read back, and refreshed.

A proposal keeps ONE tracking comment (`bot.github.tracking`) listing its implementation
PRs and their states; each implementation PR's events rewrite its own row
(`feedback`). This module reads that list for the process (`unmerged_links`, the
gate on `implemented`) and, when a proposal PR merges, refreshes the open implementation
PRs of the proposals it changed, whose link comments show the new status or number
(`refresh_linked`).

Cost: the merged PR is the place of the proposals it added, so no search is made for
them (and the answer is remembered for the refreshes that follow); the handlers of one
merge event that both ask for the refresh (merge.py after numbering, links/) do the
work once unless the proposals changed in between.
"""

from __future__ import annotations

from dataclasses import replace

from gidgethub import BadRequest

from bot.engine.proposal import Proposal, is_proposal_path
from bot.engine.references import renamed_to
from bot.github.shapes import Repository
from bot.handlers.context import HandlerContext
from bot.handlers.links.feedback import pull_state, refresh_pull
from bot.handlers.links.resolver import Found, Resolver
from bot.handlers.links.targets import own_target, pull_files_once, repo_target
from bot.handlers.memory import event_memo
from bot.handlers.pr_state import read_thread

__all__ = ["MAX_REFRESH", "refresh_linked", "unmerged_links"]

MAX_REFRESH = 30  # implementation PRs refreshed when a proposal changes


async def unmerged_links(ctx: HandlerContext, proposals_repo: str, proposal: Proposal) -> list[str]:
    """The implementation PRs (`owner/repo#N`) of `proposal` that are still open.

    Read from the proposal's tracking comment; each open row is checked against GitHub
    (and corrected there when it changed meanwhile). PRs closed without merging do not
    count: they were abandoned. [] when the proposal has no tracking comment.
    """
    target = await repo_target(ctx, proposals_repo)
    if target is None:
        return []
    name, resolver = target.repo, Resolver(ctx, target)
    proposals = await resolver.proposals()
    path = proposal.path
    if path not in proposals:
        path = renamed_to(target.config, proposals, path) or path
    where = await resolver.location(Found(target, path, proposal))
    if where is None:
        return []
    pending = []
    for row in await ctx.github.tracking_rows(name, where, ctx.bot_login):
        if row.state != "open":
            continue
        try:
            pull = await ctx.github.pull(row.repo, row.number)
        except BadRequest as error:
            if error.status_code in (404, 410):
                continue
            raise
        state = pull_state(pull)
        if state != row.state:
            fresh = replace(row, state=state)
            await ctx.github.set_rows(
                name,
                where,
                ctx.bot_login,
                pull=(row.repo, row.number),
                rows=[fresh],
                heading=None,
            )
        if state == "open":
            pending.append(row.ref)
    return pending


async def refresh_linked(ctx: HandlerContext, repo: Repository, number: int) -> int:
    """After proposal PR `number` merged: refresh the open implementation PRs of its proposals
    (their link comments show the new status or number). Returns how many were refreshed."""
    own = await own_target(ctx, repo)
    if own is None:
        return 0
    resolver = Resolver(ctx, own)
    proposals = await resolver.proposals()
    files = await pull_files_once(ctx, own.repo, number)
    places, seen = {number}, []
    for changed in files.changed:
        if not is_proposal_path(own.config.proposals, changed):
            continue
        path = changed if changed in proposals else renamed_to(own.config, proposals, changed)
        found = await resolver.found(path) if path else None
        if not isinstance(found, Found):
            continue
        seen.append((found.path, found.proposal.number, found.proposal.status, found.title))
        # The merged PR added this proposal: it is the place, unless a tracking issue is.
        added_by = number if changed in files.added else None
        where = await resolver.location(found, added_by=added_by)
        if where is not None:
            places.add(where)
    memo, key = event_memo(ctx), ("refreshed", own.repo.lower(), number)
    done = memo.peek(key)
    if done is not None and done[0] == seen:
        return int(done[1])  # this event refreshed them already, and they have not changed
    refreshed, resolvers = 0, dict[str, Resolver]()
    for where in sorted(places):
        thread = await read_thread(ctx, own.repo, where)  # shared with the delivery
        for row in await ctx.github.tracking_rows(own.repo, where, ctx.bot_login, thread):
            if row.state != "open" or refreshed >= MAX_REFRESH:
                continue
            pull = await ctx.github.pull(row.repo, row.number)
            await refresh_pull(ctx, pull["base"]["repo"], pull, resolvers=resolvers)
            refreshed += 1
    memo.put(key, (seen, refreshed))
    return refreshed
