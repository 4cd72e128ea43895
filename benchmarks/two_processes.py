"""Two `python -m bot` processes against one GitHub: exactly-once commands and throughput.

Usage: python benchmarks/two_processes.py [--pulls 30]

Two real server processes share the GitHub double served from this process, as two
instances behind a load balancer share GitHub. On each of the KEP pull requests, bob (no
role) and then carol (an approver) comment `/kep approve`; each delivery goes to one
process (alternating) and is redelivered to the other, so both handle every command at
once. Counts, read back from the double: the bot's commits per approved proposal (exactly
one), replies posted twice (zero), status comments per PR (one), and commands per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections import Counter

import aiohttp
from bot_processes import BotProcess, deliver, idle, open_pull, ready, start_bot

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import Event, issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials, running

REPO = demo.REPO
BOT = "kepbot[bot]"


def tally(double: GitHubDouble, pulls: list[int]) -> dict[str, int]:
    commits = [
        sum(
            1
            for _, c in double.commits(REPO, f"kep-{index}")
            if c.author.name == BOT and "→ implementable" in c.message
        )
        for index in range(len(pulls))
    ]
    markers: Counter[str] = Counter()
    status_comments = []
    for number in pulls:
        mine = [c.body for c in double.comments(REPO, number) if c.user == BOT]
        markers.update(body.splitlines()[0] for body in mine)
        status_comments.append(sum("kepbot:status" in body for body in mine))
    return {
        "proposals with exactly one commit": sum(1 for n in commits if n == 1),
        "proposals with more than one commit": sum(1 for n in commits if n > 1),
        "replies posted twice": sum(n - 1 for m, n in markers.items() if "status" not in m),
        "PRs with more than one status comment": sum(1 for n in status_comments if n > 1),
        "refusals to bob": sum(
            1
            for number in pulls
            for c in double.comments(REPO, number)
            if c.user == BOT and "Not applied" in c.body
        ),
    }


async def run(count: int) -> bool:
    credentials = app_credentials()
    double = demo.seed(credentials)
    async with running(double) as api_url, aiohttp.ClientSession() as session:
        bots = [start_bot(api_url, credentials), start_bot(api_url, credentials)]
        try:
            for bot in bots:
                await ready(session, bot)
            pulls = [open_pull(double, index) for index in range(count)]
            for index, number in enumerate(pulls):
                event = pull_request_event(double, REPO, number, "opened")
                await deliver(session, bots[index % 2], double, event)
            await idle(session, bots)
            sends: list[tuple[BotProcess, Event]] = []
            for index, number in enumerate(pulls):
                for user in ("bob", "carol"):
                    made = double.add_comment(REPO, number, "/kep approve", user)
                    event = issue_comment_event(double, REPO, made.id, "created")
                    first, second = bots[index % 2], bots[1 - index % 2]
                    sends += [(first, event), (second, event)]
            clock = time.perf_counter()
            gate = asyncio.Semaphore(20)

            async def send(bot: BotProcess, event: Event) -> None:
                async with gate:
                    await deliver(session, bot, double, event)

            await asyncio.gather(*(send(bot, event) for bot, event in sends))
            await idle(session, bots)
            seconds = time.perf_counter() - clock
        finally:
            codes = [bot.stop() for bot in bots]
    figures = tally(double, pulls)
    commands = 2 * count
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{commands} commands on {count} PRs, each delivered to both processes")
    print(
        f"handled in {seconds:.1f} s: {commands / seconds:.1f} commands/s "
        f"({len(sends) / seconds:.1f} deliveries/s)"
    )
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"exit codes: {codes}")
    ok = (
        figures["proposals with exactly one commit"] == count
        and figures["replies posted twice"] == 0
        and figures["PRs with more than one status comment"] == 0
        and figures["refusals to bob"] == count
    )
    print(f"target: one commit per command, no reply twice: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=30)
    args = parser.parse_args()
    return 0 if asyncio.run(run(args.pulls)) else 1


if __name__ == "__main__":
    sys.exit(main())
