"""Repository archives: `GET /repos/{owner}/{repo}/tarball/{ref}` and the download it names.

As on GitHub, the API answers **302** with a `Location` on the download host and the archive
is read from there (an HTTP client that follows redirects does both). The download host is
the double's web root under `/_codeload/`, where GitHub Enterprise Server serves it too.
The archive is a gzipped tar, as `git archive` writes it: the commit sha in a pax global
header, one top folder `{owner}-{repo}-{short sha}/`, then the tree at that commit (files
with their modes, symbolic links as links, submodules as empty folders). For a private
repository the address carries a token valid for five minutes; without it, or once it has
expired, the download is a 404, as is the download of an empty repository (no commit).
The download is not an API request: it counts against no rate limit and needs no
credentials (it is still in the request log, and faults can be injected on its path).
"""

from __future__ import annotations

import asyncio
import gzip
import io
import secrets
import tarfile
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from bot.sandbox.branches import resolve_commit
from bot.sandbox.errors import ApiError, not_found
from bot.sandbox.faults import FaultInjector
from bot.sandbox.gitstore import EXECUTABLE_MODE, SUBMODULE_MODE, SYMLINK_MODE
from bot.sandbox.model import ArchiveGrant, State
from bot.sandbox.routing import Ctx, Registry, Reply
from bot.sandbox.views import epoch

__all__ = ["CODELOAD", "TOKEN_SECONDS", "build_tarball", "download_handler", "registry"]

registry = Registry()
CODELOAD = "/_codeload/{owner}/{repo}/legacy.tar.gz/{sha}"
TOKEN_SECONDS = 300.0  # GitHub: "these links are temporary and expire after five minutes"


def _archive(ctx: Ctx) -> Reply:
    repo = ctx.repo
    ref = ctx.request.match_info.get("ref") or repo.default_branch
    sha = resolve_commit(ctx.state, repo, ref)
    if sha is None and repo.refs:
        raise not_found()
    name = sha or "0" * 40  # an empty repository: the download itself is the 404
    location = f"{ctx.urls.web}{_path(repo.full_name, name)}"
    if repo.private:
        token = secrets.token_hex(16)
        grants = ctx.state.archive_grants
        now = ctx.state.clock()
        for stale in [t for t, g in grants.items() if g.expires <= now]:
            del grants[stale]
        grants[token] = ArchiveGrant(repo.full_name.lower(), name, now + TOKEN_SECONDS)
        location += f"?token={token}"
    return Reply(302, None, {"location": location}, raw=b"")


def _path(full_name: str, sha: str) -> str:
    owner, _, name = full_name.partition("/")
    return CODELOAD.format(owner=quote(owner), repo=quote(name), sha=sha)


@registry.route("GET", "/repos/{owner}/{repo}/tarball", permission=("contents",))
def tarball_default(ctx: Ctx) -> Reply:
    return _archive(ctx)


@registry.route("GET", "/repos/{owner}/{repo}/tarball/{ref:.+}", permission=("contents",))
def tarball(ctx: Ctx) -> Reply:
    return _archive(ctx)


def build_tarball(state: State, full_name: str, sha: str) -> bytes:
    """The archive of commit `sha` of `full_name`, as the download host serves it."""
    commit = state.objects.commits[sha]
    owner, _, name = full_name.partition("/")
    top = f"{owner}-{name}-{sha[:7]}"
    mtime = epoch(commit.committer.date)
    raw = io.BytesIO()
    header = {"comment": sha}
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, pax_headers=header) as tar:
        folders = {top}
        flat = sorted(state.objects.flatten(commit.tree).items())
        for path, (mode, _) in flat:
            parts = path.split("/")
            for depth in range(1, len(parts)):
                folders.add(f"{top}/{'/'.join(parts[:depth])}")
            if mode == SUBMODULE_MODE:
                folders.add(f"{top}/{path}")
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, mtime
            tar.addfile(info)
        for path, (mode, blob) in flat:
            if mode == SUBMODULE_MODE:
                continue
            data = state.objects.blobs[blob]
            info = tarfile.TarInfo(f"{top}/{path}")
            info.mtime = mtime
            if mode == SYMLINK_MODE:
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, data.decode(), 0o777
                tar.addfile(info)
                continue
            info.size, info.mode = len(data), 0o775 if mode == EXECUTABLE_MODE else 0o664
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=mtime)


def download_handler(
    state: State, faults: FaultInjector
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The download host's handler (mounted at `CODELOAD`, outside any API base path)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        fault = faults.take(request.method, request.path)
        if fault is not None and fault.latency:
            await asyncio.sleep(fault.latency)
        if fault is not None and fault.status is not None:
            return web.json_response(fault.response_body(), status=fault.status)
        owner, name, sha = (request.match_info[k] for k in ("owner", "repo", "sha"))
        repo = state.find_repo(owner, name)
        try:
            if repo is None or sha not in state.objects.commits:
                raise not_found()
            if repo.private:
                grant = state.archive_grants.get(request.query.get("token", ""))
                wanted = (repo.full_name.lower(), sha)
                if grant is None or grant.expires <= state.clock() or grant.key != wanted:
                    raise not_found()
        except ApiError:
            return web.Response(status=404, text="Not Found")
        body = build_tarball(state, repo.full_name, sha)
        headers = {
            "content-type": "application/x-gzip",
            "content-disposition": f"attachment; filename={owner}-{name}-{sha[:7]}.tar.gz",
            "etag": f'"{sha}"',
        }
        return web.Response(body=body, headers=headers)

    return handle
