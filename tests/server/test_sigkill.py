"""Reconcile (docs/design.md B8) after a real crash: a server process killed with SIGKILL
after acknowledging a delivery (or after claiming its command) and before acting; the
next process does the work once."""

from __future__ import annotations

import asyncio
import signal

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.payloads import issue_comment_event
from bot.sandbox.testing import AppCredentials, app_credentials, running

from .processes import Process, deliver_event, start_process

KEP = f"{demo.KEP_DIR}/kep.yaml"
GOOD_KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


def world() -> tuple[AppCredentials, GitHubDouble, int]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    files: dict[str, str | None] = {KEP: GOOD_KEP, f"{demo.KEP_DIR}/README.md": demo.NEW_README}
    number = double.open_pull_request(demo.REPO, "kep", files, "KEP", author="alice")
    return credentials, double, number


async def server(api_url: str, credentials: AppCredentials, grace: str = "600") -> Process:
    return await start_process(
        ["-m", "bot"],
        credentials={
            "GITHUB_API_URL": api_url,
            "GITHUB_APP_ID": str(credentials.app_id),
            "GITHUB_PRIVATE_KEY": credentials.private_key,
            "KEPBOT_RECONCILE_SECONDS": "3600",
            "KEPBOT_RECONCILE_GRACE_SECONDS": grace,
        },
    )


async def deliver(process: Process, double: GitHubDouble, comment_id: int) -> int:
    event = issue_comment_event(double, demo.REPO, comment_id, "created")
    return await deliver_event(process, double, event)


async def kill(process: Process) -> None:
    process.proc.send_signal(signal.SIGKILL)
    await process.proc.wait()
    assert process.proc.returncode == -signal.SIGKILL


def bot_commits(double: GitHubDouble) -> int:
    return sum("→ implementable" in c.message for _, c in double.commits(demo.REPO, "kep"))


def start_up_pass_done(line: dict[str, object]) -> bool:
    return str(line.get("message", "")).startswith("reconcile pass:")


async def until(probe: object, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if probe():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def restart_and_finish(
    processes: list[Process],
    api_url: str,
    credentials: AppCredentials,
    double: GitHubDouble,
    comment_id: int,
    grace: str,
) -> None:
    """A new server process: its start-up reconcile does the approval and marks it done."""
    second = await server(api_url, credentials, grace=grace)
    processes.append(second)
    await until(lambda: bot_commits(double) == 1)
    await until(
        lambda: "+1" in {r.content for r in double.reactions(demo.REPO, comment_id=comment_id)}
    )
    await second.stop()


async def test_killed_after_the_acknowledgement_the_next_process_does_the_work_once(
    processes: list[Process],
) -> None:
    credentials, double, number = world()
    async with running(double) as api_url:
        first = await server(api_url, credentials)
        processes.append(first)
        await first.wait_for(start_up_pass_done)  # its requests are not the handler's
        slowed = double.inject("GET", rf"/pulls/{number}$", latency=30.0)
        made = double.add_comment(demo.REPO, number, "/kep approve", "carol")
        assert await deliver(first, double, made.id) == 202  # acknowledged...
        await until(lambda: slowed.hits == 1)  # the handler is now waiting on the slowed GET
        await kill(first)  # ...and killed before acting
        double.clear_faults()
        assert bot_commits(double) == 0
        assert double.reactions(demo.REPO, comment_id=made.id) == []

        await restart_and_finish(processes, api_url, credentials, double, made.id, grace="600")
    assert bot_commits(double) == 1


async def test_killed_after_claiming_the_command_is_redone_after_the_grace(
    processes: list[Process],
) -> None:
    credentials, double, number = world()
    async with running(double) as api_url:
        first = await server(api_url, credentials)
        processes.append(first)
        await first.wait_for(start_up_pass_done)  # its requests are not the handler's
        double.inject("PUT", r"/contents/", latency=5.0)  # the write waits
        made = double.add_comment(demo.REPO, number, "/kep approve", "carol")
        assert await deliver(first, double, made.id) == 202
        await until(lambda: double.reactions(demo.REPO, comment_id=made.id) != [])  # claimed
        await kill(first)
        double.clear_faults()
        assert bot_commits(double) == 0

        await restart_and_finish(processes, api_url, credentials, double, made.id, grace="0")
    assert bot_commits(double) == 1
