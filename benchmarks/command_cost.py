"""What one `/kep approve` costs: end-to-end time, REST requests, sequential round trips.

Usage: python benchmarks/command_cost.py [--commands 8] [--rtt-ms 20]

The real server and Bot run against the GitHub double on loopback (`bot.sandbox.harness`).
Each measured command is a `/kep approve` by an approver on a KEP pull request whose check
has already run, after a first command warmed the configuration and permission caches. The
double's request log gives the requests of each command (from the delivery until the bot is
idle: claim, edit, check refresh, labels, status comment, outcome reaction) and their
critical path: the longest chain of requests each starting after the previous one ended.

Two passes: loopback as is (the end-to-end time), then with `--rtt-ms` added to every
answer of the double, so that requests the bot sends concurrently overlap visibly and the
critical path counts round trips as they would cost against api.github.com.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
from collections import Counter

from bot import demo
from bot.sandbox.cost import approve, critical_path, open_checked_pr
from bot.sandbox.harness import harness
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import app_credentials

TARGET_ROUND_TRIPS = 6
TARGET_REQUESTS = 10


def shape(request: RecordedRequest) -> str:
    path = re.sub(r"/[0-9a-f]{40}|/\d+(?=/|$)", "/…", request.path)
    path = re.sub(r"/contents/.*", "/contents/{path}", path)
    path = re.sub(r"/labels/[^/]+$", "/labels/{name}", path)
    return f"{request.method} {path}"


async def measure(commands: int, rtt: float) -> tuple[list[float], list[list[RecordedRequest]]]:
    credentials = app_credentials()
    async with harness(demo.seed(credentials), credentials) as box:
        numbers = [await open_checked_pr(box, i) for i in range(commands + 1)]
        await approve(box, numbers[0])  # warms the config, role and ETag caches
        if rtt:
            box.double.inject("*", r".", None, times=None, latency=rtt)
        results = [await approve(box, number) for number in numbers[1:]]
    return [seconds for seconds, _ in results], [requests for _, requests in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=8)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    args = parser.parse_args()
    times, logs = asyncio.run(measure(args.commands, 0.0))
    slow_times, slow_logs = asyncio.run(measure(args.commands, args.rtt_ms / 1000))
    counts = [len(log) for log in logs]
    chains = [critical_path(log) for log in slow_logs]
    trips = [len(chain) for chain in chains]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{args.commands} x `/kep approve` by an approver, caches warm")
    print(
        f"end to end on loopback: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )
    print(
        f"end to end with {args.rtt_ms:.0f} ms per request: median "
        f"{statistics.median(slow_times) * 1000:.0f} ms"
    )
    print(
        f"REST requests per command: median {statistics.median(counts):.0f} "
        f"(min {min(counts)}, max {max(counts)})"
    )
    print(
        f"sequential round trips per command: median {statistics.median(trips):.0f} "
        f"(min {min(trips)}, max {max(trips)})"
    )
    on_path = {id(r) for r in chains[0]}
    print("\nrequests of one command, in order (* on the critical path):")
    for request in sorted(slow_logs[0], key=lambda r: r.time):
        mark = "*" if id(request) in on_path else " "
        print(f"  {mark} {request.status}  {shape(request)}")
    print("\nby route, over all measured commands (per command):")
    for route, count in sorted(Counter(shape(r) for log in logs for r in log).items()):
        print(f"  {count / len(logs):5.1f}  {route}")
    ok = (
        statistics.median(trips) <= TARGET_ROUND_TRIPS
        and statistics.median(counts) <= TARGET_REQUESTS
    )
    print(
        f"\ntarget: <= {TARGET_ROUND_TRIPS} round trips and <= {TARGET_REQUESTS} requests: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
