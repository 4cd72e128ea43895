"""Headless Chromium driven through its DevTools protocol, for what a dump of the DOM cannot
show: the layout at a width, the colour scheme, the styles the page was allowed to apply.

One browser per `session`; `look` opens a page with a viewport and a colour scheme, waits
for its load event (an event, not a sleep), and evaluates an expression in it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


class Browser:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    async def call(self, method: str, session: str | None = None, **params: Any) -> Any:
        ident = next(self.ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self.socket.send_json(message)
        while True:
            answer = await self.socket.receive_json()
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    async def until_event(self, name: str) -> None:
        while True:
            message = await self.socket.receive_json()
            if message.get("method") == name:
                return

    async def look(
        self, url: str, expression: str, *, width: int, height: int = 900, dark: bool = False
    ) -> Any:
        """The value of `expression` in `url`, loaded at `width` x `height` CSS pixels."""
        target = (await self.call("Target.createTarget", url="about:blank"))["targetId"]
        attached = await self.call("Target.attachToTarget", targetId=target, flatten=True)
        session = attached["sessionId"]
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        scheme = "dark" if dark else "light"
        features = [{"name": "prefers-color-scheme", "value": scheme}]
        await self.call("Emulation.setEmulatedMedia", session, features=features)
        await self.call("Page.enable", session)
        await self.call("Page.navigate", session, url=url)
        await asyncio.wait_for(self.until_event("Page.loadEventFired"), timeout=60)
        result = await self.call(
            "Runtime.evaluate", session, expression=expression, returnByValue=True
        )
        await self.call("Target.closeTarget", targetId=target)
        return result["result"].get("value")


@asynccontextmanager
async def session(chromium: str) -> AsyncIterator[Browser]:
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stderr is not None
            address = None
            while address is None:
                line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
                if not line:
                    raise RuntimeError("chromium ended before it listened")
                found = _LISTENING.search(line)
                address = found.group(1).decode() if found else None
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(address, max_msg_size=0) as socket,
            ):
                yield Browser(socket)
        finally:
            process.kill()
            await process.wait()


LAYOUT = """JSON.stringify((() => {
  const style = (selector) => {
    const found = document.querySelector(selector);
    return found ? getComputedStyle(found) : null;
  };
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    thead: style("table.proposals thead").display,
    sticky: style("table.proposals thead th").position,
    background: getComputedStyle(document.body).backgroundColor,
    statusLabel: style(".label.status").backgroundColor,
    areaLabel: style(".label.area").backgroundColor,
    rules: Array.from(document.styleSheets).map((sheet) => sheet.cssRules.length),
  };
})())"""


def layout(value: Any) -> dict[str, Any]:
    return dict(json.loads(value))
