"""Slow and numerous clients cannot hold the server: real sockets on loopback.

The app of `bot.app.create_app` served by `bot.serving.serve` (what `python -m bot` runs),
with short limits from the test's settings: a body must arrive within 0.5 s, a request
head within 1 s, and at most a few connections are open at once. Clients here trickle
bytes as an attacker would (the only sleeps are that pacing); every wait is for what the
client observes (an answer, the connection closing), bounded by `BOUND`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.metrics import Metrics
from bot.serving import ConnectionCap, serve

from .helpers import Recorder, delivery_headers, make_settings, pull_request_payload
from .processes import Process, start_process

BODY_TIMEOUT, HEADER_TIMEOUT = 0.5, 1.0
BOUND = 4.0  # seconds: the most any client here waits for the server to act
PACE = 0.05  # seconds between the bytes an attacker trickles


@dataclass
class Served:
    port: int
    recorder: Recorder
    cap: ConnectionCap

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@asynccontextmanager
async def served(**overrides: Any) -> AsyncIterator[Served]:
    values: dict[str, Any] = {
        "kepbot_body_timeout_seconds": BODY_TIMEOUT,
        "kepbot_header_timeout_seconds": HEADER_TIMEOUT,
        "kepbot_max_connections": 64,
        **overrides,
    }
    recorder = Recorder()
    app = create_app(make_settings(**values), recorder, metrics=Metrics())
    runner, site = await serve(app, "127.0.0.1", 0, shutdown_timeout=1.0)
    try:
        yield Served(site.port, recorder, site.cap)
    finally:
        await runner.cleanup()


def delivery_head(length: int) -> bytes:
    """The request line and headers of a signed delivery whose body is `length` bytes."""
    body = json.dumps(pull_request_payload()).encode()
    headers = delivery_headers(body)
    lines = ["POST /webhook HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send `data` a byte at a time, PACE apart, until sent or the server hangs up."""
    with contextlib.suppress(ConnectionError):
        for index in range(len(data)):
            if writer.is_closing():
                return
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(PACE)


async def until_closed(
    reader: asyncio.StreamReader, started: float | None = None
) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took
    (from `started`, a `time.monotonic()` reading: by default, now)."""
    started = time.monotonic() if started is None else started
    try:
        received = await asyncio.wait_for(reader.read(), BOUND)
    except ConnectionResetError:
        received = b""
    return received, time.monotonic() - started


async def test_bodies_that_trickle_are_answered_408_and_closed() -> None:
    """Twenty deliveries that send their head, then their body a byte every 50 ms: each is
    answered 408 and closed after the body timeout, and none is handed to the workers."""
    async with served() as server:
        head = delivery_head(10_000)

        async def slow_delivery() -> tuple[bytes, float]:
            reader, writer = await server.connect()
            writer.write(head)
            sender = asyncio.create_task(trickle(writer, b"x" * 10_000))
            try:
                return await until_closed(reader)
            finally:
                sender.cancel()
                writer.close()

        answers = await asyncio.gather(*(slow_delivery() for _ in range(20)))
        for received, seconds in answers:
            assert received.startswith(b"HTTP/1.1 408 "), received[:100]
            assert b'"error": "slow"' in received
            assert BODY_TIMEOUT <= seconds < BOUND
        assert server.recorder.events == []
        assert server.cap.open == 0, "closed connections stop counting"


async def test_heads_that_trickle_are_closed_at_the_header_timeout() -> None:
    async with served() as server:
        # Timed from before the connection: the server's clock starts when it accepts it.
        opened = time.monotonic()
        reader, writer = await server.connect()
        sender = asyncio.create_task(trickle(writer, delivery_head(10) * 10))
        try:
            received, seconds = await until_closed(reader, opened)
        finally:
            sender.cancel()
            writer.close()
        assert received == b""
        assert HEADER_TIMEOUT <= seconds < BOUND
        assert server.cap.open == 0


async def _keep_alive(server: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that made one request and stays open, idle (the server has admitted
    it: it answered)."""
    reader, writer = await server.connect()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), BOUND)
    assert status.startswith(b"HTTP/1.1 200 "), status
    await asyncio.wait_for(reader.readuntil(b"}"), BOUND)  # the JSON answer's end
    return reader, writer


async def test_connections_beyond_the_cap_are_refused_until_the_held_ones_close() -> None:
    async with served(kepbot_max_connections=4) as server:
        held = [await _keep_alive(server) for _ in range(4)]
        assert server.cap.open == 4
        reader, writer = await server.connect()
        refused, seconds = await until_closed(reader)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused
        assert b"Retry-After: " in refused and seconds < 1.0
        assert server.cap.refused == 1
        # The held connections send nothing more: the header timeout closes them...
        for held_reader, held_writer in held:
            assert (await until_closed(held_reader))[0] == b""
            held_writer.close()
        # ...and they no longer count: the server takes deliveries again.
        reader, writer = await server.connect()
        body = json.dumps(pull_request_payload()).encode()
        head = delivery_head(len(body))
        writer.write(head + body)
        answer, _ = await until_closed(reader)  # the 202 answer, then the idle timeout
        writer.close()
        assert answer.startswith(b"HTTP/1.1 202 "), answer[:100]
        assert len(server.recorder.events) == 1


async def test_python_m_bot_serves_with_the_limits(processes: list[Process]) -> None:
    """The server process itself: one connection allowed, a trickled body cut off."""
    process = await start_process(
        ["-m", "bot"],
        KEPBOT_MAX_CONNECTIONS="1",
        KEPBOT_BODY_TIMEOUT_SECONDS="0.5",
        KEPBOT_RECONCILE_SECONDS="0",
    )
    processes.append(process)
    port = int(process.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(delivery_head(10_000))
    sender = asyncio.create_task(trickle(writer, b"x" * 10_000))
    second_reader, second_writer = await asyncio.open_connection("127.0.0.1", port)
    refused, _ = await until_closed(second_reader)
    second_writer.close()
    assert refused.startswith(b"HTTP/1.1 503 "), refused
    try:
        received, seconds = await until_closed(reader)
    finally:
        sender.cancel()
        writer.close()
    assert received.startswith(b"HTTP/1.1 408 ") and seconds < BOUND
    assert await process.stop() == 0


LIMITS = {
    "KEPBOT_BODY_TIMEOUT_SECONDS": 10.0,
    "KEPBOT_HEADER_TIMEOUT_SECONDS": 15.0,
    "KEPBOT_MAX_CONNECTIONS": 256,
    "KEPBOT_PAGE_REQUESTS_PER_MINUTE": 30.0,
    "KEPBOT_PAGE_BURST": 10,
    "KEPBOT_TRUSTED_PROXIES": 0,
}


def test_the_limits_are_settings_with_their_defaults_in_the_readme() -> None:
    settings = make_settings()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, default in LIMITS.items():
        assert getattr(settings, name.lower()) == default
        assert f"`{name}`" in readme, f"{name} is not in the README's table"
