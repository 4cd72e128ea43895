"""What every handler receives besides the event: the installation's client and shared caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from gidgethub.abc import GitHubAPI

from bot.github.people import Directory
from bot.github.repo_config import ConfigCache


@dataclass(frozen=True)
class HandlerContext:
    gh: GitHubAPI
    bot_login: str
    config_cache: ConfigCache
    app_mode: bool = True  # False with a personal token: no check runs, commit statuses instead
    directory: Directory = field(default_factory=Directory)
