"""The pipeline page's implementation pull requests: each proposal's linked PRs and their states.

The links are the rows of the proposal's tracking comment (`bot.github.tracking`: only the
bot's own comment is read), wherever `Resolver.location` says it lives: the proposal's
tracking issue, else the merged PR that added it (found by GitHub's search, rationed per
installation with the link handlers' budget and remembered with their answers). Requests
are bounded: only the `LINK_PROPOSALS` proposals the page passes (its highest-numbered),
at most `FETCHES` at once. The locations are cached per (repository, default-branch head
sha), as the page's histories are; the rows are read on every page build, since the link
handlers rewrite them whenever an implementation PR changes. A proposal whose links could
not be found (a failed request, the search budget spent, a file that cannot be read) is
`None`, "unknown", and its location is looked up again on a later build; one without a
tracking comment has no rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache

from bot.engine.proposal import Proposal
from bot.github.tracking import Row, read_rows
from bot.handlers.context import HandlerContext
from bot.handlers.link_resolver import Found, Resolver
from bot.handlers.link_targets import Target

__all__ = ["LINK_PROPOSALS", "Links", "Locations", "linked_pulls", "pull_url"]

log = logging.getLogger(__name__)

LINK_PROPOSALS = 100
FETCHES = 8
DEFAULT_WEB = "https://github.com"
Locations = dict[str, int | None]  # metadata path -> issue or PR with the tracking comment
Links = dict[str, list[dict[str, Any]] | None]  # metadata path -> its PRs (None: unknown)


def pull_url(target: Target, row: Row) -> str:
    """The web address of the row's PR, on the host of the proposals repository."""
    html, suffix = target.html_url.rstrip("/"), f"/{target.repo}"
    web = html.removesuffix(suffix) if html.endswith(suffix) else DEFAULT_WEB
    return f"{web}/{row.repo}/pull/{row.number}"


async def _location(ctx: HandlerContext, target: Target, path: str) -> int | str | None:
    """Where `path`'s tracking comment lives; a text when that is unknown for now."""
    resolver = Resolver(ctx, target)
    found = await resolver.found(path)
    if not isinstance(found, Found):
        return found
    where = await resolver.location(found)
    if where is None and resolver.deferred:
        return "the search budget is spent"
    return where


async def linked_pulls(
    ctx: HandlerContext,
    target: Target,
    proposals: Sequence[Proposal],
    locations: TTLCache[tuple[str, str], Locations] | None,
    head: str,
) -> Links:
    """The implementation PRs of each of `proposals` (at most `LINK_PROPOSALS` are looked at)."""
    key = (target.repo, head)
    known: Locations = dict(locations.get(key) or {}) if locations is not None else {}
    gate = asyncio.Semaphore(FETCHES)

    async def one(proposal: Proposal) -> tuple[str, list[dict[str, Any]] | None]:
        path = proposal.path
        async with gate:
            try:
                if path not in known:
                    located = await _location(ctx, target, path)
                    if isinstance(located, str):
                        log.info("links of %s in %s unknown: %s", path, target.repo, located)
                        return path, None
                    known[path] = located
                where = known[path]
                if where is None:
                    return path, []
                rows = await read_rows(ctx.gh, target.repo, where, ctx.bot_login)
            except Exception:  # one proposal's links must not break the page
                log.warning("links of %s in %s unknown", path, target.repo, exc_info=True)
                return path, None
        return path, [{**row.__dict__, "url": pull_url(target, row)} for row in rows]

    links = dict(await asyncio.gather(*(one(p) for p in proposals[:LINK_PROPOSALS])))
    if locations is not None:
        locations[key] = known
    return links
