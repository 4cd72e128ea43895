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

Time in state (`since`, `days_in_state`) comes from the history of each proposal's metadata
file: `GET /repos/{repo}/commits?path=...&sha=<head>` (one page of at most `HISTORY_COMMITS`),
then the file at each commit, newest first, stopping at the first whose status differs.
`since` is the committer date of the oldest commit in that run. Requests are bounded: only
the `HISTORY_PROPOSALS` highest-numbered proposals (`by_recency`: a cheap stand-in for the
most recently active) get history, at most `HISTORY_READS` file reads per page build, and a
run that fills the whole page of commits is unknown. In all those cases both fields are null. The
histories are cached per (repository, default-branch head sha): they cannot change until
the branch moves. `days_in_state` is whole days up to the time the page is built.

Each of the `LINK_PROPOSALS` highest-numbered proposals also lists its implementation pull
requests with their states (open, merged, closed), as its tracking comment holds them
(`bot.pipeline_links`); null when they could not be found, so the page shows "unknown".
"""

from __future__ import annotations

import asyncio
import datetime
import html
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from cachetools import TTLCache
from gidgethub import BadRequest, GitHubException
from gidgethub.abc import GitHubAPI

from bot.engine.pipeline import DAY, by_recency, current_since
from bot.engine.proposal import Proposal, is_proposal_path, load_all, load_proposal
from bot.engine.tree import MemoryTree
from bot.github.auth import AppAuth
from bot.github.repo import list_paths, read_file
from bot.github.repo_config import load_repo_config
from bot.github.urls import Path, UnsafeUrl, repo_url, valid_repo
from bot.handlers.context import HandlerContext, parse_time, utcnow
from bot.handlers.link_targets import Target, is_private
from bot.page_guard import ClientLimiter
from bot.pipeline_links import LINK_PROPOSALS, Links, Locations, linked_pulls

if TYPE_CHECKING:
    from bot.routing import Bot

__all__ = ["page_data", "pipeline_view", "render_html"]

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
PAGES, MISSES = 256, 4096  # repositories whose page, or whose "not shown", is kept
MAX_PROPOSALS = 1000
FETCHES = 8
HISTORY_PROPOSALS = 200
HISTORY_COMMITS = 30
HISTORY_READS = 1000
HISTORY_TTL_SECONDS = TTL_SECONDS * 12
Since = dict[str, str | None]  # metadata path -> ISO date the current status began
Clock = Callable[[], datetime.datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotShown(Exception):
    """The repository is unknown, not installed, or private without the access rule."""


def _answer(
    as_json: bool, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    if as_json:
        return web.json_response({"message": message}, status=status, headers=headers)
    return web.Response(text=message, status=status, headers=headers)


def pipeline_view(
    bot: Bot,
    *,
    allow_private: bool | None = None,
    now: Clock = utcnow,
    limiter: ClientLimiter | None = None,
) -> Handler:
    """The handler for `/pipeline/{owner}/{repo}`; a name ending in `.json` answers JSON."""
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
    histories: TTLCache[tuple[str, str], Since] = TTLCache(maxsize=64, ttl=HISTORY_TTL_SECONDS)
    places: TTLCache[tuple[str, str], Locations] = TTLCache(maxsize=64, ttl=HISTORY_TTL_SECONDS)
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
                    data = await page_data(
                        bot,
                        repo,
                        allow_private=private,
                        histories=histories,
                        places=places,
                        now=now,
                    )
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
            except (GitHubException, aiohttp.ClientError, TimeoutError) as error:
                log.warning("the pipeline page of %s could not be built: %r", repo, error)
                return _answer(as_json, 502, "GitHub could not be read; try again later")
        if data is None:
            return _answer(as_json, 404, "Not Found")
        if as_json:
            return web.json_response(data)
        return web.Response(text=render_html(data), content_type="text/html")

    return view


async def _context(bot: Bot, repo: str) -> HandlerContext:
    """The context of the installation that covers `repo` (its client, the bot's login)."""
    client = bot.client
    credentials = client.credentials
    try:
        installation = 0
        if isinstance(credentials, AppAuth):
            url = repo_url(repo, "installation")
            found = await client.app_api.getitem(url, jwt=credentials.jwt())
            installation = int(found["id"])
        return await bot.context(installation)
    except UnsafeUrl:
        raise NotShown(repo) from None
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise


async def page_data(
    bot: Bot,
    repo: str,
    *,
    allow_private: bool,
    histories: TTLCache[tuple[str, str], Since] | None = None,
    places: TTLCache[tuple[str, str], Locations] | None = None,
    now: Clock = utcnow,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    ctx = await _context(bot, repo)
    gh = ctx.gh
    try:
        meta: Any = await gh.getitem(repo_url(repo))
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise
    if meta.get("private", True) and not allow_private:
        raise NotShown(repo)
    if not ctx.app_mode and not (meta.get("permissions") or {}).get("push"):
        raise NotShown(repo)  # a bot user's token reads any public repository
    full, branch = str(meta["full_name"]), str(meta["default_branch"])
    config = await load_repo_config(gh, full, branch, cache=bot.config_cache)
    if config.config is None:
        raise NotShown(repo)
    proposals = await _proposals(gh, full, branch, config.config)
    ranked = sorted(proposals, key=lambda p: by_recency(p.number, p.path))
    head = await _head(gh, full, branch)
    since = histories.get((full, head)) if histories is not None else None
    if since is None:
        since = await _since_all(gh, full, head, config.config, ranked[:HISTORY_PROPOSALS])
        if histories is not None:
            histories[(full, head)] = since
    target = Target(full, branch, str(meta.get("html_url") or ""), config.config, is_private(meta))
    links = await linked_pulls(ctx, target, ranked[:LINK_PROPOSALS], places, head)
    return _shape(full, branch, proposals, since, links, now())


async def _head(gh: GitHubAPI, repo: str, branch: str) -> str:
    ref: Any = await gh.getitem(repo_url(repo, "git", "ref", "heads", Path(branch)))
    return str(ref["object"]["sha"])


async def _since_all(
    gh: GitHubAPI, repo: str, head: str, config: Any, chosen: list[Proposal]
) -> Since:
    gate = asyncio.Semaphore(FETCHES)
    budget = [HISTORY_READS]

    async def one(proposal: Proposal) -> tuple[str, str | None]:
        async with gate:
            when = await _since(gh, repo, head, config, proposal, budget)
        return proposal.path, when.isoformat(timespec="seconds") if when else None

    return dict(await asyncio.gather(*(one(p) for p in chosen)))


async def _since(
    gh: GitHubAPI, repo: str, head: str, config: Any, proposal: Proposal, budget: list[int]
) -> datetime.datetime | None:
    """When `proposal` entered its current status, from its metadata file's history."""
    status = proposal.status
    if status is None:
        return None
    query: dict[str, str | int] = {"path": proposal.path, "sha": head, "per_page": HISTORY_COMMITS}
    commits: Any = await gh.getitem(repo_url(repo, "commits", query=query))
    history = [(parse_time(c["commit"]["committer"]["date"]), str(c["sha"])) for c in commits]
    if not history:
        return None
    statuses: list[tuple[datetime.datetime, str | None]] = [(history[0][0], status)]
    for when, sha in history[1:]:  # the newest one holds the file as it is now
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        found = await read_file(gh, repo, proposal.path, sha)
        older = None
        if found is not None and found.text is not None:
            tree = MemoryTree({proposal.path: found.text})
            loaded = load_proposal(config, tree, proposal.path)
            older = loaded.status if loaded is not None else None
        statuses.append((when, older))
        if older != status:
            break
    else:
        if len(history) >= HISTORY_COMMITS:
            return None  # the run may go back further than the page read
    return current_since(statuses)


async def _proposals(gh: GitHubAPI, repo: str, branch: str, config: Any) -> list[Proposal]:
    paths = [p for p in await list_paths(gh, repo, branch) if is_proposal_path(config.proposals, p)]
    gate = asyncio.Semaphore(FETCHES)

    async def fetch(path: str) -> tuple[str, str | None]:
        async with gate:
            found = await read_file(gh, repo, path, branch)
        return path, found.text if found is not None else None

    fetched = await asyncio.gather(*(fetch(p) for p in sorted(paths)[:MAX_PROPOSALS]))
    files = {path: text for path, text in fetched if text is not None}
    return load_all(config, MemoryTree(files))


def _meta(proposal: Proposal, key: str) -> str | None:
    value = proposal.metadata.get(key) if proposal.metadata is not None else None
    return str(value).strip() or None if value is not None else None


def _shape(
    repo: str,
    branch: str,
    proposals: list[Proposal],
    since: Since,
    links: Links,
    now: datetime.datetime,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    roadmap: dict[str, dict[str, list[str]]] = {}
    for p in proposals:
        status = p.status or "unknown"
        stage, milestone = _meta(p, "stage"), _meta(p, "latest-milestone")
        counts[status] = counts.get(status, 0) + 1
        began = since.get(p.path)
        days = int((now - parse_time(began)).total_seconds() // DAY) if began else None
        row = {
            "path": p.path,
            "number": p.number,
            "title": p.title,
            "status": status,
            "area": p.area,
            "authors": p.list_of("authors"),
            "stage": stage,
            "latest_milestone": milestone,
            "since": began,
            "days_in_state": max(days, 0) if days is not None else None,
            "implementations": links.get(p.path),
        }
        rows.append(row)
        if milestone and stage:
            stages = roadmap.setdefault(milestone, {})
            stages.setdefault(stage, []).append(p.number or p.path)
    rows.sort(key=lambda r: (r["status"], r["area"] or "", r["path"]))
    return {
        "repository": repo,
        "default_branch": branch,
        "generated_at": now.isoformat(timespec="seconds"),
        "time_in_state": {
            "source": "metadata file history",
            "max_proposals": HISTORY_PROPOSALS,
            "max_commits": HISTORY_COMMITS,
        },
        "implementations": {"source": "tracking comment", "max_proposals": LINK_PROPOSALS},
        "counts": dict(sorted(counts.items())),
        "proposals": rows,
        "roadmap": {m: roadmap[m] for m in sorted(roadmap, reverse=True)},
    }


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pulls(pulls: list[dict[str, Any]] | None) -> str:
    if pulls is None:
        return "<span class='unknown'>unknown</span>"
    items = (
        f"<li class='{_e(p['state'])}'><a href='{_e(p['url'])}'>{_e(p['repo'])}#{_e(p['number'])}"
        f"</a> {_e(p['title'])} <b>{_e(p['state'])}</b></li>"
        for p in pulls
    )
    return f"<ul>{''.join(items)}</ul>" if pulls else ""


def render_html(data: dict[str, Any]) -> str:
    """The page; every value from the repository is escaped."""
    repo = _e(data["repository"])
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Proposal pipeline: {repo}</title></head><body>",
        f"<h1>Proposal pipeline: {repo}</h1>",
        "<h2>Counts by status</h2><ul id='counts'>",
    ]
    out += [f"<li>{_e(s)}: {n}</li>" for s, n in data["counts"].items()]
    out.append("</ul>")
    current = None
    for row in data["proposals"]:
        if row["status"] != current:
            if current is not None:
                out.append("</tbody></table>")
            current = row["status"]
            out.append(f"<h2 class='status'>{_e(current)}</h2><table><thead><tr>")
            out.append("<th>Area</th><th>Number</th><th>Title</th><th>Authors</th>")
            out.append("<th>Days in state</th><th>Implementation PRs</th></tr></thead><tbody>")
        cells = (row["area"], row["number"], row["title"], ", ".join(row["authors"]))
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells))
        days = row["days_in_state"]
        since = f" title='since {_e(row['since'])}'" if row["since"] else ""
        out.append(f"<td class='days'{since}>{_e(days if days is not None else '')}</td>")
        out.append(f"<td class='pulls'>{_pulls(row['implementations'])}</td></tr>")
    if current is not None:
        out.append("</tbody></table>")
    if data["roadmap"]:
        out.append("<h2>Roadmap</h2>")
        for milestone, stages in data["roadmap"].items():
            out.append(f"<h3>{_e(milestone)}</h3><ul>")
            out += [f"<li>{_e(s)}: {_e(', '.join(ns))}</li>" for s, ns in stages.items()]
            out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)
