"""``python -m bot``: read the settings, configure logging, serve the app until SIGTERM.

``python -m bot worker`` is a worker process of hosted mode instead (``bot.hosted.worker``).
With ``KEPBOT_REDIS_URL`` set, the server is a web process of hosted mode: it queues each
delivery in Redis for the workers, and leaves the reconcile pass to them.

Nothing happens at import time; ``main()`` does the work. A configuration error is one line on
stderr and exit status 2. SIGTERM (or Ctrl-C) stops accepting, drains the worker pool within
``KEPBOT_DRAIN_SECONDS`` and exits 0. The server runs with the limits of ``bot.serving``
(connections, header and body timeouts).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from bot.app import create_app
from bot.heap import settle
from bot.hosted import missing_extra
from bot.logs import configure_logging
from bot.metrics import default_metrics
from bot.routing import Bot
from bot.serving import serve
from bot.settings import Settings, SettingsError
from bot.worker import Dispatch

__all__ = ["build_app", "main"]

logger = logging.getLogger("bot.main")

# How long in-flight HTTP requests get on shutdown; the webhook answers in milliseconds.
HTTP_SHUTDOWN_TIMEOUT_SECONDS = 5.0


async def _serve(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting, drain and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner, site = await serve(app, host, port, shutdown_timeout=HTTP_SHUTDOWN_TIMEOUT_SECONDS)
    try:
        settle()  # started: what start-up built stays out of the collector's full passes
        logger.info("listening on http://%s:%d", host, site.port, extra={"port": site.port})
        await stop.wait()
    finally:
        await runner.cleanup()


def build_app(settings: Settings, dispatch: Dispatch | None = None) -> web.Application:
    """The web process's app: one process, or the web side of hosted mode."""
    if settings.hosted:
        from bot.hosted.web import HostedWeb

        hosted = HostedWeb(settings, default_metrics())
        # The pipeline page still reads GitHub here, as the fleet does (its token, caches
        # and rate-limit waits: Redis opens first); the workers reconcile.
        bot = Bot(
            settings.model_copy(update={"kepbot_reconcile_seconds": 0.0}),
            client_options=hosted.client_options,
        )
        app = create_app(
            settings,
            dispatch or bot.dispatch,
            contexts=[hosted.lifecycle, bot.lifecycle],
            accept=hosted.accept,
            queue_stats=hosted.stats,
        )
        bot.install_routes(app)
    elif dispatch is None:
        bot = Bot(settings)
        app = create_app(settings, bot.dispatch, contexts=[bot.lifecycle])
        bot.install_routes(app)
    else:
        app = create_app(settings, dispatch)
    return app


def main(*, dispatch: Dispatch | None = None) -> int:
    """Run the server; returns the process exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"kepbot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if settings.hosted and (problem := missing_extra()) is not None:
        print(f"kepbot: {problem}", file=sys.stderr)
        return 2
    app = build_app(settings, dispatch)
    host = "0.0.0.0"
    try:
        asyncio.run(_serve(app, host, settings.port))
    except OSError as exc:
        logger.error("cannot serve on %s:%d: %s", host, settings.port, exc)
        return 1
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        if (problem := missing_extra()) is not None:
            sys.exit(f"kepbot worker: {problem}")
        from bot.hosted.worker import main as worker_main

        sys.exit(worker_main())
    sys.exit(main())
