"""Credentials: the App's JWT and its installation tokens, or a personal token.

Owns issuing and caching the App JWT (RS256, `iat` 60 s in the past, `exp` 10 minutes after
`iat`), minting installation tokens through `POST /app/installations/{id}/access_tokens`,
caching them until shortly before `expires_at` with one refresh at a time per installation,
and forgetting a token GitHub refused. `TokenAuth` is the same interface for `GITHUB_TOKEN`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import jwt
from gidgethub.abc import GitHubAPI

from bot.github.retry import post
from bot.github.urls import api_url

__all__ = ["AppAuth", "Credentials", "TokenAuth"]

JWT_BACKDATE = 60  # seconds `iat` lies in the past, against clock drift
JWT_LIFETIME = 600  # GitHub's maximum `exp - iat`
JWT_REISSUE_BEFORE = 120  # a JWT is replaced when less than this is left
TOKEN_REFRESH_MARGIN = 300.0  # an installation token is replaced this long before it expires


class Credentials(Protocol):
    """What the client needs from credentials, in App mode and in token mode alike."""

    async def token_for(self, gh: GitHubAPI, installation_id: int) -> str:
        """A valid token for the installation; `gh` sends any request needed to get one."""
        ...

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """Forget the installation's token (only if it is still `token`, when given)."""
        ...


@dataclass(frozen=True)
class _Cached:
    value: str
    refresh_at: float


class AppAuth:
    """GitHub App credentials: a JWT for App endpoints, installation tokens for the rest."""

    def __init__(
        self,
        app_id: int | str,
        private_key_pem: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = TOKEN_REFRESH_MARGIN,
    ) -> None:
        self.app_id = str(app_id)
        self._private_key = private_key_pem
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._jwt: _Cached | None = None
        self._tokens: dict[int, _Cached] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def jwt(self) -> str:
        """The App's JWT, reissued when less than two minutes of it are left."""
        now = self._clock()
        if self._jwt is None or now >= self._jwt.refresh_at:
            issued = int(now) - JWT_BACKDATE
            expires = issued + JWT_LIFETIME
            claims = {"iat": issued, "exp": expires, "iss": self.app_id}
            value = jwt.encode(claims, self._private_key, algorithm="RS256")
            self._jwt = _Cached(value, expires - JWT_REISSUE_BEFORE)
        return self._jwt.value

    def _fresh(self, installation_id: int) -> str | None:
        cached = self._tokens.get(installation_id)
        if cached is None or self._clock() >= cached.refresh_at:
            return None
        return cached.value

    async def token_for(self, gh: GitHubAPI, installation_id: int) -> str:
        token = self._fresh(installation_id)
        if token is not None:
            return token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            token = self._fresh(installation_id)
            if token is None:
                token = await self._mint(gh, installation_id)
            return token

    async def _mint(self, gh: GitHubAPI, installation_id: int) -> str:
        reply = await post(
            gh,
            api_url("app", "installations", installation_id, "access_tokens"),
            data=b"",
            jwt=self.jwt(),
            retry_safe=True,
        )
        now = self._clock()
        expires = datetime.fromisoformat(str(reply["expires_at"])).timestamp()
        # Keep a short-lived token for half its life rather than refreshing on every call.
        margin = min(self._refresh_margin, max(expires - now, 0.0) / 2)
        token = str(reply["token"])
        self._tokens[installation_id] = _Cached(token, expires - margin)
        return token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        cached = self._tokens.get(installation_id)
        if cached is not None and (token is None or cached.value == token):
            del self._tokens[installation_id]


class TokenAuth:
    """`GITHUB_TOKEN` mode: one token acting as a bot user; installation ids are ignored."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token_for(self, gh: GitHubAPI, installation_id: int) -> str:
        return self._token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """A refused personal token cannot be renewed; the next request fails again."""
