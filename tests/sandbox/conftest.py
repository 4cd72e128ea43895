"""Fixtures for the double's tests: thin wrappers over bot.sandbox.testing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import AppCredentials, Sandbox, app_credentials, new_double, sandbox

DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared" / "github"
SEED_FILES = {
    "README.md": "# Enhancements\n",
    "keps/sig-node/1234-pod-stuff/kep.yaml": "title: Pod stuff\nstatus: provisional\n",
    "keps/sig-node/1234-pod-stuff/README.md": "# KEP-1234: Pod stuff\n\n## Summary\n",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    # tests/conftest.py may define --shared already; then that definition wins.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--shared",
            action="store",
            default=None,
            help="path of the shared/github reference folder (payload schemas, REST examples)",
        )


@pytest.fixture(scope="session")
def github_shared(request: pytest.FixtureRequest) -> Path:
    """The shared/github folder: --shared, else the `shared` folder beside the repository."""
    option = request.config.getoption("--shared", default=None)
    path = Path(option).resolve() if option else DEFAULT_SHARED
    if not path.is_dir():
        pytest.fail(
            f"shared GitHub reference data not found at {path}; pass --shared PATH "
            "(the folder holding rest-subset.md, rest-examples.json and payloads/)"
        )
    return path


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
