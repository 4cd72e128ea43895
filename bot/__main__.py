"""``python -m bot``: read the settings, configure logging, serve the app until SIGTERM.

Nothing happens at import time; ``main()`` does the work. A configuration error is one line on
stderr and exit status 2. SIGTERM (or Ctrl-C) stops accepting, drains the worker pool within
``KEPBOT_DRAIN_SECONDS`` and exits 0.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from aiohttp import web

from bot.app import create_app
from bot.logs import configure_logging
from bot.routing import Bot
from bot.settings import Settings, SettingsError
from bot.worker import Dispatch

__all__ = ["main"]

logger = logging.getLogger("bot.main")

# How long in-flight HTTP requests get on shutdown; the webhook answers in milliseconds.
HTTP_SHUTDOWN_TIMEOUT_SECONDS = 5.0


def _announce(host: str, port: int) -> Callable[..., None]:
    def announce(*_: object, **__: object) -> None:
        logger.info("listening on http://%s:%d", host, port, extra={"port": port})

    return announce


def main(*, dispatch: Dispatch | None = None) -> int:
    """Run the server; returns the process exit status."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"kepbot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if dispatch is None:
        bot = Bot(settings)
        app = create_app(settings, bot.dispatch, contexts=[bot.lifecycle])
        bot.install_routes(app)
    else:
        app = create_app(settings, dispatch)
    host = "0.0.0.0"
    try:
        web.run_app(
            app,
            host=host,
            port=settings.port,
            shutdown_timeout=HTTP_SHUTDOWN_TIMEOUT_SECONDS,
            print=_announce(host, settings.port),
            access_log=None,  # the webhook logs each delivery with its id; this halves the cost
        )
    except OSError as exc:
        logger.error("cannot serve on %s:%d: %s", host, settings.port, exc)
        return 1
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
