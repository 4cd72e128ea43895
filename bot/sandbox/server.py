"""Serving the double on loopback: `serve` starts it and reports the API base URL."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.double import GitHubDouble
from bot.sandbox.views import Urls


async def serve(
    double: GitHubDouble, host: str = "127.0.0.1", port: int = 0, *, base_path: str = ""
) -> tuple[web.AppRunner, str]:
    """Run the double; return the runner (call `runner.cleanup()`) and the API base URL.

    The base URL includes `base_path` (e.g. "/api/v3" for GitHub Enterprise Server paths);
    it is also recorded on the double so that webhook payloads point at it.
    """
    runner = web.AppRunner(double.app(base_path), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    web_root = f"http://{host}:{bound_port}"
    double.urls = Urls(api=web_root + base_path.rstrip("/"), web=web_root)
    return runner, double.urls.api
