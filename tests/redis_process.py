"""A real `redis-server` for the hosted-mode tests: on a free loopback port, in a temporary
directory, with its append-only file written on every command (`appendfsync always`), so
that a server killed and started again has every write it acknowledged."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from pathlib import Path

READY_TIMEOUT = 30.0
INSTALL_HINT = (
    "the hosted-mode tests need Debian's redis-server: `apt-get install redis-server` "
    "(or set KEPBOT_REDIS_SERVER to a redis-server executable)"
)


def find_redis_server() -> str | None:
    found = os.environ.get("KEPBOT_REDIS_SERVER") or shutil.which("redis-server")
    return found if found and os.access(found, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process; `start` again after `kill` reuses its port and its files."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--logfile", "",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        await asyncio.wait_for(self._ready(), READY_TIMEOUT)

    async def _ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            if "Ready to accept connections" in line:
                asyncio.get_running_loop().create_task(self._drain(self.proc.stdout))
                return
        raise AssertionError("redis-server ended before it was ready:\n" + "\n".join(self.output))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.output.append(raw.decode(errors="replace").rstrip())

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no last save; what survives is what the AOF holds."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
