"""Helpers for the benchmarks that run `python -m bot` as a separate process.

The GitHub double is served from the benchmark's own process on loopback; each bot process
is the real server (`python -m bot`, configured through the environment as in production)
pointed at it. Not a benchmark itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass

import aiohttp

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import Event, delivery_headers, encode
from bot.sandbox.testing import AppCredentials

SECRET = "benchmark-webhook-secret"
# the demo's new KEP, valid (its typo and date mended): a pull request that checks green
KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    child: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.child.pid

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) in MB, from /proc/<pid>/status."""
        fields: dict[str, float] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0]) / 1024
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> int:
        self.child.send_signal(signal.SIGTERM)
        return self.child.wait(timeout=60)


def start_bot(api_url: str, credentials: AppCredentials, *args: str, **env: str) -> BotProcess:
    """`python -m bot` with `args` (e.g. `worker`), configured through the environment."""
    port = free_port()
    environment = {
        **os.environ,
        "PORT": str(port),
        "GITHUB_API_URL": api_url,
        "GITHUB_APP_ID": str(credentials.app_id),
        "GITHUB_PRIVATE_KEY": credentials.private_key,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        **env,
    }
    environment.pop("GITHUB_TOKEN", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return BotProcess(child, f"http://127.0.0.1:{port}")


async def health(session: aiohttp.ClientSession, bot: BotProcess) -> dict[str, object] | None:
    try:
        async with session.get(f"{bot.url}/healthz") as reply:
            return dict(await reply.json()) if reply.status == 200 else None
    except aiohttp.ClientError:
        return None


async def ready(session: aiohttp.ClientSession, bot: BotProcess, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if await health(session, bot) is not None:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"the bot at {bot.url} did not start")


async def idle(
    session: aiohttp.ClientSession, bots: list[BotProcess], timeout: float = 300
) -> None:
    """Wait until every bot has had no queued or running work for two polls in a row."""
    quiet = 0
    for _ in range(int(timeout / 0.1)):
        states = [await health(session, bot) for bot in bots]
        busy = any(not s or s["queue_depth"] or s["in_flight"] for s in states)
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the bots did not become idle")


async def deliver(
    session: aiohttp.ClientSession, bot: BotProcess, double: GitHubDouble, event: Event
) -> tuple[int, int]:
    """POST `event` signed, as GitHub would; retry on 503 (queue full) like a redelivery.

    Returns (final status, 503s seen)."""
    name, payload = event
    body = encode(payload)
    headers = delivery_headers(double, name, body, SECRET, delivery_id=str(uuid.uuid4()))
    refused = 0
    while True:
        async with session.post(f"{bot.url}/webhook", data=body, headers=headers) as reply:
            if reply.status != 503:
                return reply.status, refused
        refused += 1
        await asyncio.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_for_cpu_ms(pid: int) -> float:
    """Milliseconds the process has spent runnable and not running (/proc/<pid>/schedstat):
    how long it waited for a core."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e6


def open_pull(double: GitHubDouble, index: int) -> int:
    """A KEP pull request of its own (folder and branch numbered `index`); its number."""
    folder = demo.KEP_DIR.replace("pod-restart-budget", f"budget-{index}")
    files: dict[str, str | None] = {
        f"{folder}/kep.yaml": KEP,
        f"{folder}/README.md": demo.NEW_README,
    }
    return double.open_pull_request(demo.REPO, f"kep-{index}", files, "KEP", author="alice")
