"""The pipeline page's implementation pull requests: each proposal's linked PRs and their states.

The links are the rows of the proposals' tracking comments (`bot.github.tracking`; only the
bot's own comments count, so nobody can forge rows). They are read from the repository's
comment stream, never proposal by proposal: on a repository's first build the comments
most recently updated (`GET issues/comments`, newest first, at most `SCAN_PAGES` pages of
100), then on every build what was written or edited since the last one (`since`, oldest
first: while nothing changes the address stays the same, so the request is a conditional
one answered 304). A tracking comment lives on its proposal's tracking issue or on the PR
that added the proposal (`Resolver.location`). Whose it is comes from the proposals'
metadata where that names the tracking issue (or the proposal is numbered by its issue);
otherwise that issue or PR is looked up once (`GET issues/N`, and for a PR its files) and
the answer kept: at most `LOOKUPS` lookups a build, so a build searches nothing.

A proposal shows the rows of its tracking comment. One with none shows none ([]) only when
every tracking comment of the repository has been seen (the first scan reached the end of
the stream) and every one of them has been attributed; otherwise its links are unknown
(None), and `Linked.unknown` says why, in one of two kinds the page keeps apart: "not
looked up" (the first scan stopped at its bound of `SCAN_PAGES` pages, or tracking
comments wait beyond the `LOOKUPS` bound of a build) and "lookup failed" (the stream, or
an issue holding a tracking comment, could not be read). A comment whose issue names no
proposal is not attributed to any. What is kept per repository (`LinkIndex`) is bounded in
entries: see `bot.pipeline_page`.

The web addresses the page links to (a proposal's files, its tracking issue, a profile, an
implementation PR) are built here from names checked as GitHub allows them
(`bot.github.urls.web_url`); a name that is not one gets no link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from gidgethub import GitHubException

from bot.engine.proposal import owning_proposal
from bot.engine.references import by_number, find_references, match_path, renamed_to
from bot.github.comments import marker_tag
from bot.github.repo_comments import PER_PAGE, issue_number
from bot.github.shapes import Comment, login_of
from bot.github.tracking import MARKER, Row, rows_of
from bot.github.urls import Path, profile_url, web_url
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import Target

__all__ = [
    "FAILED",
    "LOOKUPS",
    "NOT_LOOKED_UP",
    "SCAN_PAGES",
    "LinkIndex",
    "Linked",
    "Links",
    "author_url",
    "file_url",
    "issue_url",
    "linked_pulls",
    "pull_url",
    "read_stream",
]

log = logging.getLogger(__name__)

SCAN_PAGES = 5  # pages of 100 comments read at most per build
LOOKUPS = 8  # issues or PRs looked up at most per build
TRACKED = 5000  # tracking comments kept per repository
OWNERS = 5000  # lookup answers kept per repository
Links = dict[str, list[dict[str, Any]] | None]  # metadata path -> its PRs (None: unknown)
NOT_LOOKED_UP, FAILED = "not looked up", "lookup failed"
Failure = (GitHubException, aiohttp.ClientError, TimeoutError)


@dataclass
class Tracked:
    """The bot's tracking comment on one issue or PR."""

    comment: int
    updated: str
    rows: list[Row]
    on_pull: bool = False  # the comment is on a PR (GitHub's `html_url` says `/pull/`)


