"""Resident memory of the real server after 10,000 events.

Usage: python benchmarks/memory.py [--events 10000] [--pulls 20] [--keps 650]
       python benchmarks/memory.py --events 50000   (RSS every 10,000 events; growth target)

`python -m bot` runs as its own process (the real server and Bot, configured through the
environment) against the GitHub double served from this process, seeded with a repository
the size of kubernetes/enhancements (650 KEPs, two files each: every check lists the whole
tree, and the bot's caches hold what it read). After 20 KEP pull requests
are opened and checked, 10,000 signed deliveries follow, in the mix a busy repository sends:
per 100 events, 3 `/kep status` commands and 1 push (a full check run each: claims, reads,
check runs, labels, the status comment), 60 comments without a command, 15 pull request
events the bot does not act on (labeled, assigned, ...), 10 `check_run` events, 6 comments
on plain issues and 5 pings. Everything passes through the webhook, the worker pool and the
real Bot's routing and caches; only 4% of it costs GitHub requests, which keeps the run short.
RSS and peak RSS come from /proc/<pid>/status; the target (docs/design.md C3) is under 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import time
from collections import Counter

import aiohttp
from bot_processes import KEP, deliver, idle, ready, start_bot

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import (
    Event,
    check_run_event,
    issue_comment_event,
    ping_event,
    pull_request_event,
)
from bot.sandbox.testing import app_credentials, running

TARGET_MB = 150.0
GROWTH_MB = 10.0  # from 10,000 events to the end of a longer run
CHECKPOINT = 10_000  # RSS is read after each this many events, with the bot idle
REPO = demo.REPO
QUIET = ("labeled", "unlabeled", "assigned", "review_requested", "ready_for_review")


class Mix:
    """The event for each index, built from (and acting on) the double's state."""

    def __init__(self, double: GitHubDouble, readmes: dict[int, tuple[str, str]]) -> None:
        """`readmes`: each pull request's number → (head branch, README path)."""
        self.double, self.readmes, self.pulls = double, readmes, list(readmes)
        issue = double.open_issue(REPO, "A question", author="bob")
        plain = double.add_comment(REPO, issue, "How do I write a KEP?", "bob")
        self.plain = issue_comment_event(double, REPO, plain.id, "created")
        self.chatter: list[Event] = []
        self.checks: list[Event] = []
        for number, (branch, _) in readmes.items():
            said = double.add_comment(REPO, number, "Thanks, reading it now.", "bob")
            self.chatter.append(issue_comment_event(double, REPO, said.id, "created"))
            head = double.branch_sha(REPO, branch) or ""
            run = double.check_runs(REPO, head)[-1]
            self.checks.append(check_run_event(double, REPO, run.id, "completed"))

    def event(self, index: int) -> Event:
        slot, number = index % 100, self.pulls[index % len(self.pulls)]
        which = index // 100
        if slot < 3:  # a command: claim, read the PR, refresh the check and status comment
            made = self.double.add_comment(REPO, number, "/kep status", "bob")
            return issue_comment_event(self.double, REPO, made.id, "created")
        if slot == 3:  # a push: a full check of the new head
            branch, path = self.readmes[number]
            before = self.double.branch_sha(REPO, branch)
            text = (self.double.file_at(REPO, branch, path) or b"").decode() + f"Edit {index}.\n"
            self.double.push(REPO, branch, {path: text}, f"edit {index}", "alice")
            return pull_request_event(self.double, REPO, number, "synchronize", before=before)
        if slot < 64:
            return self.chatter[which % len(self.chatter)]
        if slot < 79:
            return pull_request_event(self.double, REPO, number, QUIET[slot % len(QUIET)])
        if slot < 89:
            return self.checks[which % len(self.checks)]
        if slot < 95:
            return self.plain
        return ping_event(self.double)


