"""What a piece of the bot's work cost, read from the double's request log.

`critical_path` gives the sequential round trips of a stretch of the log: the longest chain
of requests in which each starts after the one before it ended (with latency added to the
double's answers, requests sent concurrently overlap and do not chain); `route` names a
logged request the way the tests that pin request lists write it. `open_checked_pr`
and `approve` set up and run the command measured: a `/kep approve` by an approver on a
new KEP's pull request whose check has run (the demo repository). The benchmark
`benchmarks/command_cost.py` and the tests pinning a command's cost both use them.
"""

from __future__ import annotations

import re
import time

from bot.sandbox import demo_repo as demo
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.pipeline import RecordedRequest

__all__ = ["KEP", "approve", "critical_path", "kep_folder", "open_checked_pr", "route"]

KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


def critical_path(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    """The longest chain of requests in which each starts after the one before ended."""
    ordered = sorted(requests, key=lambda r: r.time)
    best: list[list[RecordedRequest]] = []
    for index, request in enumerate(ordered):
        before = [
            best[j] for j in range(index) if ordered[j].time + ordered[j].duration <= request.time
        ]
        chain = max(before, key=len, default=[])
        best.append([*chain, request])
    return max(best, key=len, default=[])


def route(request: RecordedRequest, repo: str = demo.REPO) -> str:
    """`METHOD path` of a logged request with the repository's prefix dropped, numbers as
    `N`, 40-hex shas as `{sha}`, file paths as `{path}` and label names as `{name}`; a
    comment list read incrementally ends in `?since`."""
    path = request.path.split(f"/repos/{repo}/", 1)[-1]
    path = re.sub(r"(?<=/)[0-9a-f]{40}(?=/|$)", "{sha}", path)
    path = re.sub(r"(?<=/)\d+(?=/|$)", "N", path)
    path = re.sub(r"^contents/.*", "contents/{path}", path)
    path = re.sub(r"/labels/.+$", "/labels/{name}", path)
    if path.endswith("/comments") and "since" in request.query:
        path += "?since"
    return f"{request.method} {path}"


def kep_folder(index: int) -> str:
    """The folder of the KEP of `open_checked_pr(box, index)` (its branch: `kep-{index}`)."""
    return demo.KEP_DIR.replace("pod-restart-budget", f"budget-{index}")


async def open_checked_pr(box: Harness, index: int) -> int:
    """A new KEP's pull request by alice, its check run; its number."""
    folder = kep_folder(index)
    files: dict[str, str | None] = {
        f"{folder}/kep.yaml": KEP,
        f"{folder}/README.md": demo.NEW_README,
    }
    number = box.double.open_pull_request(demo.REPO, f"kep-{index}", files, "KEP", author="alice")
    await box.deliver(pull_request_event(box.double, demo.REPO, number, "opened"))
    await box.idle(60)
    return number


async def approve(box: Harness, number: int) -> tuple[float, list[RecordedRequest]]:
    """carol (an approver) comments `/kep approve`: the seconds until the bot is idle, and
    the requests it made meanwhile."""
    made = box.double.add_comment(demo.REPO, number, "/kep approve", "carol")
    start = len(box.double.requests)
    started = time.perf_counter()
    await box.deliver(issue_comment_event(box.double, demo.REPO, made.id, "created"))
    await box.idle(60)
    return time.perf_counter() - started, box.double.requests[start:]
