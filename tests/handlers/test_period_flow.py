"""Comment periods end to end: `fcp` by every listed approver starts a ten-day period; the
reconcile pass makes the move when it has run out; a concern pauses it until resolved; a
bot that was stopped and started again finishes a period that ran out while it was down.

One clock drives the double (comment and reaction times, tokens) and the bot, and moves
only when a test advances it.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kep_pr import EXISTING_DIR, EXISTING_KEP, EXISTING_README, bot_replies, seed_existing
from test_links import K8S, SIDECAR, World, started

from bot import demo
from bot.reconcile import Reconciler
from bot.routing import Bot
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event
from bot.sandbox.testing import AppCredentials, ManualClock

REPO = demo.REPO
BRANCH = "fcp"
DAY = 86400.0
PERIOD_CONFIG = """\
extends: kep
transitions:
  - {to: provisional, from: [new, deferred], verbs: [accept]}
  - to: implementable
    from: [new, provisional, deferred]
    verbs: [approve]
    quorum: all
    period: {days: 10}
  - {to: deferred, from: [new, provisional, implementable], verbs: [defer]}
"""


def seeded(credentials: AppCredentials, clock: ManualClock) -> GitHubDouble:
    double = demo.seed(credentials, clock=clock)
    double.add_user("eve")
    double.push(REPO, "main", {".github/kepbot.yml": PERIOD_CONFIG})
    return double


@asynccontextmanager
async def running(
    double: GitHubDouble, credentials: AppCredentials, clock: ManualClock, **settings: object
) -> AsyncIterator[Harness]:
    async with harness(
        double,
        credentials,
        client_options={"clock": clock},
        clock=clock.utc,
        settings=dict(settings),
    ) as box:
        yield box


@asynccontextmanager
async def fcp_pr(credentials: AppCredentials) -> AsyncIterator[tuple[Harness, ManualClock, int]]:
    """The bot, its clock, and a PR on the existing KEP whose period is not started yet."""
    clock = ManualClock()
    double = seeded(credentials, clock)
    seed_existing(double)
    async with running(double, credentials, clock) as box:
        yield box, clock, open_pr(box)


def open_pr(box: Harness) -> int:
    readme = {f"{EXISTING_DIR}/README.md": EXISTING_README + "More text.\n"}
    return box.double.open_pull_request(REPO, BRANCH, readme, "FCP", "", author="alice")


async def comment(box: Harness, number: int, body: str, user: str) -> int:
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle()
    return made.id


def status(box: Harness) -> str:
    text = (box.double.file_at(REPO, BRANCH, EXISTING_KEP) or b"").decode()
    return next(line for line in text.splitlines() if line.startswith("status:"))


def answers(box: Harness, number: int) -> list[str]:
    """The bot's replies to commands (each quotes its command), not its status comment."""
    return [body for body in bot_replies(box, number) if "\n> " in body]


def status_comment(box: Harness, number: int) -> str:
    (found,) = [body for body in bot_replies(box, number) if "**KEP status**" in body]
    return found


async def both_approvers_start_it(box: Harness, number: int) -> None:
    await comment(box, number, "/kep fcp approve", "carol")
    (recorded,) = [r for r in bot_replies(box, number) if "Recorded" in r]
    assert "1 of 2" in recorded and "still needed from `dave`" in recorded
    assert "Comment periods" not in status_comment(box, number)
    await comment(box, number, "/kep fcp approve", "dave")
    (started,) = [r for r in answers(box, number) if "comment period for" in r]
    assert "ends " in started and "unless a concern is raised" in started


