"""`kepbot demo`: the real server against the GitHub double, playing a proposal's life.

Everything runs on loopback in one process: the double (seeded with a small KEP
repository), the bot's real webhook server and handlers, and a script that acts as the
people on GitHub (open a PR, push a fix) and sends the deliveries GitHub would send,
signed. The transcript says what the bot did at each step, read back from the double.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Callable

from bot.sandbox.demo_repo import (
    BRANCH,
    CODEOWNERS,
    EXISTING_KEP,
    EXISTING_REVIEW,
    FIXED_KEP,
    KEP_DIR,
    NAME,
    NEW_KEP,
    NEW_README,
    NEW_REVIEW,
    NEW_REVIEW_PATH,
    OWNER,
    OWNERS_ALIASES,
    README,
    REPO,
    sample_repository,
    seed,
)
from bot.sandbox.harness import Harness, harness
from bot.sandbox.model import CheckRun
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import app_credentials

# The demo repository's names stay importable from here, where the tests and benchmarks
# have always found them.
__all__ = [
    "BRANCH",
    "CODEOWNERS",
    "EXISTING_KEP",
    "EXISTING_REVIEW",
    "FIXED_KEP",
    "KEP_DIR",
    "NAME",
    "NEW_KEP",
    "NEW_README",
    "NEW_REVIEW",
    "NEW_REVIEW_PATH",
    "OWNER",
    "OWNERS_ALIASES",
    "README",
    "REPO",
    "by_route",
    "command",
    "describe",
    "main",
    "play",
    "sample_repository",
    "script",
    "seed",
    "show_check",
]


def describe(run: CheckRun) -> list[str]:
    lines = [f"   bot: check run '{run.name}' → {run.conclusion}: {run.output.get('title')}"]
    for note in run.annotations:
        level, where = note["annotation_level"], f"{note['path']}:{note['start_line']}"
        lines.append(f"        {level:8} {where}  {note['message']}")
    return lines


async def script(box: Harness, say: Callable[[str], None]) -> None:
    double = box.double
    say(f"GitHub double serving {REPO} with KEP-753 (implemented); kepbot installed.")
    say("CODEOWNERS makes @kubernetes-demo/sig-node-leads (carol) approvers of keps/sig-node/.")
    say("")
    say("1. alice opens a pull request adding a new KEP (with two mistakes)")
    files: dict[str, str | None] = {
        f"{KEP_DIR}/kep.yaml": NEW_KEP,
        f"{KEP_DIR}/README.md": NEW_README,
        NEW_REVIEW_PATH: NEW_REVIEW,
    }
    number = double.open_pull_request(
        REPO, BRANCH, files, "KEP: pod restart budget", author="alice"
    )
    first = double.branch_sha(REPO, BRANCH) or ""
    status = await box.deliver(pull_request_event(double, REPO, number, "opened"))
    say(f"   delivery pull_request.opened #{number} → HTTP {status}")
    await show_check(box, say, first)
    say("")
    say("2. alice pushes a fix for both")
    fixed = FIXED_KEP
    double.push(REPO, BRANCH, {f"{KEP_DIR}/kep.yaml": fixed}, "Fix the KEP", "alice")
    second = double.branch_sha(REPO, BRANCH) or ""
    event = pull_request_event(double, REPO, number, "synchronize", before=first)
    say(f"   delivery pull_request.synchronize #{number} → HTTP {await box.deliver(event)}")
    await show_check(box, say, second)
    say("")
    say("3. bob (write access, not an approver) comments `/kep approve`")
    await command(box, say, number, "/kep approve", "bob")
    say("")
    say("4. carol (sig-node-leads) comments `/kep approve`")
    await command(box, say, number, "/kep approve", "carol")
    say("   the bot's commit on the branch:")
    _, commit = double.commits(REPO, BRANCH)[0]
    say(f"      {commit.message.splitlines()[0]}")
    text = (double.file_at(REPO, BRANCH, f"{KEP_DIR}/kep.yaml") or b"").decode()
    for line in difflib.unified_diff(fixed.splitlines(), text.splitlines(), lineterm="", n=0):
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
            say(f"      {line}")
    await show_check(box, say, double.branch_sha(REPO, BRANCH) or "")
    say(f"   labels: {', '.join(sorted(double.labels(REPO, number)))}")
    say("")
    say("5. carol merges the pull request")
    double.merge(REPO, number, by="carol")
    status = await box.deliver(pull_request_event(double, REPO, number, "closed"))
    say(f"   delivery pull_request.closed (merged) #{number} → HTTP {status}")
    await box.idle()
    _, commit = double.commits(REPO, "main")[0]
    say(f"   the bot's commit on main: {commit.message.splitlines()[0]}")
    numbered = [p for p in double.paths_at(REPO, "main") if "restart-budget" in p]
    for path in numbered:
        say(f"      {path}")
    say("")
    bot_requests = [r for r in double.requests if r.identity.startswith(("installation", "app"))]
    say(f"The bot made {len(bot_requests)} REST requests to the double:")
    for route, count in by_route(bot_requests).items():
        say(f"   {count:3}  {route}")


async def show_check(box: Harness, say: Callable[[str], None], sha: str) -> None:
    for line in describe(await box.check_run(REPO, sha)):
        say(line)


async def command(
    box: Harness, say: Callable[[str], None], number: int, body: str, user: str
) -> None:
    double = box.double
    seen = {c.id for c in double.comments(REPO, number)}
    made = double.add_comment(REPO, number, body, user)
    status = await box.deliver(issue_comment_event(double, REPO, made.id, "created"))
    say(f"   delivery issue_comment.created → HTTP {status}")
    await box.idle()
    reactions = sorted(r.content for r in double.reactions(REPO, comment_id=made.id))
    say(f"   bot reacted: {' '.join(reactions)}")
    for reply in double.comments(REPO, number):
        if reply.id not in seen and reply.id != made.id and "kepbot:status" not in reply.body:
            text = reply.body.split("-->", 1)[-1].strip().replace("\n\n", " ")
            say(f"   bot replied: {text}")


def by_route(requests: list[RecordedRequest]) -> dict[str, int]:
    """Requests grouped by method and path shape (numbers and SHAs folded)."""
    counts: dict[str, int] = {}
    for request in requests:
        shape = re.sub(r"/[0-9a-f]{40}|/\d+", "/…", request.path)
        key = f"{request.method} {shape}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


async def play(say: Callable[[str], None] = print) -> int:
    credentials = app_credentials()
    async with harness(seed(credentials), credentials) as box:
        try:
            await script(box, say)
        except TimeoutError as exc:
            say(f"demo stopped: the bot did not answer in time ({exc})")
            return 1
    return 0


def main() -> int:
    return asyncio.run(play())
