"""Fixtures for bot.github: the double on loopback (bot.sandbox.testing), a manual clock shared
by the double and the bot, a recording fake sleep, and a GitHubClient pointed at the double."""

from __future__ import annotations

import pytest

from bot.github.auth import AppAuth
from bot.github.client import GitHubClient, KepbotAPI
from bot.github.retry import RetryPolicy
from bot.sandbox import GitHubDouble
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import (
    SEED_FILES,
    SEED_KEP,
    AppCredentials,
    ManualClock,
    Sandbox,
    new_double,
)

__all__ = ["KEP", "SEED_FILES", "FakeSleep", "requests"]

KEP = SEED_KEP


class FakeSleep:
    """Records every wait and moves the shared clock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


def requests(
    double: GitHubDouble, method: str, path_part: str, since: int = 0
) -> list[RecordedRequest]:
    """The double's logged requests with this method whose path contains `path_part`."""
    return [r for r in double.requests[since:] if r.method == method and path_part in r.path]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_780_000_000.0)


@pytest.fixture
def double(credentials: AppCredentials, clock: ManualClock) -> GitHubDouble:
    return new_double(credentials, clock=clock)


@pytest.fixture
def sleeps(clock: ManualClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def auth(credentials: AppCredentials, clock: ManualClock) -> AppAuth:
    return AppAuth(credentials.app_id, credentials.private_key, clock=clock)


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(jitter=lambda: 1.0)


@pytest.fixture
def client(
    sandbox: Sandbox, auth: AppAuth, sleeps: FakeSleep, clock: ManualClock, policy: RetryPolicy
) -> GitHubClient:
    return GitHubClient(
        sandbox.session, auth, api_url=sandbox.base_url, sleep=sleeps, clock=clock, policy=policy
    )


@pytest.fixture
async def gh(client: GitHubClient, installation: int) -> KepbotAPI:
    return await client.for_installation(installation)
