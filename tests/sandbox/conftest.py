"""Fixtures for the double's tests: thin wrappers over bot.sandbox.testing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import AppCredentials, Sandbox, app_credentials, new_double, sandbox

SEED_FILES = {
    "README.md": "# Enhancements\n",
    "keps/sig-node/1234-pod-stuff/kep.yaml": "title: Pod stuff\nstatus: provisional\n",
    "keps/sig-node/1234-pod-stuff/README.md": "# KEP-1234: Pod stuff\n\n## Summary\n",
}


@pytest.fixture
def credentials() -> AppCredentials:
    return app_credentials()


@pytest.fixture
def double(credentials: AppCredentials) -> GitHubDouble:
    return new_double(credentials)


@pytest.fixture
def repo(double: GitHubDouble) -> str:
    """octo/enhancements with a KEP, the App installed on the octo account."""
    return double.add_repo("octo", "enhancements", SEED_FILES)


@pytest.fixture
def installation(double: GitHubDouble, repo: str) -> int:
    return double.add_installation("octo")


@pytest.fixture
async def box(double: GitHubDouble, credentials: AppCredentials) -> AsyncIterator[Sandbox]:
    async with sandbox(double, credentials=credentials) as running:
        yield running


@pytest.fixture
async def gh(box: Sandbox, installation: int) -> GitHubAPI:
    """A gidgethub client holding an installation token obtained through the JWT flow."""
    return await box.installation_client(installation)
