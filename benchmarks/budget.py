"""What the bot's hot paths cost in GitHub requests on a repository the flagship's size.

Usage: python benchmarks/budget.py [--keps 656] [--pulls 150] [--rtt-ms 20]

The real Bot runs in this process against the GitHub double on loopback, on a repository
shaped like kubernetes/enhancements: `--keps` KEPs on the default branch (two files each,
over 20 SIGs) and `--pulls` open KEP pull requests, each checked once. Every figure is read
from the double's request log; "charged" leaves out the conditional requests answered 304,
which GitHub does not count against the rate limit. Round trips are the longest chain of
requests each starting after the previous one ended, with `--rtt-ms` added to every answer.

Scenarios:
- page cold, page again, page merged: the pipeline page built from nothing (five minutes
  after the last push), then built again with the default branch unchanged (what a view
  after the page's 5-minute cache costs), then after a pull request (which the bot does not
  see) that moves one KEP merged, five minutes later again;
- reconcile idle: a reconcile pass when nothing changed since the last one, and how many
  check runs one unchanged head holds after the passes;
- merge: a KEP pull request with a placeholder number merges (number, rename, index);
- approve 50: `/kep approve` on a pull request that holds 50 new KEPs (requests, commits);
- push: a push that changes one README on that pull request;
- busy hour: played minute by minute on the shared clock (`replay_hour`): 60 deliveries
  (20 pushes, 20 comments without a command, 10 commands, half `/kep status` and half
  `/kep approve`, 5 opens, 5 merges, interleaved), a page view every 5 minutes and a
  reconcile pass every 15, each action's requests read from the double's log and added up
  by kind; and, as a cross-check, by arithmetic from the single scenarios above.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import demo
from bot.pipeline_page import TTL_SECONDS, PageMemory, page_data
from bot.reconcile import Reconciler
from bot.sandbox.cost import KEP, critical_path
from bot.sandbox.double import GitHubDouble
from bot.sandbox.generated import add_keps, kep_path
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import app_credentials

REPO = demo.REPO
BUSY_HOUR_TARGET = 750


@dataclass
class Cost:
    requests: int
    charged: int
    round_trips: int
    routes: Counter[str]

    @classmethod
    def of(cls, log: list[RecordedRequest]) -> Cost:
        routes = Counter(_route(r) for r in log)
        charged = sum(r.status != 304 for r in log)
        return cls(len(log), charged, len(critical_path(log)), routes)

    def line(self, name: str) -> str:
        return (
            f"{name:<14} {self.requests:>6} requests, {self.charged:>6} charged, "
            f"{self.round_trips:>4} round trips"
        )


def _route(request: RecordedRequest) -> str:
    parts = request.path.split("/")
    folded = [("…" if part.isdigit() or len(part) == 40 else part) for part in parts[:8]]
    return f"{request.method} {'/'.join(folded)}"


def _promote(double: GitHubDouble) -> int:
    """A pull request (not seen by the bot) moving one KEP on the default branch."""
    path = kep_path(1005)
    text = (double.file_at(REPO, "main", path) or b"").decode()
    text = text.replace("status: implemented", "status: implementable")
    return double.open_pull_request(REPO, "promote", {path: text}, "Move KEP-1005", "", "carol")


def new_kep(index: int) -> dict[str, str | None]:
    folder = demo.KEP_DIR.replace("pod-restart-budget", f"budget-{index}")
    return {f"{folder}/kep.yaml": KEP, f"{folder}/README.md": demo.NEW_README}


async def measured(box: Harness, work: Callable[[], Awaitable[object]]) -> Cost:
    start = len(box.double.requests)
    await work()
    await box.idle(600)
    return Cost.of(box.double.requests[start:])


class Clock:
    """Real time, moved on by `skip` (a page view five minutes later), shared by the double
    and the bot so that GitHub's timestamps and the bot's agree."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift

    def utc(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self(), datetime.UTC)

    def skip(self, seconds: float) -> None:
        self.shift += seconds