def add_keps(double: GitHubDouble, count: int) -> None:
    """`count` implemented KEPs on the default branch, spread over 20 SIGs."""
    files: dict[str, str | None] = {}
    for number in range(1000, 1000 + count):
        folder = f"keps/sig-{number % 20}/{number}-feature-{number}"
        kep = demo.EXISTING_KEP.replace("753", str(number)).replace(
            "sig-node", f"sig-{number % 20}"
        )
        files[f"{folder}/kep.yaml"] = kep
        files[f"{folder}/README.md"] = demo.README.format(
            number=number, title=f"Feature {number}", summary="A feature. " * 40
        )
    double.push(REPO, "main", files, f"{count} KEPs", "kubernetes-demo")


async def run(events: int, pulls: int, keps: int) -> bool:
    credentials = app_credentials()
    double = demo.seed(credentials)
    add_keps(double, keps)
    async with running(double) as api_url, aiohttp.ClientSession() as session:
        bot = start_bot(api_url, credentials)
        try:
            await ready(session, bot)
            started_mb = bot.memory_mb()[0]
            readmes: dict[int, tuple[str, str]] = {}
            for index in range(pulls):
                folder = demo.KEP_DIR.replace("pod-restart-budget", f"budget-{index}")
                branch, readme = f"kep-{index}", f"{folder}/README.md"
                files: dict[str, str | None] = {f"{folder}/kep.yaml": KEP, readme: demo.NEW_README}
                number = double.open_pull_request(REPO, branch, files, "KEP", author="alice")
                readmes[number] = (branch, readme)
                await deliver(
                    session, bot, double, pull_request_event(double, REPO, number, "opened")
                )
            await idle(session, [bot])
            mix = Mix(double, readmes)
            setup_mb = bot.memory_mb()[0]
            pending = iter(range(events))
            refused = 0
            clock = time.perf_counter()

            async def sender() -> None:
                nonlocal refused
                for index in pending:
                    status, again = await deliver(session, bot, double, mix.event(index))
                    refused += again
                    assert status in (200, 202), status

            checkpoints: list[tuple[int, float]] = []
            for done in range(CHECKPOINT, events + CHECKPOINT, CHECKPOINT):
                pending = iter(range(done - CHECKPOINT, min(done, events)))
                await asyncio.gather(*(sender() for _ in range(16)))
                await idle(session, [bot])
                checkpoints.append((min(done, events), bot.memory_mb()[0]))
            seconds = time.perf_counter() - clock
            final_mb, peak_mb = bot.memory_mb()
        finally:
            bot.stop()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{events} events in {seconds:.1f} s ({events / seconds:.0f}/s), "
        f"{refused} answered 503 and were redelivered"
    )
    print(
        f"repository: {keps} KEPs besides the PRs'; "
        f"bot requests to the double: {len(double.requests)}, "
        f"check runs published: {len(double.state.check_runs)}"
    )
    print(
        f"RSS: {started_mb:.0f} MB at start, {setup_mb:.0f} MB after {pulls} PRs, "
        f"{final_mb:.0f} MB after {events} events (peak {peak_mb:.0f} MB)"
    )
    print("RSS by events handled:", ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in checkpoints))
    growth = [mb for n, mb in checkpoints if n >= 10_000]
    grew = growth[-1] - growth[0] if len(growth) > 1 else 0.0
    if len(growth) > 1:
        print(f"growth from 10,000 events on: {grew:.1f} MB (target: at most {GROWTH_MB:.0f} MB)")
    folded = re.compile(r"/[0-9a-f]{40}|/\d+(?=/|$)|/contents/.*")
    routes = Counter(f"{r.method} {folded.sub('/…', r.path)}" for r in double.requests)
    print("most requested:", ", ".join(f"{n} {route}" for route, n in routes.most_common(4)))
    ok = final_mb < TARGET_MB and peak_mb < TARGET_MB and grew <= GROWTH_MB
    print(f"target: under {TARGET_MB:.0f} MB: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--pulls", type=int, default=20)
    parser.add_argument("--keps", type=int, default=650)
    args = parser.parse_args()
    return 0 if asyncio.run(run(args.events, args.pulls, args.keps)) else 1


if __name__ == "__main__":
    sys.exit(main())
