"""The facts roles are made of, read from GitHub: permission, team membership, CODEOWNERS.

The module functions make the requests; `Directory` wraps them with short TTL caches keyed
per installation, so a burst of commands costs few requests. One `Directory` lives per bot
and is shared across events. CODEOWNERS is read from the repository's DEFAULT branch only:
a pull request cannot make its author an owner (docs/design.md I5).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import cachetools
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.codeowners import CODEOWNERS_PATHS
from bot.engine.roles import PERMISSIONS, normalize
from bot.github import caches
from bot.github.repo import read_file
from bot.github.urls import api_url, repo_url

__all__ = ["Directory", "codeowners", "in_team", "permission"]

T = TypeVar("T")
_MISSING = object()
log = logging.getLogger(__name__)


async def permission(gh: GitHubAPI, repo: str, login: str) -> str:
    """`login`'s role on `repo`: admin, maintain, write, triage, read, or none.

    `role_name` is preferred (it keeps maintain and triage apart); a custom role name falls
    back to its base `permission`. A user GitHub does not know is "none".
    """
    url = repo_url(repo, "collaborators", normalize(login), "permission")
    try:
        reply: Any = await gh.getitem(url)
    except BadRequest as error:
        if error.status_code == 404:
            return "none"
        raise
    role = str(reply.get("role_name") or "").lower()
    return role if role in PERMISSIONS else str(reply.get("permission") or "none").lower()


async def in_team(gh: GitHubAPI, org: str, team_slug: str, login: str) -> bool:
    """Whether `login` is an active member of `org/team_slug` (pending invitations are not).

    404 (no membership, or a team the installation cannot see) and 403 (the App lacks the
    Organization members permission) are "not a member"; the latter is logged.
    """
    url = api_url("orgs", org, "teams", team_slug, "memberships", normalize(login))
    try:
        reply: Any = await gh.getitem(url)
    except BadRequest as error:
        if error.status_code == 403:
            log.warning("cannot read team %s/%s (Organization members permission?)", org, team_slug)
            return False
        if error.status_code == 404:
            return False
        raise
    return isinstance(reply, dict) and reply.get("state") == "active"


async def codeowners(gh: GitHubAPI, repo: str, default_branch: str) -> str | None:
    """The first CODEOWNERS file GitHub would use, read from `default_branch`; None if none.

    Pass the repository's default branch, never a pull request's head.
    """
    for path in CODEOWNERS_PATHS:
        found = await read_file(gh, repo, path, default_branch)
        if found is not None:
            return found.data.decode("utf-8", "replace")
    return None


class Directory:
    """The lookups above behind TTL caches keyed by installation (one instance per bot).

    Concurrent lookups of the same key share one request. Errors are not cached.
    """

    def __init__(
        self,
        ttl: float = caches.DIRECTORY_TTL,
        max_bytes: int = caches.DIRECTORY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._values: cachetools.TTLCache[tuple[object, ...], object] = caches.ttl(
            max_bytes, ttl, timer=clock
        )
        self._pending: dict[tuple[object, ...], asyncio.Future[None]] = {}

    @staticmethod
    def _scope(gh: GitHubAPI) -> object:
        return getattr(gh, "installation_id", None)

    async def _cached(self, key: tuple[object, ...], fetch: Callable[[], Awaitable[T]]) -> T:
        while True:
            found = self._values.get(key, _MISSING)
            if found is not _MISSING:
                return found  # type: ignore[return-value]
            pending = self._pending.get(key)
            if pending is None:
                return await self._fetch(key, fetch)
            await asyncio.wait([pending])  # the other lookup ended: its value, or try again

    async def _fetch(self, key: tuple[object, ...], fetch: Callable[[], Awaitable[T]]) -> T:
        done = asyncio.get_running_loop().create_future()
        self._pending[key] = done
        try:
            value = await fetch()
            caches.keep(self._values, key, value)
            return value
        finally:
            del self._pending[key]
            done.set_result(None)

    async def permission(self, gh: GitHubAPI, repo: str, login: str) -> str:
        key = ("permission", self._scope(gh), repo.lower(), normalize(login))
        return await self._cached(key, lambda: permission(gh, repo, login))

    async def in_team(self, gh: GitHubAPI, org: str, team_slug: str, login: str) -> bool:
        key = ("team", self._scope(gh), org.lower(), team_slug.lower(), normalize(login))
        return await self._cached(key, lambda: in_team(gh, org, team_slug, login))

    async def codeowners(self, gh: GitHubAPI, repo: str, default_branch: str) -> str | None:
        key = ("codeowners", self._scope(gh), repo.lower(), default_branch)
        return await self._cached(key, lambda: codeowners(gh, repo, default_branch))

    def forget(self) -> None:
        """Drop every cached fact (e.g. after a `member` or `membership` webhook)."""
        self._values.clear()
