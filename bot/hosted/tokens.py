"""The installation tokens every worker shares (hosted mode), encrypted in Redis.

Owns ``kepbot:token:<installation>``: the installation's current token with its expiry
and refresh times, AES-256-GCM encrypted under a key derived from the App's private key,
with the key's name as associated data (a value copied under another installation's key
does not decrypt), expiring with the token; and ``kepbot:token-lock:<installation>``: the
fleet-wide lock on minting the next one (``SET NX PX``, a random owner, released only by
its owner in one Lua step). ``bot.github.auth.AppAuth`` decides when to read, lock, mint
and store (``TokenShare``). A value that does not decrypt reads as no token (logged); a
Redis that does not answer within a second reads as no token and no lock, and each worker
mints its own, as in one-process mode (logged once until Redis answers again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.github.auth import RefreshLock, SharedToken
from bot.hosted.lanes import PREFIX
from bot.settings import Settings

__all__ = ["RedisTokenShare", "encryption_key", "lock_key", "token_key", "token_share"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

TIMEOUT_SECONDS = 1.0
KEY_PURPOSE = b"kepbot installation tokens"
NONCE_BYTES = 12

# Only the holder releases the lock: one whose lock ran out must not release the next one's.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _Unanswered:
    """What a Redis command that failed or timed out gives instead of an answer."""


UNANSWERED = _Unanswered()


def token_key(installation_id: int) -> str:
    return f"{PREFIX}token:{installation_id}"


def lock_key(installation_id: int) -> str:
    return f"{PREFIX}token-lock:{installation_id}"


def encryption_key(private_key_pem: str) -> bytes:
    """The AES-256 key of the shared tokens: HKDF-SHA256 of the App's private key (its DER
    form, so that every way of writing the same key gives the same one)."""
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_PURPOSE).derive(der)


def token_share(redis: Redis, settings: Settings) -> RedisTokenShare | None:
    """The workers' token share in App mode; none in token mode (one token, never minted)."""
    if settings.auth_mode == "token":
        return None
    return RedisTokenShare(redis, encryption_key(settings.private_key()))


class RedisTokenShare:
    """``TokenShare`` on the hosted mode's Redis."""

    def __init__(self, redis: Redis, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self._aead = AESGCM(key)
        self._clock = clock
        self._unlock = redis.register_script(_UNLOCK)
        self._unreachable = False

    async def read(self, installation_id: int) -> SharedToken | None:
        raw = await self._ask(lambda: self.redis.get(token_key(installation_id)))
        if raw is None or isinstance(raw, _Unanswered):
            return None
        return self._open(installation_id, raw)

    async def store(self, installation_id: int, token: SharedToken) -> None:
        ttl_ms = int((token.expires_at - self._clock()) * 1000)
        if ttl_ms > 0:
            sealed = self._seal(installation_id, token)
            await self._ask(lambda: self.redis.set(token_key(installation_id), sealed, px=ttl_ms))

    async def lock_refresh(self, installation_id: int, owner: str, seconds: float) -> RefreshLock:
        key, ttl_ms = lock_key(installation_id), max(int(seconds * 1000), 1)
        taken = await self._ask(lambda: self.redis.set(key, owner, nx=True, px=ttl_ms))
        if isinstance(taken, _Unanswered):
            return RefreshLock.UNAVAILABLE
        return RefreshLock.TAKEN if taken else RefreshLock.HELD

    async def unlock_refresh(self, installation_id: int, owner: str) -> None:
        await self._ask(lambda: self._unlock(keys=[lock_key(installation_id)], args=[owner]))

    def _seal(self, installation_id: int, token: SharedToken) -> bytes:
        record = {"token": token.value, "expires": token.expires_at, "refresh": token.refresh_at}
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(record).encode()
        return nonce + self._aead.encrypt(nonce, plain, token_key(installation_id).encode())

    def _open(self, installation_id: int, raw: bytes) -> SharedToken | None:
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, sealed, token_key(installation_id).encode())
            record = json.loads(plain)
            return SharedToken(
                str(record["token"]), float(record["expires"]), float(record["refresh"])
            )
        except (InvalidTag, ValueError, KeyError, TypeError):
            logger.warning(
                "the shared token of installation %s does not decrypt; minting another",
                installation_id,
            )
            return None

    async def _ask(self, command: Callable[[], Awaitable[T]]) -> T | _Unanswered:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                answer = await command()
        except (RedisError, OSError, TimeoutError) as exc:
            if not self._unreachable:
                logger.warning("installation tokens are not shared, Redis is unavailable: %s", exc)
            self._unreachable = True
            return UNANSWERED
        if self._unreachable:
            logger.info("installation tokens are shared again")
            self._unreachable = False
        return answer
