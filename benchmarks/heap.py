"""Full garbage collections in a started web process, as it starts and after `settle()`.

Usage: python benchmarks/heap.py [--passes 20] [--deliveries 200]

Builds the web process's app as `python -m bot` does (`bot.__main__.build_app`, one-process
mode) in this process, with the GitHub double on loopback beside it, starts it and sends it
signed deliveries, then times full passes of the garbage collector (`gc.collect()`, what
Python runs by itself now and then while nothing else runs): first with the heap as
start-up left it, then after `bot.heap.settle()` (what `python -m bot` and `kepbot worker`
call once started) and as many deliveries again. Prints the objects the collector tracks and the
median and slowest pass each way, and checks that settling makes a full pass at least 10x
shorter (docs/design.md C2).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import statistics
import sys
import time

import aiohttp
from bot_processes import SECRET

from bot import demo
from bot.__main__ import build_app
from bot.heap import settle
from bot.sandbox.payloads import delivery_headers, encode, issue_comment_event
from bot.sandbox.testing import app_credentials, running
from bot.serving import serve
from bot.settings import Settings

TARGET = 10.0  # a full pass after settle() at least this many times shorter


def full_passes(count: int) -> list[float]:
    """Milliseconds of each of `count` full collections."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run(args: argparse.Namespace) -> bool:
    credentials = app_credentials()
    double = demo.seed(credentials)
    async with running(double) as api_url:
        os.environ.update(
            GITHUB_API_URL=api_url,
            GITHUB_APP_ID=str(credentials.app_id),
            GITHUB_PRIVATE_KEY=credentials.private_key,
            GITHUB_WEBHOOK_SECRET=SECRET,
            KEPBOT_LOG_LEVEL="WARNING",
        )
        app = build_app(Settings.from_env())
        runner, site = await serve(app, "127.0.0.1", 0, shutdown_timeout=1.0)
        try:
            url = f"http://127.0.0.1:{site.port}/webhook"
            number = double.open_pull_request(demo.REPO, "heap", {}, "Heap", author="alice")
            async with aiohttp.ClientSession() as session:

                async def served() -> None:
                    for _ in range(args.deliveries):
                        made = double.add_comment(demo.REPO, number, "Looks good.", "carol")
                        name, payload = issue_comment_event(double, demo.REPO, made.id, "created")
                        body = encode(payload)
                        headers = delivery_headers(double, name, body, SECRET)
                        async with session.post(url, data=body, headers=headers) as reply:
                            assert reply.status == 202, reply.status
                    await asyncio.sleep(0.5)  # the deliveries handled

                await served()
                tracked = len(gc.get_objects())
                before = full_passes(args.passes)
                frozen = settle()
                await served()  # what a settled process makes serving is walked again
                left = len(gc.get_objects())
                after = full_passes(args.passes)
        finally:
            gc.unfreeze()
            await runner.cleanup()
    ratio = statistics.median(before) / statistics.median(after)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"as started:  {tracked:8d} objects tracked; a full pass {statistics.median(before):6.2f}"
        f" ms (slowest {max(before):.2f})"
    )
    print(
        f"settled:     {left:8d} objects tracked ({frozen} frozen); a full pass "
        f"{statistics.median(after):6.2f} ms (slowest {max(after):.2f})"
    )
    met = ratio >= TARGET
    print(f"a full pass {ratio:.1f}x shorter; target >= {TARGET:g}x: {'met' if met else 'NOT met'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--deliveries", type=int, default=200)
    return 0 if asyncio.run(run(parser.parse_args())) else 1


if __name__ == "__main__":
    sys.exit(main())
