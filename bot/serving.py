"""Serving the app on a socket, so that slow or numerous clients cannot hold the server.

`serve(app, host, port)` starts the aiohttp runner and a site with three limits, all from
the app's settings:

- `KEPBOT_MAX_CONNECTIONS`: at most this many connections are open at once. One more is
  answered `503 Service Unavailable` (with `Retry-After`, so GitHub records a failed
  delivery it can redeliver) and closed before a byte of it is read. A connection counts
  from its opening to its closing, whatever it does meanwhile, so the limits below are what
  makes a held connection count for a bounded time only.
- `KEPBOT_HEADER_TIMEOUT_SECONDS`: a connection must send a complete request head (request
  line and headers) within this time of opening, or of the previous answer on it; aiohttp's
  keep-alive timer closes it otherwise, however slowly its bytes trickle in.
- `KEPBOT_BODY_TIMEOUT_SECONDS`: the webhook answers 408 when the body has not all arrived
  within this time (`bot.webhook`); the other routes read no body. After any answer, a
  body still arriving is read and dropped for at most this time again (aiohttp's
  "lingering", so that a client still sending gets the answer rather than a reset), then
  the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.app import SETTINGS

__all__ = ["REFUSAL", "ConnectionCap", "GuardedSite", "serve"]

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_REFUSED_TEXT = b"too many connections; try again later\n"
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: %d\r\n"
    b"Connection: close\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n"
    b"%s"
) % (RETRY_AFTER_SECONDS, len(_REFUSED_TEXT), _REFUSED_TEXT)
LOG_EVERY_SECONDS = 60.0  # refused connections are logged at most this often, counted


class ConnectionCap:
    """Counts open connections and refuses those beyond `limit`."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        self.limit = limit
        self.open = 0
        self.refused = 0
        self._clock = clock
        self._unlogged = 0
        self._logged_at: float | None = None

    def wrap(self, factory: Callable[[], asyncio.BaseProtocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for `loop.create_server` that puts each connection under the cap."""
        return lambda: _Counted(self, factory())

    def admit(self) -> bool:
        if self.open >= self.limit:
            self.refused += 1
            self._note_refusal()
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1

    def _note_refusal(self) -> None:
        self._unlogged += 1
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY_SECONDS:
            log.warning(
                "refused %d connection(s): %d are open, the limit (KEPBOT_MAX_CONNECTIONS)",
                self._unlogged,
                self.open,
                extra={"refused": self._unlogged, "open_connections": self.open},
            )
            self._unlogged, self._logged_at = 0, now


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, admitted under the cap or refused at once."""

    def __init__(self, cap: ConnectionCap, inner: asyncio.BaseProtocol) -> None:
        self._cap, self._inner = cap, inner
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._cap.admit():
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REFUSAL)
            transport.close()
            return
        self._admitted = True
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._admitted and isinstance(self._inner, asyncio.Protocol):
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._admitted and isinstance(self._inner, asyncio.Protocol):
            return self._inner.eof_received()
        return None

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self._cap.release()
            self._inner.connection_lost(exc)


class GuardedSite(web.TCPSite):
    """aiohttp's TCP site with every connection under a `ConnectionCap`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, cap: ConnectionCap) -> None:
        super().__init__(runner, host, port)
        self.cap = cap

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner, as TCPSite does
        server = self._runner.server
        assert server is not None, "the runner is set up before its sites start"
        self._server = await asyncio.get_running_loop().create_server(
            self.cap.wrap(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


async def serve(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 5.0
) -> tuple[web.AppRunner, GuardedSite]:
    """Start `app` on host:port with the limits of its settings; the caller cleans up the
    runner (which stops the site, closes connections and runs the app's cleanup)."""
    settings = app[SETTINGS]
    runner = web.AppRunner(
        app,
        access_log=None,  # the webhook logs each delivery with its id
        keepalive_timeout=settings.kepbot_header_timeout_seconds,
        lingering_time=settings.kepbot_body_timeout_seconds,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    site = GuardedSite(runner, host, port, ConnectionCap(settings.kepbot_max_connections))
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site