async def test_a_period_completes_and_the_bot_makes_the_move(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        await comment(box, number, "/kep approve", "carol")
        assert any("only after a comment period of 10 days" in r for r in bot_replies(box, number))
        await both_approvers_start_it(box, number)
        assert "ends " in status_comment(box, number)
        commits = len(box.double.commits(REPO, BRANCH))

        clock.advance(10 * DAY - 60)
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: provisional", "a minute early"
        assert len(box.double.commits(REPO, BRANCH)) == commits

        clock.advance(120)
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: implementable"
        moves = [c.message for _, c in box.double.commits(REPO, BRANCH) if "→ impl" in c.message]
        assert len(moves) == 1 and "/kep fcp approve" in moves[0]
        ended = [r for r in bot_replies(box, number) if "with no concern open" in r]
        assert len(ended) == 1 and "`@dave`" in ended[0]
        run = await box.check_run(REPO, box.double.branch_sha(REPO, BRANCH) or "")
        assert run.conclusion == "success"

        await Reconciler(box.bot).pass_once()  # idempotent: nothing more
        assert len(box.double.commits(REPO, BRANCH)) == commits + 1
        assert len([r for r in bot_replies(box, number) if "with no concern open" in r]) == 1


async def test_a_concern_blocks_the_period_until_it_is_resolved(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        await both_approvers_start_it(box, number)

        clock.advance(2 * DAY)
        spam = await comment(box, number, "/kep concern spam", "eve")  # eve holds no role
        assert {r.content for r in box.double.reactions(REPO, comment_id=spam)} >= {"-1"}
        await comment(box, number, "/kep concern naming", "bob")  # bob is a reviewer
        paused = status_comment(box, number)
        assert "paused by open concerns: `naming` (by `@bob`)" in paused
        assert "`spam`" not in paused and "192 hours will remain" in paused

        clock.advance(9 * DAY)  # day 11: the period would have ended without the concern
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: provisional"

        await comment(box, number, "/kep resolve naming", "eve")  # not the raiser, no approver
        assert "paused" in status_comment(box, number)
        await comment(box, number, "/kep resolve naming", "bob")
        assert "ends " in status_comment(box, number)

        clock.advance(8 * DAY - 60)  # 2 days ran before the pause, 8 are left
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: provisional"
        clock.advance(120)
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: implementable"


async def test_a_period_that_ran_out_while_no_bot_ran_completes_at_start_up(
    credentials: AppCredentials,
) -> None:
    clock = ManualClock()
    double = seeded(credentials, clock)
    seed_existing(double)
    async with running(double, credentials, clock) as first:
        number = open_pr(first)
        await both_approvers_start_it(first, number)
    # The bot is gone: its process, caches and tasks. Eleven days pass.
    clock.advance(11 * DAY)
    assert status_of(double) == "status: provisional"
    async with running(double, credentials, clock, kepbot_reconcile_seconds=3600) as second:
        await second.until(lambda: status_of(double) == "status: implementable")
        await second.until(lambda: any("no concern open" in r for r in bot_replies(second, number)))
        run = await second.check_run(REPO, double.branch_sha(REPO, BRANCH) or "")
        assert run.conclusion == "success"


def status_of(double: GitHubDouble) -> str:
    text = (double.file_at(REPO, BRANCH, EXISTING_KEP) or b"").decode()
    return next(line for line in text.splitlines() if line.startswith("status:"))


async def test_fcp_usage_errors_and_dry_run(credentials: AppCredentials) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        await comment(box, number, "/kep fcp defer", "carol")
        assert any(
            "is not a transition with a comment period" in r for r in bot_replies(box, number)
        )
        await comment(box, number, "/kep fcp approve --dry-run", "carol")
        assert any(r.count("Dry run") == 1 and "Recorded" in r for r in bot_replies(box, number))
        await comment(box, number, "/kep fcp approve", "dave")
        assert any("1 of 2" in r and "`dave`" in r for r in bot_replies(box, number)), (
            "carol's dry run was no vote"
        )
        clock.advance(30 * DAY)
        await Reconciler(box.bot).pass_once()
        assert status(box) == "status: provisional"


async def test_two_instances_finishing_one_period_move_and_announce_it_once(
    credentials: AppCredentials,
) -> None:
    async with fcp_pr(credentials) as (box, clock, number):
        await both_approvers_start_it(box, number)
        commits = len(box.double.commits(REPO, BRANCH))
        clock.advance(10 * DAY + 60)
        # Slow comment posts: both instances have read the thread before either posts.
        box.double.inject("POST", r"/issues/\d+/comments$", latency=0.5, times=2)
        other = Bot(box.bot.settings, client_options={"clock": clock}, clock=clock.utc)
        await other.start()
        try:
            await asyncio.gather(Reconciler(box.bot).pass_once(), Reconciler(other).pass_once())
        finally:
            await other.close()
        assert status(box) == "status: implementable"
        assert len(box.double.commits(REPO, BRANCH)) == commits + 1
        assert len([r for r in bot_replies(box, number) if "no concern open" in r]) == 1


# KEP-753's withdrawal waits a day-long period, and then its implementation PRs.
WITHDRAW_AFTER_IMPLEMENTATIONS = (
    "extends: kep\nimplementations:\n  require-merged: [withdrawn]\ntransitions:\n"
    "  - {to: withdrawn, from: ['*'], verbs: [withdraw], period: {days: 1}}\n"
)


async def withdrawal_waiting(world: World) -> tuple[int, int]:
    """An open implementation PR in K8S citing KEP-753, and a PR withdrawing KEP-753 whose
    period carol started: (the implementation PR, the withdrawal PR)."""
    implementation = world.open(K8S, "Implements KEP-753.")
    await world.event(K8S, implementation, "opened")
    readme = f"{SIDECAR}/README.md"
    text = (world.double.file_at(REPO, "main", readme) or b"").decode() + "Withdrawn.\n"
    number = world.double.open_pull_request(
        REPO, "withdraw", {readme: text}, "Withdraw", author="alice"
    )
    await world.comment(REPO, number, "/kep fcp withdraw", "carol")
    return implementation, number


async def test_a_period_ending_waits_for_the_linked_implementations_to_merge() -> None:
    clock = ManualClock()
    async with started(WITHDRAW_AFTER_IMPLEMENTATIONS, clock) as world:
        implementation, number = await withdrawal_waiting(world)
        clock.advance(DAY + 60)

        await Reconciler(world.box.bot).pass_once()
        kep = f"{SIDECAR}/kep.yaml"
        assert b"status: implemented" in (world.double.file_at(REPO, "withdraw", kep) or b"")
        waiting = [c for c in bot_replies(world.box, number) if "only once its implementation" in c]
        assert len(waiting) == 1 and f"{K8S}#\u200d{implementation}" in waiting[0]

        world.double.merge(K8S, implementation)
        await world.event(K8S, implementation, "closed")
        await Reconciler(world.box.bot).pass_once()
        assert b"status: withdrawn" in (world.double.file_at(REPO, "withdraw", kep) or b"")
