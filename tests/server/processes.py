"""Running `python -m bot` as a child process for tests: environment, port, stderr JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import Event, delivery_headers, encode

from .helpers import SECRET

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def child_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("GITHUB_", "KEPBOT_")) and name.upper() != "PORT"
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """A running server process whose stderr JSON lines can be awaited."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            text = raw.decode(errors="replace").rstrip("\n")
            self.raw.append(text)
            try:
                self.lines.append(json.loads(text))
            except ValueError:
                self.lines.append({"message": text, "raw": True})
            self._changed.set()
        self._changed.set()

    def index(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        return next(i for i, line in enumerate(self.lines) if predicate(line))

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                self._changed.clear()
                for line in self.lines:
                    if predicate(line):
                        return line
                if self._reader.done():
                    raise AssertionError("process ended; stderr:\n" + "\n".join(self.raw))
                await self._changed.wait()

        return await asyncio.wait_for(scan(), START_TIMEOUT)

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), START_TIMEOUT)
        await self._reader
        return code


async def start_process(
    args: list[str], *, credentials: dict[str, str] | None = None, **env: str
) -> Process:
    port = free_port()
    credentials = {**(credentials or {"GITHUB_TOKEN": "t"}), **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=child_env(PORT=str(port), GITHUB_WEBHOOK_SECRET=SECRET, **credentials),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    process = Process(proc, port)
    await process.wait_for(lambda line: str(line.get("message", "")).startswith("listening"))
    return process


async def deliver_event(process: Process, double: GitHubDouble, event: Event) -> int:
    """Send an event built from the double's state, signed as GitHub does; the status."""
    name, payload = event
    body = encode(payload)
    headers = delivery_headers(double, name, body, SECRET)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{process.url}/webhook", data=body, headers=headers) as response,
    ):
        return response.status
