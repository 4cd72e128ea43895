"""`kepbot demo`: the real server against the GitHub double, playing a proposal's life.

Everything runs on loopback in one process: the double (seeded with a small KEP
repository), the bot's real webhook server and handlers, and a script that acts as the
people on GitHub (open a PR, push a fix) and sends the deliveries GitHub would send,
signed. The transcript says what the bot did at each step, read back from the double.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.app import create_app
from bot.routing import Bot
from bot.sandbox.double import GitHubDouble
from bot.sandbox.model import CheckRun
from bot.sandbox.payloads import Event, delivery_headers, encode, pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import AppCredentials, app_credentials, new_double, running
from bot.settings import Settings

SECRET = "demo-webhook-secret"
OWNER, NAME = "kubernetes-demo", "enhancements"
REPO = f"{OWNER}/{NAME}"
KEP_DIR = "keps/sig-node/NNNN-pod-restart-budget"

OWNERS_ALIASES = "aliases:\n  prod-readiness-approvers:\n    - wojtek-t\n"
EXISTING_KEP = """\
title: Sidecar containers
kep-number: 753
authors:
  - "@joseph-irving"
owning-sig: sig-node
status: implemented
creation-date: 2019-01-01
approvers:
  - "@dchen1107"
stage: stable
latest-milestone: "v1.33"
"""
README = """\
# KEP-{number}: {title}

## Summary
{summary}

## Motivation
Why this matters.
"""

NEW_KEP = """\
title: Pod restart budget
kep-number: NNNN
authors:
  - "@alice"
owning-sig: sig-node
status: provisonal
creation-date: 2026-11-31
reviewers:
  - "@bob"
approvers:
  - "@carol"
stage: alpha
see-also:
  - "/keps/sig-node/753-sidecar-containers"
"""


def sample_repository() -> dict[str, str]:
    """A small kubernetes/enhancements: one implemented KEP and the files its rules read."""
    return {
        "README.md": "# Enhancements (demo)\n",
        "OWNERS_ALIASES": OWNERS_ALIASES,
        "keps/sig-node/753-sidecar-containers/kep.yaml": EXISTING_KEP,
        "keps/sig-node/753-sidecar-containers/README.md": README.format(
            number=753, title="Sidecar containers", summary="Sidecars."
        ),
    }


@dataclass
class Demo:
    """The double, the running bot and a way to deliver events to it."""

    double: GitHubDouble
    bot_url: str
    session: aiohttp.ClientSession
    say: Callable[[str], None]

    async def deliver(self, event: Event) -> int:
        name, payload = event
        body = encode(payload)
        headers = delivery_headers(self.double, name, body, SECRET)
        async with self.session.post(f"{self.bot_url}/webhook", data=body, headers=headers) as r:
            return r.status

    async def check_run(self, sha: str, timeout: float = 15.0) -> CheckRun:
        """Wait until the bot has published its check run on `sha`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.double.check_runs(REPO, sha)
            if runs:
                return runs[-1]
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no check run on {sha[:7]} after {timeout:.0f} s")

    def show_check(self, run: CheckRun) -> None:
        self.say(f"   bot: check run '{run.name}' → {run.conclusion}: {run.output.get('title')}")
        for note in run.annotations:
            level, path, line = note["annotation_level"], note["path"], note["start_line"]
            self.say(f"        {level:8} {path}:{line}  {note['message']}")


def seed(credentials: AppCredentials) -> GitHubDouble:
    double = new_double(credentials)
    double.add_org(OWNER)
    for login in ("alice", "bob", "carol"):
        double.add_user(login)
    double.add_repo(OWNER, NAME, sample_repository())
    double.add_installation(OWNER)
    return double


@asynccontextmanager
async def bot_server(settings: Settings) -> AsyncIterator[str]:
    bot = Bot(settings)
    app = create_app(settings, bot.dispatch, contexts=[bot.lifecycle])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def play(say: Callable[[str], None] = print) -> int:
    credentials = app_credentials()
    double = seed(credentials)
    async with running(double) as api_url:
        settings = Settings(
            github_webhook_secret=SECRET,
            github_app_id=credentials.app_id,
            github_private_key=credentials.private_key,
            github_token=None,
            github_api_url=api_url,
        )
        async with bot_server(settings) as bot_url, aiohttp.ClientSession() as session:
            demo = Demo(double, bot_url, session, say)
            await script(demo)
    return 0


async def script(demo: Demo) -> None:
    double, say = demo.double, demo.say
    say(f"GitHub double serving {REPO} with KEP-753 (implemented); kepbot installed.")
    say("")
    say("1. alice opens a pull request adding a new KEP (with two mistakes)")
    readme = README.format(number="NNNN", title="Pod restart budget", summary="Budgets.")
    files: dict[str, str | None] = {f"{KEP_DIR}/kep.yaml": NEW_KEP, f"{KEP_DIR}/README.md": readme}
    number = double.open_pull_request(
        REPO, "restart-budget", files, "KEP: pod restart budget", "/kep accept", author="alice"
    )
    first = double.branch_sha(REPO, "restart-budget") or ""
    status = await demo.deliver(pull_request_event(double, REPO, number, "opened"))
    say(f"   delivery pull_request.opened #{number} → {status}")
    demo.show_check(await demo.check_run(first))
    say("")
    say("2. alice pushes a fix for both")
    fixed = NEW_KEP.replace("provisonal", "provisional").replace("2026-11-31", "2026-11-21")
    double.push(REPO, "restart-budget", {f"{KEP_DIR}/kep.yaml": fixed}, "Fix the KEP", "alice")
    second = double.branch_sha(REPO, "restart-budget") or ""
    event = pull_request_event(double, REPO, number, "synchronize", before=first)
    say(f"   delivery pull_request.synchronize #{number} → {await demo.deliver(event)}")
    demo.show_check(await demo.check_run(second))
    say("")
    bot_requests = [r for r in double.requests if r.identity.startswith(("installation", "app"))]
    say(f"The bot made {len(bot_requests)} REST requests to the double:")
    for route, count in _by_route(bot_requests).items():
        say(f"   {count:3}  {route}")


def _by_route(requests: list[RecordedRequest]) -> dict[str, int]:
    """Requests grouped by method and path shape (numbers and SHAs folded)."""
    counts: dict[str, int] = {}
    for request in requests:
        shape = re.sub(r"/[0-9a-f]{40}|/\d+", "/…", request.path)
        key = f"{request.method} {shape}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main() -> int:
    return asyncio.run(play())
