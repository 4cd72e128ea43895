"""Shared pieces of the proof tests: a seeded double with knobs, virtual time, a health watch.

Everything runs the real server (`bot.sandbox.harness`) against the loopback double; the
helpers here only seed GitHub state, send the deliveries GitHub would send, and read back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot import demo
from bot.app import create_app
from bot.github.retry import RetryPolicy
from bot.metrics import Metrics
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness
from bot.sandbox.model import Comment
from bot.sandbox.payloads import issue_comment_event, sign
from bot.sandbox.testing import AppCredentials, ManualClock, new_double
from bot.settings import Settings

OWNER, REPO, BRANCH = demo.OWNER, demo.REPO, "kep"
KEP_DIR = demo.KEP_DIR
KEP = f"{KEP_DIR}/kep.yaml"
README_PATH = f"{KEP_DIR}/README.md"
BOT = "kepbot[bot]"
README = demo.NEW_README
GOOD_KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")
WAIT = 30.0  # generous bound for anything awaited: the machine is shared and noisy


def seed(credentials: AppCredentials, **double_options: Any) -> GitHubDouble:
    """`demo.seed`'s repository (carol and dave approve sig-node; bob can write), with knobs
    for the double such as `clock` and `token_lifetime`."""
    double = new_double(credentials, **double_options)
    double.add_org(OWNER)
    for login in ("alice", "bob", "carol", "dave"):
        double.add_user(login)
    double.add_repo(OWNER, demo.NAME, demo.sample_repository())
    double.add_team_member(OWNER, "sig-node-leads", "carol")
    double.add_team_member(OWNER, "sig-node-leads", "dave")
    double.set_permission(REPO, "bob", "write")
    double.add_installation(OWNER)
    return double


def open_pr(
    double: GitHubDouble,
    files: dict[str, str | None] | None = None,
    *,
    branch: str = BRANCH,
    author: str = "alice",
    body: str = "",
) -> int:
    chosen = (
        files
        if files is not None
        else {
            KEP: GOOD_KEP,
            README_PATH: README,
            demo.NEW_REVIEW_PATH: demo.NEW_REVIEW,
        }
    )
    return double.open_pull_request(REPO, branch, chosen, "KEP", body, author=author)


async def comment(box: Harness, number: int, body: str, user: str, *, wait: bool = True) -> int:
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    if wait:
        await box.idle(WAIT)
    return made.id


def text_at(double: GitHubDouble, path: str = KEP, branch: str = BRANCH) -> str:
    return (double.file_at(REPO, branch, path) or b"").decode()


def bot_commits(double: GitHubDouble, marker: str, branch: str = BRANCH) -> list[str]:
    """Messages of the commits on `branch` made by the bot whose message holds `marker`."""
    return [
        c.message
        for _, c in double.commits(REPO, branch)
        if marker in c.message and c.author.name == BOT
    ]


def bot_comments(double: GitHubDouble, number: int) -> list[Comment]:
    return [c for c in double.comments(REPO, number) if c.user == BOT]


def reactions_by_bot(double: GitHubDouble, comment_id: int) -> list[str]:
    return sorted(r.content for r in double.reactions(REPO, comment_id=comment_id) if r.user == BOT)


def shape(path: str) -> str:
    """A request path with numbers and SHAs folded, e.g. `/repos/o/r/pulls/…`."""
    return re.sub(r"/[0-9a-f]{40}|/\d+(?=/|$)", "/…", path)


@dataclass
class VirtualTime:
    """The double's clock and the bot's sleeps in one: a wait the bot asks for moves the
    clock forward by that much and takes no real time, so rate-limit resets pass at once."""

    clock: ManualClock = field(default_factory=ManualClock)
    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0.001)


def quick_policy(**overrides: Any) -> RetryPolicy:
    """Retries as in production but with short per-attempt timeouts and no jitter."""
    values: dict[str, Any] = {"timeout": 5.0, "jitter": lambda: 0.0}
    values.update(overrides)
    return RetryPolicy(**values)


@dataclass
class HealthLog:
    samples: list[tuple[int, float, int]] = field(default_factory=list)  # status, seconds, busy

    def assert_healthy(self, *, while_busy: int = 1, slowest: float = 5.0) -> None:
        assert self.samples, "/healthz was never polled"
        assert {status for status, _, _ in self.samples} == {200}
        busy = [s for s in self.samples if s[2] > 0]
        assert len(busy) >= while_busy, f"only {len(busy)} answers while work was in flight"
        assert max(seconds for _, seconds, _ in self.samples) < slowest


@asynccontextmanager
async def health_watch(box: Harness, every: float = 0.02) -> AsyncIterator[HealthLog]:
    """Poll `/healthz` throughout the block, recording status, latency and in-flight work."""
    log = HealthLog()

    async def poll() -> None:
        while True:
            started = time.monotonic()
            async with box.session.get(f"{box.bot_url}/healthz") as reply:
                body = await reply.json()
            busy = int(body.get("in_flight", 0)) + int(body.get("queue_depth", 0))
            log.samples.append((reply.status, time.monotonic() - started, busy))
            await asyncio.sleep(every)

    task = asyncio.create_task(poll())
    try:
        yield log
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# -- reading the bot's comments as GitHub renders them ----------------------------------

_MARKER = re.compile(r"<!-- kepbot:[A-Za-z0-9._:/#-]+ -->")
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?")
_HTML = re.compile(r"<[A-Za-z!/?][^>]*>")
_SCRIPT_LINK = re.compile(r"(?<!\\)\]\(\s*(?:javascript|data|vbscript):", re.I)


def live_markup(body: str) -> list[str]:
    """What in a bot comment would render as a mention, raw HTML or a script link.

    The bot's own hidden marker, code blocks and code spans are taken out first (nothing in
    them is live); a mention neutralised with a zero-width joiner after `@` does not match.
    """
    text = _CODE_SPAN.sub("", _FENCE.sub("", _MARKER.sub("", body)))
    return _MENTION.findall(text) + _HTML.findall(text) + _SCRIPT_LINK.findall(text)


# -- the real webhook server with a dispatch that only records ---------------------------

SECRET = "proof-webhook-secret"


@dataclass
class Recording:
    url: str
    session: aiohttp.ClientSession
    events: list[Any]

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
        """POST to /webhook; the status, the answer's text and the seconds it took."""
        started = time.monotonic()
        async with self.session.post(f"{self.url}/webhook", data=body, headers=headers) as r:
            return r.status, await r.text(), time.monotonic() - started

    async def healthy(self) -> bool:
        async with self.session.get(f"{self.url}/healthz") as reply:
            return reply.status == 200 and (await reply.json())["status"] == "ok"

    async def idle(self, timeout: float = 15.0) -> None:
        """Wait until the server has no delivery queued or in flight (its /healthz says)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.session.get(f"{self.url}/healthz") as reply:
                body = await reply.json()
            if not body.get("in_flight") and not body.get("queue_depth"):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"still busy after {timeout:.0f} s")


def signed(body: bytes, event: str = "issue_comment", delivery: str = "") -> dict[str, str]:
    """The headers GitHub sends with `body`, signed with SECRET."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or f"proof-{time.monotonic_ns()}",
        "X-GitHub-Hook-ID": "7",
        "X-Hub-Signature-256": sign(SECRET, body),
    }


@asynccontextmanager
async def recording_server(**overrides: Any) -> AsyncIterator[Recording]:
    """`create_app` with real settings on loopback; the dispatch only records the events."""
    events: list[Any] = []

    async def dispatch(event: Any) -> None:
        events.append(event)

    settings = Settings(github_webhook_secret=SECRET, github_token="ghp_proof", **overrides)
    runner = web.AppRunner(create_app(settings, dispatch, metrics=Metrics()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            yield Recording(f"http://127.0.0.1:{port}", session, events)
    finally:
        await runner.cleanup()
