"""The bot's real server against the double, seeded with the demo's KEP repository."""

from collections.abc import AsyncIterator

import pytest

from bot import demo
from bot.sandbox.harness import Harness, harness
from bot.sandbox.testing import app_credentials


@pytest.fixture
async def box() -> AsyncIterator[Harness]:
    credentials = app_credentials()
    async with harness(demo.seed(credentials), credentials) as running_box:
        yield running_box
