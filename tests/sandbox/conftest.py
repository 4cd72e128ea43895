"""Fixtures for the double's tests: thin wrappers over bot.sandbox.testing."""

from __future__ import annotations

import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import AppCredentials, Sandbox, new_double


@pytest.fixture
def double(credentials: AppCredentials) -> GitHubDouble:
    return new_double(credentials)


@pytest.fixture
async def gh(sandbox: Sandbox, installation: int) -> GitHubAPI:
    """A gidgethub client holding an installation token obtained through the JWT flow."""
    return await sandbox.installation_client(installation)