async def run(keps: int, pulls: int, rtt: float) -> dict[str, Cost]:
    credentials = app_credentials()
    clock = Clock()
    double = demo.seed(credentials, clock=clock)
    add_keps(double, REPO, keps, author=demo.OWNER)
    costs: dict[str, Cost] = {}
    timed: dict[str, Any] = {"client_options": {"clock": clock}, "clock": clock.utc}
    async with harness(double, credentials, **timed) as box:
        double.inject("*", r".", None, times=None, latency=rtt)
        numbers = []
        for index in range(pulls):
            number = double.open_pull_request(
                REPO, f"kep-{index}", new_kep(index), "KEP", "", author="alice"
            )
            numbers.append(number)
            await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle(600)

        memory = PageMemory()

        async def page() -> None:
            await page_data(box.bot, REPO, allow_private=False, memory=memory)

        clock.skip(TTL_SECONDS)  # the first view comes a while after the last push
        costs["page cold"] = await measured(box, page)
        clock.skip(TTL_SECONDS)  # the next view once the page's cache has expired
        costs["page again"] = await measured(box, page)
        clock.skip(TTL_SECONDS)
        promote = _promote(double)
        double.merge(REPO, promote)
        costs["page merged"] = await measured(box, page)

        reconciler = Reconciler(box.bot)
        await measured(box, reconciler.pass_once)
        costs["reconcile idle"] = await measured(box, reconciler.pass_once)
        head = double.branch_sha(REPO, "kep-0") or ""
        runs_on_one_head = len(double.check_runs(REPO, head))

        async def merge() -> None:
            double.merge(REPO, numbers[-1])
            await box.deliver(pull_request_event(double, REPO, numbers[-1], "closed"))

        costs["merge"] = await measured(box, merge)

        many: dict[str, str | None] = {}
        for index in range(50):
            many.update(new_kep(10_000 + index))
        big = double.open_pull_request(REPO, "fifty", many, "50 KEPs", "", author="alice")
        await box.deliver(pull_request_event(double, REPO, big, "opened"))
        await box.idle(600)
        commits_before = len(double.commits(REPO, "fifty"))

        async def approve() -> None:
            made = double.add_comment(REPO, big, "/kep approve", "carol")
            await box.deliver(issue_comment_event(double, REPO, made.id, "created"))

        costs["approve 50"] = await measured(box, approve)
        approve_commits = len(double.commits(REPO, "fifty")) - commits_before

        async def push() -> None:
            before = double.branch_sha(REPO, "fifty")
            readme = next(path for path in many if path.endswith("README.md"))
            text = (double.file_at(REPO, "fifty", readme) or b"").decode() + "More.\n"
            double.push(REPO, "fifty", {readme: text}, "edit", "alice")
            await box.deliver(pull_request_event(double, REPO, big, "synchronize", before=before))

        costs["push"] = await measured(box, push)

        async def chatter() -> None:
            made = double.add_comment(REPO, numbers[0], "Thanks, reading it.", "bob")
            await box.deliver(issue_comment_event(double, REPO, made.id, "created"))

        costs["comment"] = await measured(box, chatter)

        async def status() -> None:
            made = double.add_comment(REPO, numbers[1], "/kep status", "bob")
            await box.deliver(issue_comment_event(double, REPO, made.id, "created"))

        costs["command"] = await measured(box, status)

        async def opened() -> None:
            number = double.open_pull_request(
                REPO, "late", new_kep(99_999), "KEP", "", author="alice"
            )
            await box.deliver(pull_request_event(double, REPO, number, "opened"))

        costs["open"] = await measured(box, opened)

        async def small_push() -> None:
            before = double.branch_sha(REPO, "kep-2")
            path = next(p for p in new_kep(2) if p.endswith("README.md"))
            text = (double.file_at(REPO, "kep-2", path) or b"").decode() + "More.\n"
            double.push(REPO, "kep-2", {path: text}, "edit", "alice")
            await box.deliver(
                pull_request_event(double, REPO, numbers[2], "synchronize", before=before)
            )

        costs["small push"] = await measured(box, small_push)
        hour = await replay_hour(box, double, clock, numbers, page, reconciler)
        costs.update({f"hour: {kind}": cost for kind, cost in hour.items()})

    print(f"check runs on one unchanged head after 2 reconcile passes: {runs_on_one_head}")
    print(f"commits made by one `/kep approve` moving 50 proposals: {approve_commits}")
    return costs


HOUR_MIX = ("push",) * 20 + ("comment",) * 20 + ("command",) * 10 + ("open",) * 5 + ("merge",) * 5