@dataclass
class LinkIndex:
    """What one repository's comment stream has shown of its tracking comments."""

    tracked: dict[int, Tracked] = field(default_factory=dict)  # issue or PR -> its comment
    owners: dict[int, str | None] = field(default_factory=dict)  # -> proposal path it names
    mark: str | None = None  # the stream is read on from comments updated at or after this
    scanned: bool = False  # the first scan was made
    complete: bool = False  # every tracking comment of the repository is in `tracked`

    def take(self, comment: Comment, tag: str, bot_login: str) -> None:
        """Keep `comment` if it is the bot's tracking comment (the oldest on its issue)."""
        author = login_of(comment.get("user"))
        body = str(comment.get("body") or "")
        number = issue_number(comment)
        if author.lower() != bot_login.lower() or tag not in body or number is None:
            return
        known = self.tracked.get(number)
        ident = int(comment.get("id") or 0)
        if known is not None and known.comment < ident:
            return
        self.tracked.pop(number, None)
        on_pull = "/pull/" in str(comment.get("html_url") or "")
        updated = str(comment.get("updated_at") or "")
        self.tracked[number] = Tracked(ident, updated, rows_of(body), on_pull)
        if len(self.tracked) > TRACKED:
            oldest = min(self.tracked, key=lambda n: self.tracked[n].updated)
            del self.tracked[oldest]
            self.complete = False

    def answer(self, number: int, path: str | None) -> None:
        self.owners[number] = path
        while len(self.owners) > OWNERS:
            del self.owners[next(iter(self.owners))]


@dataclass(frozen=True)
class Linked:
    """The implementation PRs of each proposal (`links`); why those that are None are not
    known (`kind`: `NOT_LOOKED_UP` or `FAILED`, and a sentence); and the issue or PR holding
    each proposal's tracking comment, where one is known (`holders`); and when each
    proposal's merged implementation PRs merged (`merged`: GitHub's `merged_at`, None for a
    row written before the bot recorded it), and which holders are issues (`issues`), for
    KEP-1's metrics."""

    links: Links
    kind: str | None = None
    unknown: str | None = None
    holders: dict[str, int] = field(default_factory=dict)
    merged: dict[str, list[str | None]] = field(default_factory=dict)
    issues: dict[str, int] = field(default_factory=dict)  # holders that are issues, not PRs


def pull_url(root: str, row: Row) -> str | None:
    """The web address of the row's PR (None: the row names no repository GitHub allows)."""
    return web_url(root, row.repo, "pull", row.number)


def _shown(root: str, row: Row) -> dict[str, Any]:
    """What the page shows of an implementation PR (its merge time goes to the metrics)."""
    shown = {"repo": row.repo, "number": row.number, "state": row.state, "title": row.title}
    return {**shown, "url": pull_url(root, row)}


def file_url(root: str, repo: str, ref: str, path: str, line: int | None = None) -> str | None:
    """A file of `repo` at `ref` (a branch or a commit) on GitHub, at `line` if given."""
    return web_url(root, repo, "blob", Path(ref), Path(path), fragment=f"L{line}" if line else None)


def issue_url(root: str, repo: str, number: int) -> str | None:
    """Issue or pull request `number` of `repo` (GitHub sends an issue address of a PR on)."""
    return web_url(root, repo, "issues", number)


def author_url(root: str, author: str) -> str | None:
    """The profile of an author as metadata lists them (`@login` or `login`)."""
    return profile_url(root, author)


async def read_stream(ctx: HandlerContext, repo: str, index: LinkIndex) -> bool:
    """Read the comment stream on from `index.mark` (or look back, the first time) into
    `index`; False when it could not be read (logged)."""
    try:
        await _read_stream(ctx, repo, index)
    except Failure as error:
        log.warning("the comments of %s could not be read: %r", repo, error)
        return False
    return True


async def _read_stream(ctx: HandlerContext, repo: str, index: LinkIndex) -> None:
    tag, first = marker_tag(MARKER), not index.scanned
    newest, since, page = index.mark, index.mark, 1
    complete = index.complete
    for _ in range(SCAN_PAGES):
        items = await ctx.github.comments_page(repo, page=page, since=since, newest_first=first)
        for comment in items:
            index.take(comment, tag, ctx.bot_login)
            updated = str(comment.get("updated_at") or "")
            newest = max(newest or updated, updated)
        if len(items) < PER_PAGE:
            complete = complete or first
            break
        if first or newest == since:
            page += 1  # looking back, or a full page updated within one second
        else:
            since, page = newest, 1  # on from the newest seen: nothing shifts under the reader
    else:
        complete = complete and not first
    index.scanned, index.complete, index.mark = True, complete, newest


