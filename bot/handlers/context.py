"""What every handler receives besides the event: the installation's GitHub and shared caches."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.github.gateway import Client, GitHub
from bot.github.people import Directory
from bot.github.repo_config import ConfigCache
from bot.handlers.reply_budget import ReplyBudget


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def parse_time(value: str) -> datetime.datetime:
    """A GitHub timestamp (`2026-11-21T09:00:00Z`, or any ISO 8601 form) as a datetime."""
    return datetime.datetime.fromisoformat(value)


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
