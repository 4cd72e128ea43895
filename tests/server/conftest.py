"""Fixtures shared by the server tests."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from bot.logs import ContextFilter, JsonFormatter
from bot.settings import Settings

from .helpers import LogWatcher, Recorder, Server, make_settings, start_server
from .processes import Process

StartServer = Callable[..., Awaitable[Server]]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built in a test see only what the test gives them."""
    for name in list(os.environ):
        if name.upper().startswith(("GITHUB_", "KEPBOT_")) or name.upper() == "PORT":
            monkeypatch.delenv(name)


@pytest.fixture
async def make_server() -> AsyncIterator[StartServer]:
    servers: list[Server] = []

    async def make(
        settings: Settings | None = None, recorder: Recorder | None = None, **overrides: Any
    ) -> Server:
        if settings is None:
            settings = make_settings(**overrides)
        server = await start_server(settings, recorder)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(make_server: StartServer) -> Server:
    return await make_server()


@pytest.fixture
def logs() -> Iterator[LogWatcher]:
    watcher = LogWatcher()
    watcher.setFormatter(JsonFormatter())
    watcher.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(watcher)
    root.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        root.removeHandler(watcher)
        root.setLevel(level)


@pytest.fixture
async def processes() -> AsyncIterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        if process.proc.returncode is None:
            process.proc.kill()
            await process.proc.wait()
        await process._reader
