"""The read-only pipeline page: `GET /pipeline/{owner}/{repo}` (HTML) and `.../{repo}.json`.

Shows an installed repository's proposals by status and area (number, title, authors) and,
where the metadata has `latest-milestone` and `stage` (KEP), a roadmap per milestone. Only
repositories an installation of the App can see (with a personal token: the repositories
the token can push to, not every public one it can read) are shown; private ones only when
`KEPBOT_PAGE_PRIVATE` allows it (default off); anything else is a 404 that reveals nothing.
An owner or repository name GitHub would not allow (`bot.github.urls.valid_repo`) is a 404
with no request made. Answers are cached for `TTL_SECONDS`, the 404s ("not shown") as long
as the pages, and concurrent views of a repository that is not cached share one build, so
views cost GitHub at most one build (or one refused lookup) per repository and TTL. Each
client is limited to `KEPBOT_PAGE_REQUESTS_PER_MINUTE` page requests (a bucket of
`KEPBOT_PAGE_BURST`, `bot.page_guard`); past it the page answers 429 with `Retry-After`.
When GitHub cannot be read the page answers 502, logged on one line, and nothing is cached.

What a build asks GitHub (docs/design.md C5). The page follows each repository it shows
as its default branch moves (a `Watch`), so that a build asks only for what changed:

- every build: the repository (`GET /repos/{repo}`, through the ETag cache: the access
  rule above is checked every time) and the comments written since the last build
  (`bot.pipeline_links`, one conditional request when there are none);
- the head of the default branch (`GET git/ref/heads/{branch}`, conditional), unless the
  repository's `pushed_at` (GitHub moves it with every push to any branch, a merge
  included) is what it was when the head was last read, that read began at least
  `PUSH_MARGIN_SECONDS` after it (so that neither a push within the same second nor
  clocks apart by less than that can go unseen), and less than `HEAD_CHECK_SECONDS` ago;
- when the head moved: the recursive tree of the new head (one request), the
  configuration (when the repository has its own file, only if the tree shows it
  changed), the metadata files whose blob sha was not read yet, by sha (`GET
  git/blobs`), or from the archive of the commit when more than `BLOB_FETCHES` are
  missing, as on a first build (two requests: `bot.github.trees.read_archive`), and what
  dating the statuses that moved takes (below);
- on the first build only: the installation that covers the repository (App mode).

So the first build of a repository the flagship's size (656 KEPs) costs about 20
requests, a build with the default branch unchanged 2, and one after a merge 4, plus one
per changed metadata file, plus, when statuses moved, the comparison and (when more than
one commit came in) one page of history per moved proposal; a configuration that is not
the repository's own file is read again too (`bot.github.repo_config`, cached for a
minute). `tests/handlers/test_pipeline_cost.py` pins these lists. Until
the issues holding the tracking comments a first build found are all looked up, a build
also makes up to `pipeline_links.LOOKUPS` such lookups.

Time in state (`since`, `days_in_state`) is kept as the default branch moves, not read per
proposal per build: each proposal has a `Stint` (its status, since when). When the head
moves from A to B, a proposal whose status is unchanged keeps its stint (`carry`); one whose
status changed, or that is new, is dated: with a single commit between A and B (`GET
compare/A...B`, one request) at that commit's date; otherwise from its metadata file's
history (`GET commits?path=...&sha=B`, one page of `HISTORY_COMMITS`), walking back through
the commits between A and B, reading the file at each (`GET contents`) until its status
differs, the oldest commit of that run giving `since`. A repository's first build has no
history to go on: it dates only the `BACKFILL` highest-numbered proposals (`by_recency`: the
newest, the likeliest to be moving) that way, over the whole history (one request each
when the file changed once), and leaves the others unknown until their status next
changes. Dating all of them would cost a request or more per proposal (656 history pages
and hundreds of file reads on the flagship, far past the first build's budget of 50), and
a bounded backfill that goes on at later builds would spend requests on views where
nothing changed; unknown, said so, is the honest price. Every build spends at most
`HISTORY_REQUESTS` requests on dating; a proposal the budget cannot date, or whose page of
history is all in its status, is unknown too. Unknown is `since` and `days_in_state`
null, with `since_unknown` saying why.
`days_in_state` is whole days up to the time the page is built.

Implementation pull requests come from the tracking comments (`bot.pipeline_links`).
KEP-1's metrics (`metrics`, docs/design.md B12) are computed from the build by
`bot.pipeline_metrics`, no request of their own.

Each proposal's metadata is checked when its file is read (`bot.pipeline_rows`: the rules
about the metadata file itself, such as an unknown status, a bad date or a placeholder
number on the default branch), so the page lists the defects in the open at no request.
`bot.pipeline_rows` shapes the build; what a visitor sees is a view of it
(`bot.pipeline_query`: filters, search and order from the query string), drawn by
`bot.pipeline_html` with the charts of `bot.pipeline_charts` and the stylesheet
`pipeline.css` (`GET /pipeline.css`); a view costs GitHub nothing beyond the build it is cut from.

Every cache the page keeps, with its bound (written down here only):

- built pages: `PAGES` (256) repositories for `TTL_SECONDS` each; "not shown": `MISSES`
  (4,096) repositories for as long;
- watches, what is followed per repository (head, configuration, per metadata file its
  blob sha and row, the stints, the link index): `WATCHES` (16) repositories, the least
  recently built dropped first; per repository at most `MAX_PROPOSALS` (1,000)
  proposals, and in its link index `pipeline_links.TRACKED` (5,000) tracking comments and
  `pipeline_links.OWNERS` (5,000) answers of lookups;
- blob contents by sha, shared by every repository (`bot.github.trees.BlobCache`):
  `BLOB_BYTES` (8 MiB);
- an archive is read as it arrives and dropped once read: at most
  `bot.github.trees.ARCHIVE_MEMORY` (8 MiB) of it in memory, the rest in a temporary
  file, `ARCHIVE_BYTES` (256 MiB) in all; past that the files are read by sha instead.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import cachetools
from aiohttp import web
from cachetools import TTLCache
from gidgethub import BadRequest, GitHubException

from bot.engine.config import CONFIG_PATH, Config
from bot.engine.metrics import Facts, facts_of
from bot.engine.pipeline import Stint, by_recency, carry
from bot.engine.proposal import is_proposal_path, load_proposal
from bot.engine.tree import MemoryTree
from bot.github.auth import AppAuth
from bot.github.gateway import GitHub, installation_of
from bot.github.repo_config import ConfigResult
from bot.github.shapes import Repository
from bot.github.trees import (
    BlobCache,
    Span,
)
from bot.github.urls import UnsafeUrl, valid_repo, web_root
from bot.handlers.context import HandlerContext, RunningBot, parse_time
from bot.handlers.links.targets import Target, is_private
from bot.page_guard import ClientLimiter
from bot.pipeline_html import CSP_BASE, STYLESHEET, render_html, style_hash
from bot.pipeline_links import Linked, LinkIndex, linked_pulls, read_stream
from bot.pipeline_metrics import page_metrics
from bot.pipeline_query import apply, parse
from bot.pipeline_rows import Followed, proposal_row, shape, tracking_of

__all__ = [
    "PageMemory",
    "page_data",
    "pipeline_stylesheet",
    "pipeline_view",
    "render_html",
]

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
PAGES, MISSES = 256, 4096  # repositories whose page, or whose "not shown", is kept
WATCHES = 16  # repositories followed
MAX_PROPOSALS = 1000
BLOB_BYTES = 8 * 1024 * 1024
ARCHIVE_BYTES = 256 * 1024 * 1024
BLOB_FETCHES = 16  # metadata files read by sha in one build; more come from the archive
FETCHES = 8  # requests at once
HEAD_CHECK_SECONDS = 3600.0
PUSH_MARGIN_SECONDS = 10.0
BACKFILL = 8
HISTORY_COMMITS = 30
HISTORY_REQUESTS = 20
Clock = Callable[[], datetime.datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Failure = (GitHubException, aiohttp.ClientError, TimeoutError)


class NotShown(Exception):
    """The repository is unknown, not installed, or private without the access rule."""


@dataclass(frozen=True)
class Entry:
    """A metadata file as last read: its blob sha, and what the page shows of it."""

    sha: str
    row: dict[str, Any] | None  # None: the file is no proposal (it cannot be read)
    tracking: int | None = None  # the issue its metadata names as its tracking issue
    facts: Facts | None = None  # what KEP-1's metrics read of it (`bot.pipeline_metrics`)

    @property
    def status(self) -> str | None:
        return self.row["status"] if self.row is not None else None


@dataclass
class Watch:
    """What the page follows of one repository (see the module's docstring)."""

    repo: str  # full name
    branch: str
    followed: datetime.datetime  # the first build
    installation: int | None = None
    pushed: str | None = None  # `pushed_at` when the head was last read
    head: str | None = None
    head_read: datetime.datetime | None = None  # when that read began
    loaded: ConfigResult | None = None  # the configuration at `head`
    config_sha: str | None = None  # the blob of the repository's own configuration file
    entries: dict[str, Entry] = field(default_factory=dict)  # metadata path -> entry
    stints: dict[str, Stint] = field(default_factory=dict)
    links: LinkIndex = field(default_factory=LinkIndex)

    @property
    def config(self) -> Config | None:
        return self.loaded.config if self.loaded is not None else None


class PageMemory:
    """What the page keeps between builds: watches and blob contents (bounds: the module's
    docstring)."""

    def __init__(self, watches: int = WATCHES, blob_bytes: int = BLOB_BYTES) -> None:
        self.watches: cachetools.LRUCache[str, Watch] = cachetools.LRUCache(maxsize=watches)
        self.blobs = BlobCache(blob_bytes)

    def forget(self, repo: str) -> None:
        self.watches.pop(repo.lower(), None)


def _answer(
    as_json: bool, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    if as_json:
        return web.json_response({"message": message}, status=status, headers=headers)
    return web.Response(text=message, status=status, headers=headers)


def pipeline_view(
    bot: RunningBot,
    *,
    allow_private: bool | None = None,
    now: Clock | None = None,
    limiter: ClientLimiter | None = None,
    memory: PageMemory | None = None,
) -> Handler:
    """The handler for `/pipeline/{owner}/{repo}`; a name ending in `.json` answers JSON.
    `now`: the page's clock (default: the bot's); `memory`: what the page followed so far
    (default: nothing yet)."""
    settings = bot.settings
    private = allow_private
    if private is None:
        private = settings.kepbot_page_private
    if limiter is None:
        limiter = ClientLimiter(
            settings.kepbot_page_requests_per_minute,
            settings.kepbot_page_burst,
            trusted_proxies=settings.kepbot_trusted_proxies,
        )
    cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=PAGES, ttl=TTL_SECONDS)
    misses: TTLCache[str, bool] = TTLCache(maxsize=MISSES, ttl=TTL_SECONDS)
    memory = memory if memory is not None else PageMemory()
    builds: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def build(repo: str, key: str) -> dict[str, Any] | None:
        """The page of `repo` (None: not shown), built once however many views wait for it."""
        lock = builds.get(key)
        if lock is None:
            lock = builds[key] = asyncio.Lock()
        async with lock:
            if key in misses:
                return None
            data = cache.get(key)
            if data is None:
                try:
                    data = await page_data(bot, repo, allow_private=private, memory=memory, now=now)
                except NotShown:
                    misses[key] = True
                    return None
                cache[key] = data
            return data

    async def view(request: web.Request) -> web.StreamResponse:
        owner, name = request.match_info["owner"], request.match_info["repo"]
        as_json = name.endswith(".json")
        wait = limiter.take(request)
        if wait:
            return _answer(as_json, 429, "Too Many Requests", {"Retry-After": str(wait)})
        repo = f"{owner}/{name.removesuffix('.json')}"
        if not valid_repo(repo):
            return _answer(as_json, 404, "Not Found")
        key = repo.lower()
        data = None if key in misses else cache.get(key)
        if data is None and key not in misses:
            try:
                data = await build(repo, key)
            except Failure as error:
                log.warning("the pipeline page of %s could not be built: %r", repo, error)
                return _answer(as_json, 502, "GitHub could not be read; try again later")
        if data is None:
            return _answer(as_json, 404, "Not Found")
        return _shown(request, data, as_json)

    return view


def _shown(request: web.Request, data: dict[str, Any], as_json: bool) -> web.Response:
    """The view the query string asks for, cut from the build `data` (no request made);
    400, saying why, when part of it is refused (the HTML shows the rest)."""
    query = request.rel_url
    checked = parse(query.query.items(), len(query.raw_query_string), data)
    shown = apply(data, checked)
    status = 400 if checked.errors else 200
    if as_json:
        if checked.errors:
            body = {"message": "; ".join(checked.errors), "errors": checked.errors}
            return web.json_response(body, status=400)
        return web.json_response(shown)
    page = render_html(shown)
    policy = f"{CSP_BASE}; style-src 'self' '{style_hash(page)}'"
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


async def pipeline_stylesheet(request: web.Request) -> web.Response:
    """`GET /pipeline.css`: the page's one stylesheet."""
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return web.Response(text=STYLESHEET, content_type="text/css", headers=headers)


async def installation_context(
    bot: RunningBot, repo: str, known: int | None = None
) -> tuple[HandlerContext, int]:
    """The context of the installation that covers `repo` (its client, the bot's login),
    and that installation's id: `known` when its client can still be had, else looked up."""
    client = bot.client
    credentials = client.credentials
    if not isinstance(credentials, AppAuth):
        return await bot.context(0), 0
    if known is not None:
        try:
            return await bot.context(known), known
        except BadRequest as error:
            if error.status_code not in (401, 403, 404):
                raise
    try:
        installation = await installation_of(client, repo, credentials.jwt())
        return await bot.context(installation), installation
    except UnsafeUrl:
        raise NotShown(repo) from None
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise


async def page_data(
    bot: RunningBot,
    repo: str,
    *,
    allow_private: bool,
    memory: PageMemory | None = None,
    now: Clock | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data; `memory` is what the page followed of
    the repository so far (a fresh one: a first build); `now`: the clock (the bot's)."""
    memory = memory if memory is not None else PageMemory()
    key = repo.lower()
    try:
        return await _build(bot, repo, key, allow_private, memory, now or bot.clock)
    except NotShown:
        memory.forget(key)
        raise


async def _build(
    bot: RunningBot, repo: str, key: str, allow_private: bool, memory: PageMemory, now: Clock
) -> dict[str, Any]:
    watch = memory.watches.get(key)
    ctx, installation = await installation_context(bot, repo, watch.installation if watch else None)
    github = ctx.github
    try:
        meta: Repository = await ctx.github.repository(repo)
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise
    if meta.get("private", True) and not allow_private:
        raise NotShown(repo)
    if not ctx.app_mode and not (meta.get("permissions") or {}).get("push"):
        raise NotShown(repo)  # a bot user's token reads any public repository
    full, branch = str(meta["full_name"]), str(meta["default_branch"])
    if watch is None or (watch.repo, watch.branch) != (full, branch):
        watch = Watch(full, branch, now())
        memory.watches[key] = watch
    watch.installation = installation
    pushed = str(meta.get("pushed_at") or "")

    async def follow() -> None:
        """Read the head unless no push can have moved it, and follow it where it went."""
        read = now()
        if _unmoved(watch, pushed, read):
            return
        head = await github.branch_head(full, branch)
        if head != watch.head:
            await _advance(bot, github, watch, head, memory)
        watch.pushed, watch.head_read = pushed, read

    followed, streamed = await asyncio.gather(
        follow(), read_stream(ctx, full, watch.links), return_exceptions=True
    )
    for outcome in (followed, streamed):
        if isinstance(outcome, BaseException):
            raise outcome
    assert watch.config is not None
    html_url = str(meta.get("html_url") or "")
    target = Target(full, branch, html_url, watch.config, is_private(meta))
    rows = {path: e.row for path, e in watch.entries.items() if e.row is not None}
    named = {e.tracking: p for p, e in sorted(watch.entries.items()) if e.tracking is not None}
    root = web_root(html_url, full)
    links = await linked_pulls(
        ctx, target, sorted(rows), named, watch.links, streamed=streamed is True, root=root
    )
    return _shape(watch, rows, links, now(), root)


def _unmoved(watch: Watch, pushed: str, now: datetime.datetime) -> bool:
    """Whether the head read last is still the head: `pushed_at` is as it was then, and that
    read began `PUSH_MARGIN_SECONDS` or more after it (a push within the same second as
    `pushed_at`, or a clock that far apart, cannot go unseen), less than
    `HEAD_CHECK_SECONDS` ago."""
    if watch.head is None or watch.head_read is None or not pushed or pushed != watch.pushed:
        return False
    age = (now - watch.head_read).total_seconds()
    settled = (watch.head_read - parse_time(pushed)).total_seconds() >= PUSH_MARGIN_SECONDS
    return settled and 0 <= age < HEAD_CHECK_SECONDS


async def _advance(
    bot: RunningBot, github: GitHub, watch: Watch, head: str, memory: PageMemory
) -> None:
    """Follow the default branch to `head`: its configuration, its metadata files (only
    the blobs not read yet), and the stints of the proposals whose status moved. The watch
    changes only once all of it could be read."""
    if watch.config_sha is not None:  # the repository's own file: read only if it changed
        listing = await github.commit_tree(watch.repo, head)
        unchanged = listing.files.get(CONFIG_PATH) == watch.config_sha
        if unchanged and watch.loaded is not None:
            loaded = watch.loaded
        else:
            loaded = await _config(bot, github, watch)
    else:
        loaded, listing = await asyncio.gather(
            _config(bot, github, watch), github.commit_tree(watch.repo, head)
        )
    config = loaded.config
    if config is None:
        raise NotShown(watch.repo)
    if listing.truncated:
        log.warning("the tree of %s at %s is truncated: proposals may be missing", watch.repo, head)
    layout = config.proposals
    paths = sorted(p for p in listing.files if is_proposal_path(layout, p))[:MAX_PROPOSALS]
    same = config == watch.config
    entries: dict[str, Entry] = {}
    needed: dict[str, str] = {}
    for path in paths:
        sha, known = listing.files[path], watch.entries.get(path)
        if same and known is not None and known.sha == sha:
            entries[path] = known
        else:
            needed[path] = sha
    contents = await _contents(github, watch.repo, head, needed, memory.blobs)
    for path, sha in needed.items():
        entries[path] = _entry(config, watch.repo, path, sha, contents.get(path))
    statuses = {path: entry.status for path, entry in entries.items() if entry.row is not None}
    carried, moved = carry(watch.stints, statuses)
    dated = await _date(github, watch, config, head, {p: entries[p] for p in moved})
    watch.loaded, watch.entries, watch.stints = loaded, entries, {**carried, **dated}
    own = loaded.source == "repo"
    watch.config_sha = listing.files.get(CONFIG_PATH) if own else None
    watch.head = head


async def _config(bot: RunningBot, github: GitHub, watch: Watch) -> ConfigResult:
    return await github.config(watch.repo, watch.branch, cache=bot.config_cache)


async def _contents(
    github: GitHub, repo: str, head: str, needed: Mapping[str, str], blobs: BlobCache
) -> dict[str, bytes]:
    """The bytes of `needed` (path -> blob sha): kept ones, else from the archive of `head`
    when more than `BLOB_FETCHES` are missing, else (and for what the archive lacks) by sha."""
    found: dict[str, bytes] = {}
    missing: dict[str, str] = {}
    for path, sha in needed.items():
        data = blobs.get(sha)
        if data is None:
            missing[path] = sha
        else:
            found[path] = data
    if len(missing) > BLOB_FETCHES:
        try:
            archived = await github.archive(repo, head, missing, limit=ARCHIVE_BYTES)
        except ValueError as error:
            log.warning("the archive of %s is not used: %s", repo, error)
            archived = {}
        for path, data in archived.items():
            blobs.put(missing.pop(path), data)
            found[path] = data
    read = await github.blobs(repo, missing.values(), blobs, at_once=FETCHES)
    found.update({path: read[sha] for path, sha in missing.items() if sha in read})
    return found


def _entry(config: Config, repo: str, path: str, sha: str, data: bytes | None) -> Entry:
    if data is None:
        return Entry(sha, None)
    tree = MemoryTree({path: data.decode("utf-8", "replace")})
    proposal = load_proposal(config, tree, path)
    if proposal is None:
        return Entry(sha, None)
    tracking = tracking_of(config, proposal, repo)
    return Entry(sha, proposal_row(config, proposal), tracking, facts_of(config, proposal))


# -- time in state ------------------------------------------------------------------------


def _unfollowed(watch: Watch) -> str:
    when = watch.followed.isoformat(timespec="seconds")
    return (
        f"not known: in this status since before {when}, when the page began following "
        f"{watch.repo}, and not among the {BACKFILL} most recent proposals it dated then"
    )


SPENT = "not known: more history than one build reads"
LONG = f"not known: more than {HISTORY_COMMITS} changes of the file in this status"
NO_HISTORY = "not known: no commit of the default branch changes the file"


async def _date(
    github: GitHub, watch: Watch, config: Config, head: str, moved: Mapping[str, Entry]
) -> dict[str, Stint]:
    """The stints of the proposals whose status is new or changed at `head`."""
    dated: dict[str, Stint] = {}
    chosen: dict[str, str] = {}  # path -> status, to date by history
    in_range: set[str] | None = None
    if watch.head is None:  # the first build: date the most recent ones only
        ranked = sorted(moved, key=lambda p: by_recency((moved[p].row or {}).get("number"), p))
        for rank, path in enumerate(ranked):
            status = moved[path].status
            if status is None:
                dated[path] = Stint(None)
            elif rank < BACKFILL:
                chosen[path] = status
            else:
                dated[path] = Stint(status, None, _unfollowed(watch))
    elif moved:
        span = await github.compare(watch.repo, watch.head, head)
        single = span.status == "ahead" and span.complete and len(span.commits) == 1
        for path, entry in moved.items():
            if entry.status is None:
                dated[path] = Stint(None)
            elif single:
                dated[path] = Stint(entry.status, span.commits[0].date)
            else:
                chosen[path] = entry.status
        in_range = _range(span)
    budget = [HISTORY_REQUESTS]
    gate = asyncio.Semaphore(FETCHES)

    async def one(path: str, status: str) -> tuple[str, Stint]:
        async with gate:
            return path, await _walk(
                github, watch.repo, config, path, status, head, in_range, budget
            )

    dated.update(await asyncio.gather(*(one(p, s) for p, s in sorted(chosen.items()))))
    return dated


def _range(span: Span) -> set[str] | None:
    """The commits between the two heads, when the comparison lists them all."""
    if span.status != "ahead" or not span.complete:
        return None
    return {moment.sha for moment in span.commits}


async def _walk(
    github: GitHub,
    repo: str,
    config: Config,
    path: str,
    status: str,
    head: str,
    in_range: set[str] | None,
    budget: list[int],
) -> Stint:
    """When `path` entered `status`, from its history at `head`: the oldest commit of the
    run of commits in that status, newest first; `in_range`, the commits since the status
    was last seen another (None: anywhere in the history)."""
    if budget[0] <= 0:
        return Stint(status, None, SPENT)
    budget[0] -= 1
    history = await github.path_history(repo, path, head, per_page=HISTORY_COMMITS)
    if not history:
        return Stint(status, None, NO_HISTORY)
    if in_range is not None and history[0].sha not in in_range:
        in_range = None  # changed before the range: a new layout made it a proposal
    since = history[0].date  # the newest commit holds the file as it is now
    for moment in history[1:]:
        if in_range is not None and moment.sha not in in_range:
            return Stint(status, since)  # before the range, the status was another
        if budget[0] <= 0:
            return Stint(status, None, SPENT)
        budget[0] -= 1
        if await _status_at(github, repo, config, path, moment.sha) != status:
            return Stint(status, since)
        since = moment.date
    if len(history) >= HISTORY_COMMITS:
        return Stint(status, None, LONG)  # the run may go back further than the page
    return Stint(status, since)


async def _status_at(github: GitHub, repo: str, config: Config, path: str, sha: str) -> str | None:
    found = await github.file(repo, path, sha)
    if found is None:
        return None
    tree = MemoryTree({path: found.data.decode("utf-8", "replace")})
    loaded = load_proposal(config, tree, path)
    return loaded.status if loaded is not None else None


# -- the page -----------------------------------------------------------------------------


def _shape(
    watch: Watch,
    rows: Mapping[str, dict[str, Any]],
    linked: Linked,
    now: datetime.datetime,
    root: str,
) -> dict[str, Any]:
    assert watch.config is not None and watch.head is not None
    trackings = {path: entry.tracking for path, entry in watch.entries.items()}
    facts = {p: e.facts for p, e in watch.entries.items() if e.row and e.facts is not None}
    data = shape(
        Followed(watch.repo, watch.branch, watch.head, watch.config, watch.followed),
        rows,
        trackings,
        watch.stints,
        linked,
        now,
        root,
        time_in_state={
            "source": "status changes on the default branch, followed as it moves",
            "followed_since": watch.followed.isoformat(timespec="seconds"),
            "backfill_proposals": BACKFILL,
            "max_commits": HISTORY_COMMITS,
        },
        complete=watch.links.complete,
    )
    data["metrics"] = page_metrics(
        watch.config, facts, watch.stints, linked, trackings, now, complete=watch.links.complete
    )
    return data
