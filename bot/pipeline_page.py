"""The read-only pipeline page: `GET /pipeline/{owner}/{repo}` (HTML) and `.../{repo}.json`.

Shows an installed repository's proposals by status and area (number, title, authors) and,
where the metadata has `latest-milestone` and `stage` (KEP), a roadmap per milestone. Only
repositories an installation of the App can see are shown; private ones only when
`KEPBOT_PAGE_PRIVATE` allows it (default off); anything else is a 404 that reveals nothing.
Results are cached for `TTL_SECONDS`. Time in state is not read from GitHub here (the REST
double has no commit listing by path), so `since` and `days_in_state` are null; the local
`kepbot report` computes them from a clone.
"""

from __future__ import annotations

import asyncio
import datetime
import html
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from cachetools import TTLCache
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.proposal import Proposal, is_proposal_path, load_all
from bot.engine.tree import MemoryTree
from bot.github.auth import AppAuth
from bot.github.repo import list_paths, read_file
from bot.github.repo_config import load_repo_config

if TYPE_CHECKING:
    from bot.routing import Bot

__all__ = ["page_data", "pipeline_view", "render_html"]

TTL_SECONDS = 300.0
MAX_PROPOSALS = 1000
FETCHES = 8
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotShown(Exception):
    """The repository is unknown, not installed, or private without the access rule."""


def pipeline_view(bot: Bot, *, allow_private: bool | None = None) -> Handler:
    """The handler for `/pipeline/{owner}/{repo}`; a name ending in `.json` answers JSON."""
    private = allow_private
    if private is None:
        private = bot.settings.kepbot_page_private
    cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=256, ttl=TTL_SECONDS)

    async def view(request: web.Request) -> web.StreamResponse:
        owner, name = request.match_info["owner"], request.match_info["repo"]
        as_json = name.endswith(".json")
        repo = f"{owner}/{name.removesuffix('.json')}"
        key = repo.lower()
        data = cache.get(key)
        if data is None:
            try:
                data = await page_data(bot, repo, allow_private=private)
            except NotShown:
                if as_json:
                    return web.json_response({"message": "Not Found"}, status=404)
                return web.Response(text="not found", status=404)
            cache[key] = data
        if as_json:
            return web.json_response(data)
        return web.Response(text=render_html(data), content_type="text/html")

    return view


async def _installation_api(bot: Bot, repo: str) -> GitHubAPI:
    client = bot.client
    credentials = client.credentials
    try:
        if isinstance(credentials, AppAuth):
            found = await client.app_api.getitem(
                f"/repos/{repo}/installation", jwt=credentials.jwt()
            )
            return await client.for_installation(int(found["id"]))
        return await client.for_installation(0)
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise


async def page_data(bot: Bot, repo: str, *, allow_private: bool) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    gh = await _installation_api(bot, repo)
    try:
        meta: Any = await gh.getitem(f"/repos/{repo}")
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise
    if meta.get("private") and not allow_private:
        raise NotShown(repo)
    full, branch = str(meta["full_name"]), str(meta["default_branch"])
    config = await load_repo_config(gh, full, branch, cache=bot.config_cache)
    if config.config is None:
        raise NotShown(repo)
    proposals = await _proposals(gh, full, branch, config.config)
    return _shape(full, branch, proposals)


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


def _shape(repo: str, branch: str, proposals: list[Proposal]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    roadmap: dict[str, dict[str, list[str]]] = {}
    for p in proposals:
        status = p.status or "unknown"
        stage, milestone = _meta(p, "stage"), _meta(p, "latest-milestone")
        counts[status] = counts.get(status, 0) + 1
        row = {
            "path": p.path,
            "number": p.number,
            "title": p.title,
            "status": status,
            "area": p.area,
            "authors": p.list_of("authors"),
            "stage": stage,
            "latest_milestone": milestone,
            "since": None,
            "days_in_state": None,
        }
        rows.append(row)
        if milestone and stage:
            stages = roadmap.setdefault(milestone, {})
            stages.setdefault(stage, []).append(p.number or p.path)
    rows.sort(key=lambda r: (r["status"], r["area"] or "", r["path"]))
    return {
        "repository": repo,
        "default_branch": branch,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "time_in_state": "unavailable",
        "counts": dict(sorted(counts.items())),
        "proposals": rows,
        "roadmap": {m: roadmap[m] for m in sorted(roadmap, reverse=True)},
    }


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


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
            out.append("<th>Days in state</th></tr></thead><tbody>")
        cells = (row["area"], row["number"], row["title"], ", ".join(row["authors"]))
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells))
        out.append(f"<td>{_e(row['days_in_state'] if row['days_in_state'] is not None else '')}")
        out.append("</td></tr>")
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
