"""What a reconcile pass costs (docs/design.md B8): with nothing changed, the lists of open
pull requests and nothing else, however many there are; only the pull requests that moved,
or whose due time came, are looked at; and what reconcile exists for still happens on the
next pass (a missed command, a claim whose grace ran out, a comment period's end).

One clock drives the double and the bot, and moves only when a test advances it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from kep_pr import bot_replies
from test_links import K8S, SIDECAR, started
from test_period_flow import (
    DAY,
    WITHDRAW_AFTER_IMPLEMENTATIONS,
    both_approvers_start_it,
    fcp_pr,
    status,
    withdrawal_waiting,
)

from bot import demo
from bot.github.comments import claim
from bot.reconcile import Reconciler
from bot.sandbox.cost import kep_folder, open_checked_pr
from bot.sandbox.harness import Harness, harness
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import AppCredentials, ManualClock, app_credentials

REPO = demo.REPO
KEP_PULLS = 30  # checked KEP pull requests; the rest of a larger count change docs only
OPEN_PULLS = "GET pulls?direction=desc&per_page=100&sort=updated&state=open"


def open_pulls_page(page: int) -> str:
    """The request for page `page` of the open pull requests, as `route` shows it."""
    return OPEN_PULLS if page == 1 else OPEN_PULLS.replace("&per_page", f"&page={page}&per_page")


@asynccontextmanager
async def clocked() -> AsyncIterator[tuple[Harness, ManualClock]]:
    """The bot on the demo repository, it and the double on one manual clock."""
    clock = ManualClock()
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock)
    async with harness(
        double, credentials, client_options={"clock": clock}, clock=clock.utc
    ) as box:
        yield box, clock


# The tracking issues updated since the last pass (docs/design.md B9): one search per
# installation, from GitHub's search budget (30 a minute), not the 5,000 an hour.
TRACKING_SEARCH = ("GET /search/issues", 200)


def route(request: RecordedRequest) -> str:
    if request.path == "/search/issues":
        return "GET /search/issues"
    path = request.path.removeprefix(f"/repos/{REPO}/")
    query = "&".join(f"{key}={value}" for key, value in sorted(request.query.items()))
    return f"{request.method} {path}" + (f"?{query}" if query else "")


def looked_at(box: Harness, start: int) -> set[int]:
    """The pull requests whose comments were read since request `start` (every look at a
    proposal pull request reads its thread)."""
    found = set()
    for request in box.double.requests[start:]:
        parts = request.path.removeprefix(f"/repos/{REPO}/").split("/")
        if request.method == "GET" and parts[0] == "issues" and parts[-1] == "comments":
            found.add(int(parts[1]))
    return found


async def open_pulls(box: Harness, count: int) -> list[int]:
    """`count` open pull requests: up to 30 checked KEP ones, then ones that change docs."""
    numbers = [await open_checked_pr(box, index) for index in range(min(count, KEP_PULLS))]
    for index in range(count - len(numbers)):
        files: dict[str, str | None] = {f"docs/note-{index}.md": "A note.\n"}
        numbers.append(
            box.double.open_pull_request(REPO, f"docs-{index}", files, "Docs", author="bob")
        )
    return numbers


@pytest.mark.parametrize("count", [30, 150])
async def test_a_pass_with_nothing_changed_costs_the_lists_alone(count: int) -> None:
    async with clocked() as (box, clock):
        await open_pulls(box, count)
        reconciler = Reconciler(box.bot)
        clock.advance(60)
        first = await reconciler.pass_once()
        assert (first.listed, first.pulls) == (count, count), "a first pass looks at all"
        clock.advance(900)
        start = len(box.double.requests)
        idle = await reconciler.pass_once()
        made = box.double.requests[start:]
        assert (idle.listed, idle.pulls, idle.commands) == (count, 0, 0)
        pages = range(1, (count + 99) // 100 + 1)  # one request per 100 open pull requests
        expected = [
            ("GET /app/installations", 200),  # with the App's JWT: not the installation's budget
            ("GET /installation/repositories?per_page=100", 304),
            *((open_pulls_page(page), 304) for page in pages),
            TRACKING_SEARCH,
        ]
        assert sorted((route(r), r.status) for r in made) == sorted(expected)
        core = [r for r in made if r.path != "/search/issues"]
        assert [r for r in core if r.identity.startswith("installation") and r.status != 304] == []
        assert reconciler.remembered() == count


async def test_a_renewed_token_reads_the_lists_again_and_looks_at_nothing() -> None:
    """GitHub's ETags belong to the token that got them: the first pass after the hourly
    renewal pays for the lists (one request per 100 open pull requests), no more."""
    async with clocked() as (box, clock):
        await open_pulls(box, 3)
        reconciler = Reconciler(box.bot)
        clock.advance(60)
        await reconciler.pass_once()
        clock.advance(3600)
        start = len(box.double.requests)
        assert (await reconciler.pass_once()).pulls == 0
        assert [(route(r), r.status) for r in box.double.requests[start:]] == [
            ("GET /app/installations", 200),
            ("POST /app/installations/1/access_tokens", 201),
            ("GET /installation/repositories?per_page=100", 200),
            (OPEN_PULLS, 200),
            TRACKING_SEARCH,
        ]


async def test_only_the_pull_requests_that_moved_are_looked_at() -> None:
    async with clocked() as (box, clock):
        numbers = await open_pulls(box, 5)
        reconciler = Reconciler(box.bot)
        clock.advance(60)
        await reconciler.pass_once()
        clock.advance(600)
        readme = f"{kep_folder(1)}/README.md"
        text = (box.double.file_at(REPO, "kep-1", readme) or b"").decode() + "More.\n"
        pushed = box.double.push(REPO, "kep-1", {readme: text}, "Edit", "alice")  # no delivery
        missed = box.double.add_comment(REPO, numbers[3], "/kep approve", "carol")  # lost
        box.double.add_comment(REPO, numbers[4], "Reading it.", "bob")  # lost too
        clock.advance(60)
        start = len(box.double.requests)
        moved = await reconciler.pass_once()
        assert looked_at(box, start) == {numbers[1], numbers[3], numbers[4]}
        assert (moved.listed, moved.pulls, moved.commands) == (5, 3, 1)
        assert len(box.double.check_runs(REPO, pushed)) == 1, "the new head got its check"
        reactions = {r.content for r in box.double.reactions(REPO, comment_id=missed.id)}
        assert reactions == {"eyes", "+1"}, "the missed command ran"
        clock.advance(900)
        start = len(box.double.requests)
        after = await reconciler.pass_once()  # what the command did is looked at once more
        assert numbers[3] in looked_at(box, start) and after.commands == 0
        clock.advance(900)
        assert (await reconciler.pass_once()).pulls == 0, "then nothing moves any more"


async def test_a_claim_whose_grace_runs_out_is_run_on_the_pass_after_it() -> None:
    async with clocked() as (box, clock):
        (number,) = await open_pulls(box, 1)
        reconciler = Reconciler(box.bot, grace=600)
        clock.advance(60)
        await reconciler.pass_once()
        made = box.double.add_comment(REPO, number, "/kep approve", "carol")
        ctx = await box.bot.context(1)
        assert await claim(ctx.gh, REPO, comment_id=made.id)  # an instance claimed it, died
        clock.advance(60)
        seen = await reconciler.pass_once()
        assert (seen.pulls, seen.commands) == (1, 0), "looked at (it moved), still in grace"
        clock.advance(300)
        assert (await reconciler.pass_once()).pulls == 0, "not moved, grace not over"
        clock.advance(300)
        ran = await reconciler.pass_once()
        assert (ran.pulls, ran.commands) == (1, 1), "the grace ended: looked at and run"
        reactions = {r.content for r in box.double.reactions(REPO, comment_id=made.id)}
        assert reactions == {"eyes", "+1"}


async def test_a_comment_period_is_looked_at_when_it_ends_and_not_before(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        await both_approvers_start_it(box, number)
        reconciler = Reconciler(box.bot)
        clock.advance(60)
        assert (await reconciler.pass_once()).pulls == 1
        clock.advance(5 * DAY)
        assert (await reconciler.pass_once()).pulls == 0, "half-way: nothing to look at"
        assert status(box) == "status: provisional"
        clock.advance(5 * DAY)
        assert (await reconciler.pass_once()).pulls == 1, "its end is due"
        assert status(box) == "status: implementable"


async def test_a_move_waiting_for_implementations_is_looked_at_on_every_pass() -> None:
    """The move of an ended period that waits for linked implementation PRs to merge is made
    on the first pass after they have, although its own pull request does not move."""
    clock = ManualClock()
    async with started(WITHDRAW_AFTER_IMPLEMENTATIONS, clock) as world:
        implementation, number = await withdrawal_waiting(world)
        reconciler = Reconciler(world.box.bot)
        clock.advance(DAY + 60)
        await reconciler.pass_once()
        waiting = [c for c in bot_replies(world.box, number) if "only once its implementation" in c]
        assert len(waiting) == 1
        clock.advance(900)
        await reconciler.pass_once()
        clock.advance(900)
        start = len(world.double.requests)
        assert (await reconciler.pass_once()).pulls >= 1
        assert number in looked_at(world.box, start), "due although it did not move"
        world.double.merge(K8S, implementation)
        await world.event(K8S, implementation, "closed")
        clock.advance(900)
        await reconciler.pass_once()
        kep = f"{SIDECAR}/kep.yaml"
        assert b"status: withdrawn" in (world.double.file_at(REPO, "withdraw", kep) or b"")


async def test_a_repository_that_keeps_no_tracking_issues_costs_no_search() -> None:
    """The search for tracking issues runs only for installations where some repository's
    configuration keeps them (the kep preset does; gep does not)."""
    async with clocked() as (box, clock):
        box.double.push(REPO, "main", {".github/kepbot.yml": "extends: gep\n"}, "gep", "admin")
        reconciler = Reconciler(box.bot)
        clock.advance(60)
        await reconciler.pass_once()
        clock.advance(900)
        start = len(box.double.requests)
        await reconciler.pass_once()
        assert [r for r in box.double.requests if r.path == "/search/issues"] == []
        assert [route(r) for r in box.double.requests[start:]] == [
            "GET /app/installations",
            "GET /installation/repositories?per_page=100",
            OPEN_PULLS,
        ]
