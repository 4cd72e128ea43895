"""Credentials: the App's JWT and its installation tokens, or a personal token.

Owns issuing and caching the App JWT (RS256, `iat` 60 s in the past, `exp` 10 minutes after
`iat`), minting installation tokens through `POST /app/installations/{id}/access_tokens`,
caching them until shortly before `expires_at` with one refresh at a time per installation,
and forgetting a token GitHub refused. `TokenAuth` is the same interface for `GITHUB_TOKEN`.

With a `TokenShare` (hosted mode: `bot.hosted.tokens`), the processes of a fleet share their
installation tokens: a process whose own token is due reads the shared one, and only when
that is due too does one process at a time (a fleet-wide lock) mint the next one and share
it; the others wait for it, at most the lock's time. A store that does not answer means no
sharing: each process mints and caches its own tokens, as without one.
"""

from __future__ import annotations

import asyncio
import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import jwt
from gidgethub.abc import GitHubAPI

from bot.github.retry import post
from bot.github.urls import api_url

__all__ = ["AppAuth", "Credentials", "RefreshLock", "SharedToken", "TokenAuth", "TokenShare"]

JWT_BACKDATE = 60  # seconds `iat` lies in the past, against clock drift
JWT_LIFETIME = 600  # GitHub's maximum `exp - iat`
JWT_REISSUE_BEFORE = 120  # a JWT is replaced when less than this is left
TOKEN_REFRESH_MARGIN = 300.0  # an installation token is replaced this long before it expires
SHARED_REFRESH_LOCK_SECONDS = 5.0  # one process of the fleet mints; the others wait this long
SHARED_POLL_SECONDS = 0.05  # how often a waiting process looks for the minted token


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


@dataclass(frozen=True)
class SharedToken:
    """An installation token as the fleet shares it; times in seconds since the epoch."""

    value: str
    expires_at: float
    refresh_at: float  # as the process that minted it worked it out


class RefreshLock(enum.Enum):
    """The answer to a request for the fleet-wide lock on an installation's refresh."""

    TAKEN = "taken"  # this process mints, then releases the lock
    HELD = "held"  # another process is minting: wait for its token
    UNAVAILABLE = "unavailable"  # the store does not answer: mint alone, share nothing


class TokenShare(Protocol):
    """Installation tokens shared by the processes of a fleet (hosted mode: Redis).

    No method raises: a store that cannot be reached holds no token, and its lock is
    `UNAVAILABLE`.
    """

    async def read(self, installation_id: int) -> SharedToken | None:
        """The installation's shared token, if one is held (fresh or not)."""
        ...

    async def store(self, installation_id: int, token: SharedToken) -> None:
        """Share `token`, until it expires."""
        ...

    async def lock_refresh(self, installation_id: int, owner: str, seconds: float) -> RefreshLock:
        """Take the installation's refresh lock for `owner`, for at most `seconds`."""
        ...

    async def unlock_refresh(self, installation_id: int, owner: str) -> None:
        """Release the lock if `owner` still holds it."""
        ...


class AppAuth:
    """GitHub App credentials: a JWT for App endpoints, installation tokens for the rest."""

    def __init__(
        self,
        app_id: int | str,
        private_key_pem: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = TOKEN_REFRESH_MARGIN,
        shared: TokenShare | None = None,
        shared_lock_seconds: float = SHARED_REFRESH_LOCK_SECONDS,
    ) -> None:
        self.app_id = str(app_id)
        self._private_key = private_key_pem
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._shared = shared
        self._shared_lock_seconds = shared_lock_seconds
        self._jwt: _Cached | None = None
        self._tokens: dict[int, _Cached] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # The last token GitHub refused this process, per installation: a shared copy of it
        # is stale however long it claims to last.
        self._refused: dict[int, str] = {}

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
            if token is not None:
                return token
            if self._shared is None:
                return (await self._mint(gh, installation_id)).value
            return await self._renew_shared(gh, installation_id, self._shared)

    async def _renew_shared(self, gh: GitHubAPI, installation_id: int, shared: TokenShare) -> str:
        """The shared token if it is fresh, else the one the lock's holder mints (waiting
        at most the lock's time for it), else one of this process's own."""
        owner = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._shared_lock_seconds
        while (token := await self._adopt(shared, installation_id)) is None:
            lock = await shared.lock_refresh(installation_id, owner, self._shared_lock_seconds)
            if lock is not RefreshLock.HELD or loop.time() >= give_up_at:
                return await self._mint_for_fleet(gh, installation_id, shared, owner, lock)
            await asyncio.sleep(SHARED_POLL_SECONDS)
        return token

    async def _adopt(self, shared: TokenShare, installation_id: int) -> str | None:
        token = await shared.read(installation_id)
        if token is None or token.value == self._refused.get(installation_id):
            return None
        if self._clock() >= token.refresh_at:
            return None
        self._tokens[installation_id] = _Cached(token.value, token.refresh_at)
        return token.value

    async def _mint_for_fleet(
        self,
        gh: GitHubAPI,
        installation_id: int,
        shared: TokenShare,
        owner: str,
        lock: RefreshLock,
    ) -> str:
        try:
            if lock is RefreshLock.TAKEN:
                # The lock's last holder may have shared its token since this process looked.
                adopted = await self._adopt(shared, installation_id)
                if adopted is not None:
                    return adopted
            token = await self._mint(gh, installation_id)
            if lock is not RefreshLock.UNAVAILABLE:
                await shared.store(installation_id, token)
            return token.value
        finally:
            if lock is RefreshLock.TAKEN:
                await shared.unlock_refresh(installation_id, owner)

    async def _mint(self, gh: GitHubAPI, installation_id: int) -> SharedToken:
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
        token = SharedToken(str(reply["token"]), expires, expires - margin)
        self._tokens[installation_id] = _Cached(token.value, token.refresh_at)
        return token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        cached = self._tokens.get(installation_id)
        refused = token if token is not None else cached.value if cached else None
        if refused is not None:
            self._refused[installation_id] = refused
        if cached is not None and cached.value == refused:
            del self._tokens[installation_id]


class TokenAuth:
    """`GITHUB_TOKEN` mode: one token acting as a bot user; installation ids are ignored."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token_for(self, gh: GitHubAPI, installation_id: int) -> str:
        return self._token

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """A refused personal token cannot be renewed; the next request fails again."""
