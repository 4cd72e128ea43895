"""Faults from GitHub during real work (docs/design.md I2, I3, I9): the real server
against the double.

Each test breaks GitHub in one way while a `/kep approve` runs (5xx bursts, timeouts, an
installation token that dies mid-work, primary and secondary rate limits, a storm of
concurrent commands and human pushes on one branch) and checks the outcome: the command
applied exactly once, nothing a person wrote lost, and `/healthz` answering throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import ManualClock, app_credentials

from .support import (
    BRANCH,
    GOOD_KEP,
    KEP,
    README_PATH,
    REPO,
    WAIT,
    VirtualTime,
    bot_comments,
    bot_commits,
    comment,
    health_watch,
    open_pr,
    quick_policy,
    reactions_by_bot,
    seed,
    text_at,
)

APPROVED = "→ implementable"


@asynccontextmanager
async def proposal_pr(
    double: GitHubDouble, client_options: dict[str, Any] | None = None
) -> AsyncIterator[tuple[Harness, int]]:
    """The real server against `double`, with a KEP pull request already checked once."""
    credentials = app_credentials()
    async with harness(double, credentials, client_options=client_options) as box:
        number = open_pr(double)
        assert await box.deliver(pull_request_event(double, REPO, number, "opened")) == 202
        await box.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")
        await box.idle(WAIT)
        yield box, number


def assert_approved_once(box: Harness, number: int, comment_id: int) -> None:
    """The approve took effect exactly once and was acknowledged as done."""
    assert "status: implementable" in text_at(box.double)
    assert len(bot_commits(box.double, APPROVED)) == 1, "one commit, never two"
    mine = reactions_by_bot(box.double, comment_id)
    assert mine.count("eyes") == 1 and not {"-1", "confused"} & set(mine), mine
    refusals = [c for c in bot_comments(box.double, number) if "Not applied" in c.body]
    assert refusals == []


def statuses(box: Harness, method: str, fragment: str, since: int = 0) -> list[int]:
    requests = box.double.requests[since:]
    return [r.status for r in requests if r.method == method and fragment in r.path]


async def test_5xx_bursts_during_a_command_apply_it_once() -> None:
    double = seed(app_credentials())
    options = {"policy": quick_policy(base_delay=0.05)}
    async with proposal_pr(double, options) as (box, number):
        double.inject("GET", rf"/issues/{number}/comments$", 502, times=3, latency=0.1)
        double.inject("PUT", r"/contents/", 503, times=2, latency=0.1)
        # The PR's files were read by the check at this head (kept); the default branch's
        # tree is read again by every command.
        double.inject("GET", r"/git/trees/", 500, times=1, latency=0.1)
        start = len(double.requests)
        async with health_watch(box) as health:
            comment_id = await comment(box, number, "/kep approve", "carol")
        health.assert_healthy()
        assert_approved_once(box, number, comment_id)
        assert statuses(box, "PUT", "/contents/", start) == [503, 503, 200]
        listed = statuses(box, "GET", f"/issues/{number}/comments", start)
        assert listed[:4] == [502, 502, 502, 200]
        assert statuses(box, "GET", "/git/trees/", start)[:2] in ([500, 200], [500, 304])
        run = await box.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")
        assert run.conclusion == "success", "the check was refreshed after the faults"


async def test_a_5xx_creating_the_check_run_still_publishes_it() -> None:
    """A 502 on `POST /check-runs` loses the check of the bot's own commit unless retried.

    Creating a completed check run twice is harmless (GitHub shows the latest of a name),
    so the POST is safe to repeat."""
    double = seed(app_credentials())
    async with proposal_pr(double, {"policy": quick_policy(base_delay=0.05)}) as (box, number):
        double.inject("POST", r"/check-runs$", 502, times=1)
        comment_id = await comment(box, number, "/kep approve", "carol")
        assert_approved_once(box, number, comment_id)
        head = double.branch_sha(REPO, BRANCH) or ""
        runs = double.check_runs(REPO, head)
        assert [r.conclusion for r in runs] == ["success"], "the bot's commit has its check"


async def test_a_timed_out_read_is_retried() -> None:
    double = seed(app_credentials())
    options = {"policy": quick_policy(timeout=0.3, base_delay=0.05)}
    async with proposal_pr(double, options) as (box, number):
        slow = double.inject("GET", rf"/issues/{number}/comments$", None, latency=1.5)
        async with health_watch(box) as health:
            comment_id = await comment(box, number, "/kep approve", "carol")
        health.assert_healthy()
        assert slow.hits == 1
        assert_approved_once(box, number, comment_id)


@pytest.mark.parametrize("retry_after", [0.05, 2.0], ids=["retry-first", "write-lands-first"])
async def test_a_timed_out_write_commits_once(retry_after: float) -> None:
    """The PUT times out on the bot's side but lands on GitHub's, before or after the retry."""
    double = seed(app_credentials())
    options = {"policy": quick_policy(timeout=0.3, base_delay=2 * retry_after)}
    async with proposal_pr(double, options) as (box, number):
        slow = double.inject("PUT", r"/contents/", None, latency=1.0)
        comment_id = await comment(box, number, "/kep approve", "carol")
        # The slow PUT is logged once the double has answered it (after its latency).
        await box.until(
            lambda: (
                slow.hits
                and any(r.method == "PUT" and r.duration >= 1.0 for r in box.double.requests)
            )
        )
        await box.idle(WAIT)
        assert_approved_once(box, number, comment_id)
        assert 200 in statuses(box, "PUT", "/contents/")


async def test_a_timed_out_claim_still_runs_the_command() -> None:
    """The 👀 claim lands on GitHub but its answer is lost; the retry sees 200 ("already
    there"). The bot must not conclude another instance owns the command, or it is lost."""
    double = seed(app_credentials())
    options = {"policy": quick_policy(timeout=0.3, base_delay=3.0)}
    async with proposal_pr(double, options) as (box, number):
        double.inject("POST", r"/issues/comments/\d+/reactions$", None, latency=1.0)
        comment_id = await comment(box, number, "/kep approve", "carol")
        claims = [
            r.status
            for r in double.requests
            if r.method == "POST"
            and r.path.endswith("/reactions")
            and r.body == {"content": "eyes"}
        ]
        assert 201 in claims, "one claim attempt created the reaction"
        assert_approved_once(box, number, comment_id)


@pytest.mark.parametrize("shared_clock", [False, True], ids=["refused-401", "refreshed-early"])
async def test_an_installation_token_expiring_mid_work(shared_clock: bool) -> None:
    """The token dies while the command runs: GitHub refuses it (the bot's clock disagrees
    with GitHub's) or the bot sees its end coming (same clock); either way the work ends."""
    clock = ManualClock()
    double = seed(app_credentials(), clock=clock, token_lifetime=120.0)
    options: dict[str, Any] = {"policy": quick_policy(base_delay=0.05)}
    if shared_clock:
        options["clock"] = clock
    async with proposal_pr(double, options) as (box, number):
        minted = len([r for r in double.requests if r.path.endswith("/access_tokens")])
        slow = double.inject("PUT", r"/contents/", None, latency=0.5)
        made = double.add_comment(REPO, number, "/kep approve", "carol")
        async with health_watch(box) as health:
            await box.deliver(issue_comment_event(double, REPO, made.id, "created"))
            await box.until(lambda: slow.hits > 0, WAIT)
            clock.advance(130.0)  # the token (120 s) is gone once the PUT returns
            await box.idle(WAIT)
        health.assert_healthy()
        assert_approved_once(box, number, made.id)
        tokens = [r for r in double.requests if r.path.endswith("/access_tokens")]
        assert len(tokens) == minted + 1, "one new token, minted once"
        refused = [r for r in double.requests if r.status == 401]
        # Requests in flight together may each be refused once; each is then retried.
        assert (not refused) if shared_clock else bool(refused)
        assert (await box.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")).conclusion == (
            "success"
        )


@pytest.mark.parametrize("exhausted_status", [403, 429])
async def test_the_primary_rate_limit_is_waited_out(exhausted_status: int) -> None:
    time = VirtualTime()
    double = seed(app_credentials(), clock=time.clock, exhausted_status=exhausted_status)
    options = {"policy": quick_policy(), "clock": time.clock, "sleep": time.sleep}
    async with proposal_pr(double, options) as (box, number):
        bucket = double.limiter.set_remaining("installation:1", 0)
        bucket.reset = int(time.clock()) + 30
        double.inject("GET", r"/git/trees/", None, times=None, latency=0.05)  # keep it busy
        async with health_watch(box) as health:
            comment_id = await comment(box, number, "/kep approve", "carol")
        health.assert_healthy()
        assert_approved_once(box, number, comment_id)
        limited = [r for r in double.requests if r.status == exhausted_status]
        assert len(limited) == 1, "one refused request, then a wait until the reset"
        assert any(30.0 <= wait <= 32.0 for wait in time.waits), time.waits


async def test_secondary_rate_limits_are_waited_out() -> None:
    time = VirtualTime()
    double = seed(app_credentials(), clock=time.clock)
    options = {"policy": quick_policy(), "clock": time.clock, "sleep": time.sleep}
    async with proposal_pr(double, options) as (box, number):
        double.inject("POST", r"/check-runs$", 403, times=2, headers={"retry-after": "7"})
        double.inject("PUT", r"/contents/", 429, headers={"retry-after": None}, latency=0.2)
        double.inject("POST", r"/reactions$", 403, headers={"retry-after": "3"}, latency=0.2)
        async with health_watch(box) as health:
            comment_id = await comment(box, number, "/kep approve", "carol")
        health.assert_healthy()
        assert_approved_once(box, number, comment_id)
        assert time.waits.count(7.0) == 2 and 3.0 in time.waits
        assert 60.0 in time.waits, "no retry-after: the secondary limit's first back-off"
        run = await box.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")
        assert run.conclusion == "success"


async def test_commands_handled_out_of_order_keep_the_later_decision() -> None:
    """Two commands on one PR (approve, then implemented) whose deliveries are handled in
    the other order, as two instances or a late redelivery can: the branch must end where
    the comment history leads (implemented), not where the last-handled command pointed."""
    double = seed(app_credentials())
    async with proposal_pr(double) as (box, number):
        stable = GOOD_KEP.replace("stage: alpha", "stage: stable")  # implemented KEPs are stable
        review = demo.NEW_REVIEW + 'stable:\n  approver: "@wojtek-t"\n'
        changes: dict[str, str | None] = {KEP: stable, demo.NEW_REVIEW_PATH: review}
        double.push(REPO, BRANCH, changes, "graduate", "alice")
        first = double.add_comment(REPO, number, "/kep approve", "carol")
        second = double.add_comment(REPO, number, "/kep implemented", "dave")
        for made in (second, first):
            await box.deliver(issue_comment_event(double, REPO, made.id, "created"))
            await box.idle(WAIT)
        assert "status: implemented" in text_at(double)
        run = await box.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")
        assert run.conclusion == "success"


async def test_a_conflict_storm_on_one_branch_loses_nothing() -> None:
    """Two instances, every comment delivered to both and redelivered, human pushes to the
    proposal and its README meanwhile: one commit for the approval, every human edit kept,
    every comment acknowledged once, no reply twice."""
    credentials = app_credentials()
    double = seed(credentials)
    options = {"policy": quick_policy(base_delay=0.05)}
    async with (
        harness(double, credentials, client_options=options) as one,
        harness(double, credentials, client_options=options) as two,
    ):
        number = open_pr(double)
        await one.deliver(pull_request_event(double, REPO, number, "opened"))
        await one.idle(WAIT)
        double.inject("PUT", r"/contents/", None, times=None, latency=0.05)  # widen the races
        said = [
            ("bob", "/kep approve"),
            ("carol", "/kep approve"),
            ("dave", "/kep approve"),
            ("alice", "/kep help"),
            ("carol", "/kep status"),
        ]
        made = [double.add_comment(REPO, number, body, user) for user, body in said]

        async def deliver_all() -> None:
            sends = []
            for item in made:
                event = issue_comment_event(double, REPO, item.id, "created")
                sends += [one.deliver(event), two.deliver(event), two.deliver(event)]
            assert set(await asyncio.gather(*sends)) == {202}

        async def human_pushes() -> None:
            for index in range(4):
                await asyncio.sleep(0.03)
                before = double.branch_sha(REPO, BRANCH) or ""
                readme = text_at(double, README_PATH) + f"Edit {index}.\n"
                changes: dict[str, str | None] = {README_PATH: readme}
                if index == 1:  # a reviewer added to the proposal itself, on what is there now
                    reviewer = '  - "@bob"\n  - "@erin"\n'
                    changes[KEP] = text_at(double).replace('  - "@bob"\n', reviewer)
                double.push(REPO, BRANCH, changes, f"human edit {index}", "alice")
                event = pull_request_event(double, REPO, number, "synchronize", before=before)
                await (one if index % 2 else two).deliver(event)

        async with health_watch(one) as health:
            await asyncio.gather(deliver_all(), human_pushes())
            await one.idle(WAIT)
            await two.idle(WAIT)
        health.assert_healthy(while_busy=0)

        kep = text_at(double)
        assert "status: implementable" in kep and '  - "@erin"' in kep, "both changes kept"
        assert text_at(double, README_PATH).endswith("Edit 0.\nEdit 1.\nEdit 2.\nEdit 3.\n")
        assert len(bot_commits(double, APPROVED)) == 1
        for item in made:
            mine = reactions_by_bot(double, item.id)
            assert mine.count("eyes") == 1, (item.body, mine)
        replies = bot_comments(double, number)
        markers = [c.body.splitlines()[0] for c in replies]
        assert len(markers) == len(set(markers)), "no reply posted twice"
        assert sum("Not applied" in c.body for c in replies) == 1, "bob is no approver"
        assert sum("does not apply" in c.body for c in replies) == 1, "dave: already done"
        assert sum("/kep replace" in c.body for c in replies) == 1, "help answered once"
        head = double.branch_sha(REPO, BRANCH) or ""
        final = await one.check_run(REPO, head)
        assert final.conclusion == "success"


async def test_two_instances_checking_a_new_pr_keep_one_status_comment() -> None:
    """docs/design.md B2: one status comment per PR, edited in place, even when two instances (or a
    delivery and a reconcile pass) check the same new PR at the same moment."""
    credentials = app_credentials()
    double = seed(credentials)
    async with harness(double, credentials) as one, harness(double, credentials) as two:
        number = open_pr(double)
        double.inject("POST", rf"/issues/{number}/comments$", None, times=None, latency=0.3)
        opened = pull_request_event(double, REPO, number, "opened")
        synchronize = pull_request_event(double, REPO, number, "synchronize")
        assert list(await asyncio.gather(one.deliver(opened), two.deliver(synchronize))) == [
            202,
            202,
        ]
        await one.idle(WAIT)
        await two.idle(WAIT)
        kept = [c for c in bot_comments(double, number) if "kepbot:status" in c.body]
        assert len(kept) == 1, f"{len(kept)} status comments"
