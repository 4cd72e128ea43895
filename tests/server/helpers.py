"""Helpers for the server tests: signing, small payloads, a recording dispatch, a live server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import POOL, create_app
from bot.metrics import Metrics
from bot.settings import Settings
from bot.worker import WorkerPool

SECRET = "It's a Secret to Everybody"
REPO = "octo-org/enhancements"
INSTALLATION = 4242
WAIT = 5.0  # upper bound for anything awaited in a test


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "github_webhook_secret": SECRET,
        "github_token": "ghp_test_token",
        "kepbot_workers": 4,
        "kepbot_queue_size": 100,
        "kepbot_drain_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def _repository(repo: str) -> dict[str, Any]:
    owner, name = repo.split("/")
    return {
        "id": 1296269,
        "name": name,
        "full_name": repo,
        "private": False,
        "owner": {"login": owner, "id": 1, "type": "Organization"},
        "default_branch": "main",
    }


def pull_request_payload(
    number: int = 1, *, action: str = "opened", repo: str = REPO
) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "title": f"KEP: proposal {number}",
            "user": {"login": "author", "id": 7, "type": "User"},
            "head": {"ref": f"kep-{number}", "sha": "a" * 40},
            "base": {"ref": "main", "sha": "b" * 40},
            "merged": False,
        },
        "repository": _repository(repo),
        "installation": {"id": INSTALLATION},
        "sender": {"login": "author", "id": 7, "type": "User"},
    }


def issue_comment_payload(number: int = 1, body: str = "/kep accept") -> dict[str, Any]:
    return {
        "action": "created",
        "issue": {
            "number": number,
            "title": f"KEP: proposal {number}",
            "pull_request": {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"},
        },
        "comment": {"id": 99, "body": body, "user": {"login": "approver", "id": 8}},
        "repository": _repository(REPO),
        "installation": {"id": INSTALLATION},
        "sender": {"login": "approver", "id": 8, "type": "User"},
    }


def push_payload() -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": "b" * 40,
        "after": "c" * 40,
        "commits": [],
        "repository": _repository(REPO),
        "installation": {"id": INSTALLATION},
        "sender": {"login": "author", "id": 7, "type": "User"},
    }


def ping_payload() -> dict[str, Any]:
    return {
        "zen": "Design for failure.",
        "hook_id": 30,
        "hook": {"type": "App", "id": 30, "events": ["pull_request"]},
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Recorder:
    """The injected dispatch: records each event; may hold one on a gate or make it fail."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.log: list[tuple[str, str]] = []  # ("start" | "end" | "cancelled", delivery)
        self.gates: dict[str, asyncio.Event] = {}
        self.failing: set[str] = set()
        self._marks: dict[tuple[str, str], asyncio.Event] = {}

    def gate(self, delivery: str) -> asyncio.Event:
        """Hold ``delivery`` in its handler until the returned event is set."""
        return self.gates.setdefault(delivery, asyncio.Event())

    def _mark(self, what: str, delivery: str) -> asyncio.Event:
        return self._marks.setdefault((what, delivery), asyncio.Event())

    async def wait(self, what: str, delivery: str) -> None:
        await asyncio.wait_for(self._mark(what, delivery).wait(), WAIT)

    def seen(self, what: str) -> list[str]:
        return [delivery for kind, delivery in self.log if kind == what]

    async def __call__(self, event: Any) -> None:
        delivery = event.delivery_id
        self.events.append(event)
        self.log.append(("start", delivery))
        self._mark("start", delivery).set()
        try:
            gate = self.gates.get(delivery)
            if gate is not None:
                await gate.wait()
        except asyncio.CancelledError:
            self.log.append(("cancelled", delivery))
            raise
        if delivery in self.failing:
            raise RuntimeError(f"handler for {delivery} failed")
        self.log.append(("end", delivery))
        self._mark("end", delivery).set()


@dataclass
class Server:
    """A live app on 127.0.0.1 with a client session."""

    url: str
    app: web.Application
    runner: web.AppRunner
    session: aiohttp.ClientSession
    recorder: Recorder
    metrics: Metrics
    stopped: bool = field(default=False)

    @property
    def pool(self) -> WorkerPool:
        return self.app[POOL]

    async def post(
        self,
        body: bytes | AsyncIterable[bytes],
        headers: dict[str, str],
    ) -> Reply:
        async with self.session.post(f"{self.url}/webhook", data=body, headers=headers) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.text())

    async def deliver(
        self,
        payload: dict[str, Any],
        *,
        event: str = "pull_request",
        delivery: str | None = None,
        hook_id: str = "30",
    ) -> Reply:
        body = json.dumps(payload).encode()
        return await self.post(
            body, delivery_headers(body, event=event, delivery=delivery, hook_id=hook_id)
        )

    async def get(self, path: str) -> Reply:
        async with self.session.get(f"{self.url}{path}") as resp:
            return Reply(resp.status, dict(resp.headers), await resp.text())

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.session.close()
        await self.runner.cleanup()


def delivery_headers(
    body: bytes,
    *,
    event: str = "pull_request",
    delivery: str | None = None,
    hook_id: str = "30",
    signature: str | None = None,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": hook_id,
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-Hub-Signature-256": signature if signature is not None else sign(body),
    }


async def start_server(
    settings: Settings | None = None, recorder: Recorder | None = None
) -> Server:
    recorder = recorder if recorder is not None else Recorder()
    metrics = Metrics()
    app = create_app(settings or make_settings(), recorder, metrics=metrics)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = aiohttp.ClientSession()
    return Server(f"http://127.0.0.1:{port}", app, runner, session, recorder, metrics)


class LogWatcher(logging.Handler):
    """Collects formatted JSON log lines and lets a test await a line it expects."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, Any]] = []
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Event]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = json.loads(self.format(record))
        self.lines.append(line)
        for predicate, event in self._waiters:
            if predicate(line):
                event.set()

    def matching(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [line for line in self.lines if predicate(line)]

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        event = asyncio.Event()
        self._waiters.append((predicate, event))
        try:
            if not self.matching(predicate):
                await asyncio.wait_for(event.wait(), WAIT)
        finally:
            self._waiters.remove((predicate, event))
        return self.matching(predicate)[0]