async def replay_hour(
    box: Harness,
    double: GitHubDouble,
    clock: Clock,
    numbers: list[int],
    page: Callable[[], Awaitable[None]],
    reconciler: Reconciler,
) -> dict[str, Cost]:
    """One hour played minute by minute on the clock the bot and the double share: a
    delivery a minute in `HOUR_MIX`'s kinds (interleaved), a page view every 5 minutes and
    a reconcile pass every 15 (the defaults). Each action's requests are read from the
    double's log and added up by kind."""
    logs: dict[str, list[RecordedRequest]] = {}
    order = sorted(range(len(HOUR_MIX)), key=lambda i: (i * 7) % len(HOUR_MIX))
    used = itertools.cycle(numbers[3:-6])  # the last six merge (one already did)
    merging = iter(numbers[-6:-1])
    opened_count = itertools.count(20_000)
    said = iter(["/kep status", "/kep approve"] * 5)

    async def act(kind: str, work: Callable[[], Awaitable[object]]) -> None:
        start = len(double.requests)
        await work()
        await box.idle(600)
        logs.setdefault(kind, []).extend(double.requests[start:])

    async def push() -> None:
        number = next(used)
        branch = f"kep-{numbers.index(number)}"
        before = double.branch_sha(REPO, branch)
        path = next(p for p in new_kep(numbers.index(number)) if p.endswith("README.md"))
        text = (double.file_at(REPO, branch, path) or b"").decode() + "More.\n"
        double.push(REPO, branch, {path: text}, "edit", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=before))

    async def comment() -> None:
        made = double.add_comment(REPO, next(used), "Looks good to me.", "bob")
        await box.deliver(issue_comment_event(double, REPO, made.id, "created"))

    async def command() -> None:
        made = double.add_comment(REPO, next(used), next(said), "carol")
        await box.deliver(issue_comment_event(double, REPO, made.id, "created"))

    async def opened() -> None:
        index = next(opened_count)
        number = double.open_pull_request(
            REPO, f"hour-{index}", new_kep(index), "KEP", "", author="alice"
        )
        await box.deliver(pull_request_event(double, REPO, number, "opened"))

    async def merge() -> None:
        number = next(merging)
        double.merge(REPO, number)
        await box.deliver(pull_request_event(double, REPO, number, "closed"))

    kinds = {"push": push, "comment": comment, "command": command, "open": opened}
    kinds["merge"] = merge
    for minute in range(60):
        if minute % 15 == 0:
            await act("reconcile", reconciler.pass_once)
        if minute % 5 == 0:
            await act("page view", page)
        kind = HOUR_MIX[order[minute]]
        await act(kind, kinds[kind])
        clock.skip(60)
    return {kind: Cost.of(log) for kind, log in logs.items()}


def busy_hour(costs: dict[str, Cost]) -> tuple[int, int]:
    parts = {
        "reconcile idle": 4,
        "page cold": 1,
        "page again": 11,
        "small push": 20,
        "comment": 20,
        "command": 10,
        "open": 5,
        "merge": 5,
    }
    total = sum(costs[name].requests * times for name, times in parts.items())
    charged = sum(costs[name].charged * times for name, times in parts.items())
    return total, charged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keps", type=int, default=656)
    parser.add_argument("--pulls", type=int, default=150)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"repository: {args.keps} KEPs, {args.pulls} open KEP pull requests")
    costs = asyncio.run(run(args.keps, args.pulls, args.rtt_ms / 1000))
    for name, cost in costs.items():
        print(cost.line(name))
    total, charged = busy_hour(costs)
    print(f"busy hour (by arithmetic): {total} requests, {charged} charged")
    hour = {name: cost for name, cost in costs.items() if name.startswith("hour: ")}
    played = sum(cost.requests for cost in hour.values())
    played_charged = sum(cost.charged for cost in hour.values())
    print(f"busy hour (played): {played} requests, {played_charged} charged; by kind:")
    for name, cost in hour.items():
        print(
            f"  {name.removeprefix('hour: '):<10} {cost.requests:>5} requests, "
            f"{cost.charged:>5} charged"
        )
    print("\nby route, page cold:")
    for route, count in costs["page cold"].routes.most_common(6):
        print(f"  {count:>5}  {route}")
    ok = total <= BUSY_HOUR_TARGET and played <= BUSY_HOUR_TARGET
    print(f"\ntarget: a busy hour within {BUSY_HOUR_TARGET} requests: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