async def _lookup(
    ctx: HandlerContext, target: Target, number: int, paths: Collection[str]
) -> str | None:
    """The proposal whose tracking comment issue or PR `number` holds, as it names it."""
    repo, config = target.repo, target.config
    issue = await ctx.github.find_issue(repo, number)
    if issue is None:
        return None
    if issue.get("pull_request"):
        changed = await ctx.github.changed_paths(repo, number)
        known = {*changed, *paths}
        owned = {p for c in changed if (p := owning_proposal(config, c, known.__contains__))}
        return min(owned) if owned else None
    found = by_number(config, paths, number)
    text = f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}"
    for reference in find_references(text, config):
        if found is not None:
            break
        if not reference.about(repo):
            continue
        if reference.kind == "number" and reference.number is not None:
            found = by_number(config, paths, reference.number)
        elif reference.kind == "path" and reference.path:
            found = match_path(config, paths, reference.path, has_ref=reference.has_ref)
    return found


async def linked_pulls(
    ctx: HandlerContext,
    target: Target,
    paths: Sequence[str],
    named: Mapping[int, str],
    index: LinkIndex,
    *,
    streamed: bool,
    root: str,
) -> Linked:
    """The implementation PRs of each proposal of `paths` (metadata paths on the default
    branch), from `index` as `read_stream` left it (`streamed`: whether it could read);
    `named`: the issues the proposals' metadata names as their tracking issues; `root`:
    the web root the PRs' addresses are on."""
    if not streamed:
        unread = (
            "the repository's comments could not be read from GitHub; the next view tries again"
        )
        return Linked(dict.fromkeys(paths), FAILED, unread)
    current = set(paths)
    pending = [n for n in index.tracked if n not in named and n not in index.owners]
    pending.sort(key=lambda n: index.tracked[n].updated, reverse=True)
    failed: list[int] = []

    async def look(number: int) -> None:
        try:
            index.answer(number, await _lookup(ctx, target, number, current))
        except Failure as error:
            failed.append(number)
            log.info(
                "whose tracking comment %s#%s holds is unknown: %r", target.repo, number, error
            )

    await asyncio.gather(*(look(n) for n in pending[:LOOKUPS]))
    links: Links = {}
    holders: dict[str, int] = {}
    merged: dict[str, list[str | None]] = {}
    issues: dict[str, int] = {}
    waiting = 0
    for number, tracked in index.tracked.items():
        owner = named.get(number) or index.owners.get(number)
        if number not in named and number not in index.owners:
            waiting += 1
            continue
        if owner is not None and owner not in current:
            owner = renamed_to(target.config, current, owner)
        if owner is not None and (owner not in links or number in named):
            links[owner] = [_shown(root, row) for row in tracked.rows]
            holders[owner] = number
            merged[owner] = [row.merged_at for row in tracked.rows if row.state == "merged"]
            if not tracked.on_pull:
                issues[owner] = number
    known_none = index.complete and not waiting
    kind: str | None = None
    why: str | None = None
    if failed:
        kind = FAILED
        why = (
            f"{len(failed)} issue(s) holding tracking comments could not be read from GitHub, "
            "so whose comments they are is not known; the next view tries again"
        )
    elif waiting:
        kind = NOT_LOOKED_UP
        why = (
            f"{waiting} tracking comment(s) still wait to be matched to their proposals; "
            f"each view looks up at most {LOOKUPS}"
        )
    elif not index.complete:
        kind = NOT_LOOKED_UP
        why = (
            f"the page reads at most the {SCAN_PAGES * PER_PAGE} most recently updated comments "
            "of the repository when it begins following it, and this proposal's tracking "
            "comment, if it has one, was not among them"
        )
    result = {path: links.get(path, [] if known_none else None) for path in paths}
    return Linked(result, kind, why, holders, merged, issues)
