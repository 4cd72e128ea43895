"""Helpers for tests anywhere in the project: App credentials, a double running on loopback,
and gidgethub clients pointed at it. Import these instead of copying fixtures.

    async with sandbox() as box:
        repo = box.double.add_repo("octo", "enhancements", {"README.md": "hi"})
        box.double.add_installation("octo")
        gh = await box.installation_client(1)
        await gh.getitem("/repos/octo/enhancements")
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox.double import GitHubDouble
from bot.sandbox.server import serve

REQUESTER = "kepbot-sandbox-tests"
# A minimal proposals repository the tests of the double and of the GitHub layer start from.
SEED_KEP = "keps/sig-node/1234-pod-stuff/kep.yaml"
SEED_FILES = {
    "README.md": "# Enhancements\n",
    SEED_KEP: "title: Pod stuff\nstatus: provisional\n",
    "keps/sig-node/1234-pod-stuff/README.md": "# KEP-1234: Pod stuff\n\n## Summary\n",
}


@dataclass(frozen=True)
class AppCredentials:
    app_id: int
    private_key: str  # PEM, what the bot is configured with
    public_key: str  # PEM, what the double verifies JWTs with


@functools.cache
def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class ManualClock:
    """A clock for the double that only moves when told to (`GitHubDouble(clock=...)`)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def utc(self) -> datetime.datetime:
        """The same moment for the bot (`Bot(clock=...)`), which keeps UTC datetimes."""
        return datetime.datetime.fromtimestamp(self.now, datetime.UTC)


def app_credentials(app_id: int = 1) -> AppCredentials:
    """An RSA key pair for the App (generated once per process)."""
    private, public = _key_pair()
    return AppCredentials(app_id, private, public)


def new_double(credentials: AppCredentials | None = None, **options: Any) -> GitHubDouble:
    """A double that trusts `credentials` (fresh ones by default) for App JWTs."""
    creds = credentials or app_credentials()
    return GitHubDouble(app_id=creds.app_id, app_public_key=creds.public_key, **options)


@asynccontextmanager
async def running(double: GitHubDouble, *, base_path: str = "") -> AsyncIterator[str]:
    """Serve `double` on 127.0.0.1 for the duration of the block; yield the API base URL."""
    runner, base_url = await serve(double, base_path=base_path)
    try:
        yield base_url
    finally:
        await runner.cleanup()


@dataclass
class Sandbox:
    double: GitHubDouble
    base_url: str
    credentials: AppCredentials
    session: aiohttp.ClientSession

    def client(
        self, token: str | None = None, *, cache: MutableMapping[str, Any] | None = None
    ) -> GitHubAPI:
        """A gidgethub client using `token` (installation or personal), or anonymous."""
        return GitHubAPI(
            self.session, REQUESTER, oauth_token=token, cache=cache, base_url=self.base_url
        )

    def app_client(self) -> GitHubAPI:
        """A gidgethub client that authenticates as the App with a JWT."""
        return GitHubAPI(
            self.session,
            REQUESTER,
            app_id=str(self.credentials.app_id),
            private_key=self.credentials.private_key,
            base_url=self.base_url,
        )

    async def installation_token(self, installation_id: int) -> str:
        """A token obtained the real way: JWT → POST app/installations/{id}/access_tokens."""
        response = await apps.get_installation_access_token(
            self.app_client(),
            installation_id=str(installation_id),
            app_id=str(self.credentials.app_id),
            private_key=self.credentials.private_key,
        )
        return str(response["token"])

    async def installation_client(self, installation_id: int) -> GitHubAPI:
        return self.client(await self.installation_token(installation_id))


@asynccontextmanager
async def sandbox(
    double: GitHubDouble | None = None,
    *,
    credentials: AppCredentials | None = None,
    base_path: str = "",
) -> AsyncIterator[Sandbox]:
    """A running double plus an aiohttp session, closed when the block ends."""
    creds = credentials or app_credentials()
    target = double or new_double(creds)
    async with running(target, base_path=base_path) as base_url, aiohttp.ClientSession() as session:
        yield Sandbox(target, base_url, creds, session)
