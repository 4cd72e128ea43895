"""Runtime settings: the environment variables of the server, validated once at start-up.

Nothing is read at import time. ``Settings.from_env()`` reads the environment (and raises
``SettingsError`` with a one-line message a person can act on); tests build ``Settings`` from
keyword arguments or a dict.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Settings", "SettingsError", "describe_errors"]

# GitHub does not deliver payloads above 25 MB; leave a little room above 25 MiB.
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024 + 64 * 1024
DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024
DEFAULT_REDIS_QUEUE_BYTES = 256 * 1024 * 1024

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(Exception):
    """The environment does not describe a runnable server; the message says what to set."""


class Settings(BaseSettings):
    """Every setting is read from the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    github_webhook_secret: SecretStr = Field(min_length=1)
    github_app_id: int | None = Field(default=None, gt=0)
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    port: int = Field(default=8080, ge=0, le=65535)

    kepbot_max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    kepbot_workers: int = Field(default=8, ge=1)
    kepbot_queue_size: int = Field(default=1000, ge=1)
    # The bodies of the deliveries waiting in the queue, at most (a decoded body holds about
    # three times its bytes): a burst fills this before the count when payloads are large.
    kepbot_queue_bytes: int = Field(default=DEFAULT_QUEUE_BYTES, ge=1)
    kepbot_drain_seconds: float = Field(default=25.0, ge=0)
    kepbot_log_level: str = "INFO"
    # Reconcile (docs/design.md B8): a pass at start-up and then every this many seconds;
    # 0 turns it off.
    kepbot_reconcile_seconds: float = Field(default=900.0, ge=0)
    # A command claimed (👀) this long ago with no outcome is taken to be lost and run again.
    kepbot_reconcile_grace_seconds: float = Field(default=600.0, ge=0)
    # The pipeline page shows private repositories only when this is on.
    kepbot_page_private: bool = False
    # Replies the bot posts to one person on one pull request per hour (one per comment at
    # most); past it, that person's further commands get only the 👍/👎 reaction.
    kepbot_replies_per_hour: int = Field(default=5, ge=1)
    # Pipeline page requests one client may make: a bucket of this many, refilled at the
    # rate per minute; past it the page answers 429 with Retry-After (bot.page_guard).
    kepbot_page_requests_per_minute: float = Field(default=30.0, gt=0)
    kepbot_page_burst: int = Field(default=10, ge=1)
    # Reverse proxies in front of the server that append the client to X-Forwarded-For
    # (1 on Heroku); 0 takes the connection's peer as the client.
    kepbot_trusted_proxies: int = Field(default=0, ge=0)
    # Slow clients: a request body must arrive within this many seconds (GitHub itself
    # gives up on a delivery after 10), a request's head within the header timeout of the
    # connection opening or of the previous answer, and at most this many connections are
    # open at once (more are answered 503 and closed).
    kepbot_body_timeout_seconds: float = Field(default=10.0, gt=0)
    kepbot_header_timeout_seconds: float = Field(default=15.0, gt=0)
    kepbot_max_connections: int = Field(default=256, ge=1)
    # Hosted mode (docs/design.md, "Hosted mode"): with a Redis URL, web processes queue
    # deliveries in Redis and `kepbot worker` processes run them; without it, one process
    # does both, as always.
    kepbot_redis_url: SecretStr | None = None
    # A worker holds a pull request's lane under a lease it renews; a worker that dies
    # leaves it to expire after this many seconds, and another worker takes the lane over.
    kepbot_lease_seconds: float = Field(default=10.0, ge=1)
    # The payloads queued in Redis and not yet handled, at most: past it a web process
    # answers 503 (a fleet without live workers would otherwise fill Redis's memory).
    kepbot_redis_queue_bytes: int = Field(default=DEFAULT_REDIS_QUEUE_BYTES, ge=1)
    # Workers share their ETag, blob and configuration caches in Redis, each space bounded
    # (bot/github/caches.py); false keeps every cache in its own process.
    kepbot_shared_caches: bool = True

    @field_validator("github_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.github.com")
        return value

    @field_validator("kepbot_redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("kepbot_log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("github_private_key", "github_token", "kepbot_redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> Settings:
        app_vars = [
            name
            for name, value in (
                ("GITHUB_APP_ID", self.github_app_id),
                ("GITHUB_PRIVATE_KEY", self.github_private_key),
                ("GITHUB_PRIVATE_KEY_PATH", self.github_private_key_path),
            )
            if value is not None
        ]
        if self.github_token is not None:
            if app_vars:
                raise ValueError(
                    "set GITHUB_TOKEN (token mode) or the GitHub App variables, not both; "
                    f"also set: {', '.join(app_vars)}"
                )
            return self
        if not app_vars:
            raise ValueError(
                "no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID with "
                "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH"
            )
        if self.github_app_id is None:
            raise ValueError("GITHUB_APP_ID is required with a GitHub App private key")
        if (self.github_private_key is None) == (self.github_private_key_path is None):
            raise ValueError(
                "set exactly one of GITHUB_PRIVATE_KEY (PEM text) or GITHUB_PRIVATE_KEY_PATH"
            )
        path = self.github_private_key_path
        if path is not None and not path.is_file():
            raise ValueError(f"GITHUB_PRIVATE_KEY_PATH {str(path)!r} does not name a file")
        return self

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment; raise ``SettingsError`` with one line saying what to fix."""
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError(describe_errors(exc)) from None

    @property
    def auth_mode(self) -> Literal["app", "token"]:
        return "token" if self.github_token is not None else "app"

    @property
    def log_level(self) -> int:
        return logging.getLevelNamesMapping()[self.kepbot_log_level]

    @property
    def hosted(self) -> bool:
        """Whether deliveries go through Redis to worker processes (KEPBOT_REDIS_URL)."""
        return self.kepbot_redis_url is not None

    def redis_url(self) -> str:
        if self.kepbot_redis_url is None:
            raise SettingsError(
                "KEPBOT_REDIS_URL is not set: worker processes need the Redis the web "
                "processes queue deliveries in (for example redis://localhost:6379/0)"
            )
        return self.kepbot_redis_url.get_secret_value()

    def webhook_secret(self) -> bytes:
        return self.github_webhook_secret.get_secret_value().encode("utf-8")

    def private_key(self) -> str:
        """The App's PEM private key, from ``GITHUB_PRIVATE_KEY`` or the file it names.

        A key given with literal ``\\n`` sequences (a common way to put PEM in one line) is
        turned back into lines.
        """
        if self.github_private_key is not None:
            pem = self.github_private_key.get_secret_value()
        elif self.github_private_key_path is not None:
            pem = self.github_private_key_path.read_text(encoding="utf-8")
        else:
            raise SettingsError("no private key configured: the bot runs in token mode")
        if "\n" not in pem.strip() and "\\n" in pem:
            pem = pem.replace("\\n", "\n")
        return pem.strip() + "\n"


def describe_errors(exc: ValidationError) -> str:
    """Turn a validation error into one line naming the environment variables to fix."""
    parts: list[str] = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        name = str(error["loc"][0]).upper() if error["loc"] else ""
        unset = error["type"] in ("missing", "string_too_short", "too_short")
        if not name:
            parts.append(message)
        elif name == "GITHUB_WEBHOOK_SECRET" and unset:
            parts.append(
                "GITHUB_WEBHOOK_SECRET is not set: the server refuses to start without the "
                "webhook secret (the same value as the secret of the App's webhook)"
            )
        elif error["type"] == "missing":
            parts.append(f"{name} is not set")
        else:
            parts.append(f"{name}: {message}")
    return "; ".join(parts)
