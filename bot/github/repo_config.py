"""Finding and loading a repository's kepbot configuration.

Owns where `.github/kepbot.yml` comes from: the repository's default branch (never a pull
request's head, docs/design.md I5), else the owner's `.github` repository on its default
branch, else the `kep` preset. A wrong file is returned as a `ConfigResult` carrying the
`ConfigError` (file, line, message) and logged as file:line; it is never raised. Results are
cached per (installation, repository) for a short time, and re-read through the client's
ETag cache afterwards, so an unchanged configuration costs a 304. In a fleet (hosted mode)
the file as read is shared too (`bot.github.caches.SharedCache`): a worker takes another's
reading when it is younger than half `CONFIG_TTL`, so a change is seen within 1.5 times it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cachetools
import orjson
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.config import CONFIG_PATH, Config, ConfigError, load_config
from bot.github import caches
from bot.github.repo import read_file
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


@dataclass(frozen=True)
class _Found:
    """Where the configuration was found, and the file's bytes (None for the preset)."""

    source: ConfigSource
    repository: str | None = None
    data: bytes | None = None

    def result(self) -> ConfigResult:
        if self.data is None or self.repository is None:
            return ConfigResult("preset", None, config=load_config(None))
        try:
            text = self.data.decode("utf-8")
            config = load_config(text, CONFIG_PATH)
        except UnicodeDecodeError:
            error = ConfigError(CONFIG_PATH, [(1, "the file is not UTF-8 text")])
        except ConfigError as exc:
            error = exc
        else:
            return ConfigResult(self.source, self.repository, config=config)
        return ConfigResult(self.source, self.repository, error=error)

    def encode(self) -> bytes:
        head = orjson.dumps({"source": self.source, "repository": self.repository})
        return head + b"\n" + (self.data or b"")

    @classmethod
    def decode(cls, value: bytes) -> _Found | None:
        head, _, data = value.partition(b"\n")
        try:
            found = orjson.loads(head)
            source = found["source"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None
        if source not in ("repo", "owner"):
            return cls("preset")
        return cls(source, str(found["repository"]), data)


async def _default_branch(gh: GitHubAPI, repo: str) -> str | None:
    try:
        info = await gh.getitem(repo_url(repo))
    except BadRequest as error:
        if error.status_code == 404:
            return None
        raise
    return str(info["default_branch"])


async def _find(gh: GitHubAPI, repo: str, default_branch: str) -> _Found:
    own = await read_file(gh, repo, CONFIG_PATH, default_branch)
    if own is not None:
        return _Found("repo", repo, own.data)
    owners = f"{repo.split('/')[0]}/{OWNER_REPO}"
    if owners.lower() != repo.lower():
        branch = await _default_branch(gh, owners)
        found = await read_file(gh, owners, CONFIG_PATH, branch) if branch else None
        if found is not None:
            return _Found("owner", owners, found.data)
    return _Found("preset")


async def _find_shared(gh: GitHubAPI, repo: str, default_branch: str) -> _Found:
    """The configuration as another worker of the fleet read it lately, else as read now
    (and then shared)."""
    shared = caches.shared_cache(gh)
    if shared is None:
        return await _find(gh, repo, default_branch)
    installation = getattr(gh, "installation_id", None)
    key = f"{installation}:{repo.lower()}:{default_branch}"
    entry = await shared.get("config", key)
    if entry is not None and entry.value is not None:
        try:
            age = time.time() - float(entry.tag)
        except ValueError:
            age = caches.CONFIG_TTL
        found = _Found.decode(entry.value) if 0 <= age < caches.CONFIG_TTL / 2 else None
        if found is not None:
            return found
    read_at = time.time()
    found = await _find(gh, repo, default_branch)
    await shared.put("config", key, f"{read_at:.3f}", found.encode())
    return found


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
    result = (await _find_shared(gh, repo_full_name, default_branch)).result()
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
