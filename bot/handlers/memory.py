"""What the implementation-link handlers remember, and for how long (docs/design.md B6).

Nothing here is authoritative: GitHub is. Two scopes:

- per installation client (`client_memory`), for minutes: which repositories of the
  installation hold proposals, whether a pull request at a given head commit is a proposal
  PR, which merged PR added a proposal (found, or not found), and the budget of GitHub's
  search API (30 requests a minute per installation on github.com, shared by every
  instance), so that no burst of events can exhaust it;
- per event (`event_memo`), for the event's life: what the handlers of one delivery would
  otherwise read twice (commands.py and links/ both look at every PR comment, merge.py
  and links/ both refresh after a merge). The handlers of one delivery share one
  `HandlerContext` (so does one reconcile pass), and each context its own gateway
  (`bot/github/gateway.py`), so the memo hangs on the gateway and goes with it. Only
  what the event's own work cannot change is kept there: the PR as first read, its file
  list, whether it is an implementation PR, the proposals repositories and their
  configurations. A handler that writes to the PR takes the PR as first read out of the
  memo (`links.targets.take_pull`), so later readers see its writes. An issue's or PR's
  comments (`event_thread`) are kept too, as one list every handler of the event shares:
  a handler that posts a comment adds it to that list.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from dataclasses import dataclass, field

import cachetools

from bot.github import caches
from bot.github.gateway import EventMemo
from bot.github.shapes import Comment
from bot.handlers.context import HandlerContext

__all__ = ["ClientMemory", "EventMemo", "client_memory", "event_memo", "event_thread"]

HOLDERS_TTL = 300.0  # seconds a discovery of the proposals repositories is reused
FOUND_TTL, MISSED_TTL = 3600.0, 300.0  # the PR that added a proposal: found, not found
PROPOSAL_PULL_TTL = 120.0  # whether a PR (at one head commit) changes proposals
SEARCH_BUDGET, SEARCH_WINDOW = 10, 60.0  # searches per client and window (GitHub allows 30)

Holder = tuple[str, str, str, bool]  # full name, default branch, html_url, private


@dataclass
class ClientMemory:
    """What one installation's client has learnt recently (dropped with the client)."""

    holders: tuple[Holder, ...] | None = None
    holders_until: float = 0.0
    listing_refused: bool = False  # no installation listing (a personal token)
    found: cachetools.TTLCache[tuple[str, str], int] = field(
        default_factory=lambda: caches.ttl(caches.LEARNT_BYTES, FOUND_TTL)
    )
    missed: cachetools.TTLCache[tuple[str, str], bool] = field(
        default_factory=lambda: caches.ttl(caches.LEARNT_BYTES, MISSED_TTL)
    )
    proposal_pulls: cachetools.TTLCache[tuple[object, ...], bool] = field(
        default_factory=lambda: caches.ttl(caches.LEARNT_BYTES, PROPOSAL_PULL_TTL)
    )
    searches: deque[float] = field(default_factory=deque)
    locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def fresh_holders(self) -> tuple[Holder, ...] | None:
        """The proposals repositories, while the last discovery is recent enough."""
        if self.holders is not None and time.monotonic() < self.holders_until:
            return self.holders
        return None

    def remember_holders(self, holders: tuple[Holder, ...]) -> None:
        self.holders, self.holders_until = holders, time.monotonic() + HOLDERS_TTL

    def take_search(self) -> bool:
        """Whether one more search request fits this window's budget (and count it if so)."""
        now = time.monotonic()
        while self.searches and now - self.searches[0] >= SEARCH_WINDOW:
            self.searches.popleft()
        if len(self.searches) >= SEARCH_BUDGET:
            return False
        self.searches.append(now)
        return True

    def lock(self, key: tuple[str, str]) -> asyncio.Lock:
        """One lookup at a time per key: concurrent refreshes share one search."""
        found = self.locks.get(key)
        if found is None:
            found = asyncio.Lock()
            self.locks[key] = found
        return found


def client_memory(ctx: HandlerContext) -> ClientMemory:
    """What the installation's client has learnt: kept by the gateway, dropped with it."""
    return ctx.github.memory(ClientMemory)


def event_memo(ctx: HandlerContext) -> EventMemo:
    """The delivery's memo: the gateway of the delivery's context keeps it."""
    return ctx.github.memo


async def event_thread(
    ctx: HandlerContext, repo: str, number: int, count: int | None = None
) -> list[Comment]:
    """The comments of `repo#number`, read once per event: the handlers of one event share
    one list, and one that posts a comment adds it to the list (as `post_once` and
    `upsert_comment` do with the list they are given). `count`, the issue's or PR's
    `comments` as just read, lets the read go on from the last one
    (`bot.github.comments.read_thread`). Concurrent callers share the one read; a failure
    is not remembered."""
    memo, key = event_memo(ctx), ("thread", repo.lower(), number)
    task = memo.peek(key)
    if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
        task = asyncio.ensure_future(ctx.github.thread(repo, number, count))
        memo.put(key, task)
    thread: list[Comment] = await asyncio.shield(task)
    return thread
