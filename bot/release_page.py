"""The release page: `GET /pipeline/{owner}/{repo}/release/{milestone}` (HTML) and
`.../{milestone}.json` (docs/design.md B11).

Every proposal of an installed repository's default branch that targets the milestone (its
latest milestone, or the milestone of the stage it is at) or was opted in for it (its
tracking issue carries the opt-in label and that milestone: one search), each freeze rule
of the configuration met or not, with the reason, a link to the file and line to fix, and
who owns it (area, authors, approvers). Shown like the pipeline page: installed
repositories only, private ones only with `KEPBOT_PAGE_PRIVATE`, anything else a 404 that
reveals nothing; the same per-client limit (`KEPBOT_PAGE_REQUESTS_PER_MINUTE`, 429 past
it); a GitHub failure is a 502, not cached.

Boundaries: the owner and repository must be names GitHub allows, and the milestone a
short name of letters, digits, `.`, `_` and `-`, else 404 before any request; once the
configuration is read, a milestone its `tracking.milestone-pattern` does not take is a
400. Every value on the page is HTML-escaped, links are built by `bot.github.urls.web_url`
from checked names, and the page has no script, no style and a Content-Security-Policy of
`default-src 'none'`.

Cost of a build: the repository (conditional), the configuration (cached a minute), the
head of the default branch (conditional) and its tree, the metadata files by blob sha
(kept per process in `caches.RELEASE_BLOB_BYTES`; more than `ARCHIVE_FROM` missing come
from the archive, two requests), the opt-in search, and the documents and approval files
of the proposals listed, by blob sha. Answers are kept for `TTL_SECONDS`
(`caches.RELEASE_PAGES_BYTES`), the 404s as long.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from gidgethub import BadRequest, GitHubException

from bot.engine.config import Config
from bot.engine.freeze import release, release_files
from bot.engine.proposal import Proposal, is_proposal_path, load_proposal
from bot.engine.references import by_number
from bot.engine.tree import MemoryTree
from bot.github import caches
from bot.github.shapes import Repository
from bot.github.trees import BlobCache
from bot.github.urls import Path, valid_repo, web_root, web_url
from bot.handlers.context import HandlerContext, RunningBot
from bot.page_guard import ClientLimiter
from bot.pipeline_page import NotShown, installation_context
from bot.release_report import release_data, valid_milestone

__all__ = ["NotShown", "release_build", "release_view", "render_release"]

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
ARCHIVE_FROM = 20  # metadata files missing from the cache past which the archive is read
ARCHIVE_LIMIT = 512 * 1024 * 1024
MILESTONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
Failure = (GitHubException, aiohttp.ClientError, TimeoutError, ValueError)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """The milestone is no milestone name of the process (a 400)."""


async def _metadata(
    ctx: HandlerContext, repo: str, head: str, wanted: Mapping[str, str], blobs: BlobCache
) -> dict[str, bytes]:
    """The files of `wanted` (path → sha): from `blobs`, by sha, or from the archive."""
    found = {path: data for path, sha in wanted.items() if (data := blobs.get(sha)) is not None}
    missing = {path: sha for path, sha in wanted.items() if path not in found}
    if len(missing) > ARCHIVE_FROM:
        read = await ctx.github.archive(repo, head, missing, limit=ARCHIVE_LIMIT)
        for path, data in read.items():
            blobs.put(missing[path], data)
        found.update(read)
    elif missing:
        by_sha = await ctx.github.blobs(repo, missing.values(), blobs)
        found.update({path: by_sha[sha] for path, sha in missing.items() if sha in by_sha})
    return found


async def _opted_in(
    ctx: HandlerContext, repo: str, config: Config, milestone: str, paths: list[str]
) -> set[str]:
    """The proposals whose tracking issue carries the opt-in label and `milestone`."""
    tracking = config.tracking
    if tracking is None or tracking.opt_in is None or tracking.issue != "number":
        return set()
    label = tracking.opt_in.label.replace('"', "")
    query: dict[str, str | int] = {
        "q": f'repo:{repo} is:issue label:"{label}" milestone:"{milestone}"',
        "per_page": 100,
    }
    found = await ctx.github.search_issues(query)
    opted = set()
    for item in found.get("items") or []:
        path = by_number(config, paths, int(item["number"]))
        if path is not None:
            opted.add(path)
    return opted


async def release_build(
    bot: RunningBot, repo: str, milestone: str, *, allow_private: bool, blobs: BlobCache
) -> dict[str, Any]:
    """The release page's data (`NotShown`: a 404; `Refused`: the milestone is no name)."""
    ctx, _ = await installation_context(bot, repo)
    github = ctx.github
    try:
        meta: Repository = await github.repository(repo)
    except BadRequest as error:
        if error.status_code in (403, 404):
            raise NotShown(repo) from None
        raise
    if meta.get("private", True) is not False and not allow_private:
        raise NotShown(repo)
    if not ctx.app_mode and not (meta.get("permissions") or {}).get("push"):
        raise NotShown(repo)
    full, branch = str(meta["full_name"]), str(meta["default_branch"])
    config = (await github.config(full, branch, cache=ctx.config_cache)).config
    if config is None:
        raise ValueError(f"the configuration of {full} is invalid")
    if valid_milestone(config, milestone) != milestone:
        raise Refused(milestone)
    head = await github.branch_head(full, branch)
    listing = await github.commit_tree(full, head)
    paths = sorted(p for p in listing.files if is_proposal_path(config.proposals, p))
    wanted = {path: listing.files[path] for path in paths}
    metadata, opted = await asyncio.gather(
        _metadata(ctx, full, head, wanted, blobs), _opted_in(ctx, full, config, milestone, paths)
    )
    texts = {path: data.decode("utf-8", "replace") for path, data in metadata.items()}
    first = [load_proposal(config, MemoryTree(texts), path) for path in paths]
    scope = [p for p in first if p is not None]
    shallow = release(config, scope, MemoryTree(texts), milestone, opted)
    listed = {entry.path for entry in shallow}
    extra = {
        name: listing.files[name]
        for proposal in scope
        if proposal.path in listed
        for name in release_files(config, proposal)
        if name in listing.files
    }
    more = await _metadata(ctx, full, head, extra, blobs) if extra else {}
    texts.update({path: data.decode("utf-8", "replace") for path, data in more.items()})
    tree = MemoryTree(texts)
    loaded: list[Proposal | None] = [load_proposal(config, tree, path) for path in sorted(listed)]
    entries = release(config, [p for p in loaded if p is not None], tree, milestone, opted)
    root = web_root(str(meta.get("html_url") or ""), full)
    data = release_data(config, milestone, entries, repository=full, head=head)
    for item in data["proposals"]:
        item["url"] = web_url(root, full, "blob", Path(head), Path(item["path"]))
        for check in item["checks"]:
            check["url"] = web_url(
                root, full, "blob", Path(head), Path(check["path"]), fragment=f"L{check['line']}"
            )
    return data


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _a(url: object, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>' if url else _e(text)


def render_release(data: Mapping[str, Any]) -> str:
    """The release page: one table per proposal, every value escaped, no script or style."""
    name = data.get("freeze") or "Freeze"
    date = f" ({data['date']})" if data.get("date") else ""
    title = f"{name} {data['milestone']}{date}: {data['repository']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(data['ready'])} of {_e(data['total'])} proposals meet every rule.</p>",
    ]
    if not data["proposals"]:
        parts.append("<p>No proposal targets this milestone or was opted in for it.</p>")
    for item in data["proposals"]:
        state = "ready" if item["ready"] else "not ready"
        heading = f"{item.get('number') or ''} {item.get('title') or item['path']}".strip()
        owners = ", ".join([*item["authors"], *item["approvers"]]) or "nobody listed"
        parts += [
            f"<h2>{_a(item.get('url'), heading)} ({_e(state)})</h2>",
            f"<p>{_e(item.get('area') or 'no area')}; {_e(owners)}; "
            f"status {_e(item.get('status'))}, stage {_e(item.get('stage'))}; "
            f"{_e(', '.join(item['why']))}</p>",
            "<table><tr><th>rule</th><th>met</th><th>why</th><th>where</th></tr>",
        ]
        for check in item["checks"]:
            where = f"{check['path']}:{check['line']}"
            parts.append(
                f"<tr><td>{_e(check['text'])}</td><td>{'yes' if check['met'] else 'no'}</td>"
                f"<td>{_e(check['reason'])}</td><td>{_a(check.get('url'), where)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _answer(as_json: bool, status: int, message: str, **headers: str) -> web.Response:
    if as_json:
        return web.json_response({"message": message}, status=status, headers=headers)
    return web.Response(text=message, status=status, headers=headers)


def release_view(
    bot: RunningBot, *, allow_private: bool | None = None, limiter: ClientLimiter | None = None
) -> Handler:
    """The handler of `/pipeline/{owner}/{repo}/release/{milestone}` (`.json`: JSON)."""
    settings = bot.settings
    private = settings.kepbot_page_private if allow_private is None else allow_private
    if limiter is None:
        limiter = ClientLimiter(
            settings.kepbot_page_requests_per_minute,
            settings.kepbot_page_burst,
            trusted_proxies=settings.kepbot_trusted_proxies,
        )
    pages = caches.ttl(caches.RELEASE_PAGES_BYTES, TTL_SECONDS)
    blobs = BlobCache(caches.RELEASE_BLOB_BYTES)
    builds: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
        weakref.WeakValueDictionary()
    )

    async def build(repo: str, milestone: str) -> dict[str, Any] | None:
        key = (repo.lower(), milestone)
        lock = builds.get(key)
        if lock is None:
            lock = builds[key] = asyncio.Lock()
        async with lock:
            if key in pages:
                found: dict[str, Any] | None = pages[key]
                return found
            try:
                data = await release_build(bot, repo, milestone, allow_private=private, blobs=blobs)
            except NotShown:
                caches.keep(pages, key, None)
                return None
            caches.keep(pages, key, data)
            return data

    async def view(request: web.Request) -> web.StreamResponse:
        owner, name = request.match_info["owner"], request.match_info["repo"]
        raw = request.match_info["milestone"]
        as_json = raw.endswith(".json")
        milestone = raw.removesuffix(".json")
        wait = limiter.take(request)
        if wait:
            return _answer(as_json, 429, "Too Many Requests", **{"Retry-After": str(wait)})
        repo = f"{owner}/{name}"
        if not valid_repo(repo) or not MILESTONE.match(milestone):
            return _answer(as_json, 404, "Not Found")
        try:
            data = await build(repo, milestone)
        except Refused:
            return _answer(as_json, 400, "That is no milestone name of this process.")
        except Failure as error:
            log.warning("the release page of %s could not be built: %r", repo, error)
            return _answer(as_json, 502, "GitHub could not be read; try again later")
        if data is None:
            return _answer(as_json, 404, "Not Found")
        if as_json:
            return web.json_response(data)
        headers = {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return web.Response(text=render_release(data), content_type="text/html", headers=headers)

    return view
