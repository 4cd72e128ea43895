"""Finding and loading a repository's kepbot configuration.

Owns where `.github/kepbot.yml` comes from: the repository's default branch (never a pull
request's head, docs/design.md I5), else the owner's `.github` repository on its default
branch, else the `kep` preset. A wrong file is returned as a `ConfigResult` carrying the
`ConfigError` (file, line, message) and logged as file:line; it is never raised. Results are
cached per (installation, repository) for a short time, and re-read through the client's
ETag cache afterwards, so an unchanged configuration costs a 304.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cachetools
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.config import CONFIG_PATH, Config, ConfigError, load_config
from bot.github import caches
from bot.github.repo import FileVersion, read_file
from bot.github.urls import repo_url

__all__ = ["ConfigCache", "ConfigResult", "ConfigSource", "load_repo_config"]

ConfigSource = Literal["repo", "owner", "preset"]
OWNER_REPO = ".github"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigResult:
    """The configuration in force for a repository, or why there is none."""

    source: ConfigSource
    repository: str | None  # where the file was read; None for the preset
    config: Config | None = None
    error: ConfigError | None = None

    @property
    def ok(self) -> bool:
        return self.config is not None


class ConfigCache:
    """Recent results per (installation, repository, default branch), for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = caches.CONFIG_TTL,
        max_bytes: int = caches.CONFIG_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._results: cachetools.TTLCache[tuple[object, ...], ConfigResult] = caches.ttl(
            max_bytes, ttl, timer=clock
        )

    def get(self, key: tuple[object, ...]) -> ConfigResult | None:
        return self._results.get(key)

    def put(self, key: tuple[object, ...], result: ConfigResult) -> None:
        caches.keep(self._results, key, result)


def _parse(found: FileVersion, source: ConfigSource, repository: str) -> ConfigResult:
    try:
        return ConfigResult(source, repository, config=load_config(found.text, CONFIG_PATH))
    except UnicodeDecodeError:
        error = ConfigError(CONFIG_PATH, [(1, "the file is not UTF-8 text")])
    except ConfigError as exc:
        error = exc
    return ConfigResult(source, repository, error=error)


async def _default_branch(gh: GitHubAPI, repo: str) -> str | None:
    try:
        info = await gh.getitem(repo_url(repo))
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise
    return str(info["default_branch"])


async def _load(gh: GitHubAPI, repo: str, default_branch: str) -> ConfigResult:
    own = await read_file(gh, repo, CONFIG_PATH, default_branch)
    if own is not None:
        return _parse(own, "repo", repo)
    shared = f"{repo.split('/')[0]}/{OWNER_REPO}"
    if shared.lower() != repo.lower():
        branch = await _default_branch(gh, shared)
        found = await read_file(gh, shared, CONFIG_PATH, branch) if branch else None
        if found is not None:
            return _parse(found, "owner", shared)
    return ConfigResult("preset", None, config=load_config(None))


async def load_repo_config(
    gh: GitHubAPI, repo_full_name: str, default_branch: str, *, cache: ConfigCache | None = None
) -> ConfigResult:
    """The configuration of `repo_full_name`, read from `default_branch` (its default branch).

    GitHub errors (after the client's retries) propagate; an invalid file does not.
    """
    key = (getattr(gh, "installation_id", None), repo_full_name.lower(), default_branch)
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    result = await _load(gh, repo_full_name, default_branch)
    if result.error is not None:
        log.warning(
            "invalid kepbot configuration in %s; no action on %s: %s",
            result.repository,
            repo_full_name,
            result.error.render(),
            extra={"repository": repo_full_name, "config_source": result.source},
        )
    if cache is not None:
        cache.put(key, result)
    return result
