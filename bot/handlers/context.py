"""What every handler receives besides the event: the installation's GitHub and shared caches."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.github.gateway import Client, GitHub
from bot.github.people import Directory
from bot.github.repo_config import ConfigCache
from bot.handlers.reply_budget import ReplyBudget

if TYPE_CHECKING:
    from bot.github.client import GitHubClient
    from bot.settings import Settings


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def parse_time(value: str) -> datetime.datetime:
    """A GitHub timestamp (`2026-11-21T09:00:00Z`, or any ISO 8601 form) as a datetime."""
    return datetime.datetime.fromisoformat(value)


def moment(value: object) -> datetime.datetime | None:
    """A timestamp field of GitHub's answer as a datetime; None when missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class HandlerContext:
    github: GitHub  # the one way to GitHub (bot/github/gateway.py)
    bot_login: str
    config_cache: ConfigCache
    app_mode: bool = True  # False with a personal token: no check runs, commit statuses instead
    directory: Directory = field(default_factory=Directory)
    # What time it is (UTC): comment periods end by it; tests move it forward.
    clock: Callable[[], datetime.datetime] = field(default=utcnow)
    # Replies per person per pull request per hour, shared by the deliveries of a process.
    replies: ReplyBudget = field(default_factory=ReplyBudget)

    @property
    def gh(self) -> Client:
        """The gateway's client, for the `bot.github` functions that take one."""
        return self.github.client


class RunningBot(Protocol):
    """What reconcile and the pipeline page use of the started bot (`bot.routing.Bot`): they
    are handed the bot rather than importing its module, which imports them."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime.datetime]: ...

    @property
    def config_cache(self) -> ConfigCache: ...

    @property
    def client(self) -> GitHubClient: ...

    async def context(self, installation: int) -> HandlerContext:
        """The context handlers get for `installation`."""
        ...
