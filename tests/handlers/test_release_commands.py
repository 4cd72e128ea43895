"""`/kep track <milestone>` and `/kep untrack` (docs/design.md B10) through the real server
and the double: a SIG lead opts a KEP in on its tracking issue or on a pull request that
changes it; anyone else is refused with one reply, and nothing changes; the milestone
argument is checked before any request; and what an opt-in costs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from test_tracking_issues import FOLDER, KEP, NUMBER, README, REPO

from bot import demo
from bot.reconcile import Reconciler
from bot.sandbox.cost import route
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import app_credentials

ALIASES = demo.OWNERS_ALIASES + "  sig-node-leads:\n    - carol\n"
OPT_IN = "lead-opted-in"
# carol opts KEP 900 in on its tracking issue, which the bot has not synced before.
TRACK_ON_ISSUE = sorted(
    [
        "GET issues/N",  # the tracking issue
        "GET issues/N/comments",  # the status comment, for the opt-in it records
        "POST labels",  # lead-opted-in, made with its colour
        "POST labels",  # stage/alpha
        "POST issues/N/labels",  # both added in one request
        "GET milestones",  # v1.37 looked up
        "POST milestones",  # and made
        "PATCH issues/N",  # the issue put in v1.37
        "POST issues/N/comments",  # the status comment, with the opt-in
        "GET issues/N/comments",  # read back: one status comment kept
        "POST issues/comments/N/reactions",  # 👀: the claim
        "POST issues/comments/N/reactions",  # 👍
    ]
)
# Besides: the default branch's tree and KEP 900's kep.yaml (which KEP the issue tracks),
# and OWNERS_ALIASES (who leads sig-node).
FIND_AND_AUTHORISE = sorted(["GET git/trees/main", "GET git/blobs/{sha}", "GET contents/{path}"])


@asynccontextmanager
async def seeded() -> AsyncIterator[Harness]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    files = {f"{FOLDER}/kep.yaml": KEP, f"{FOLDER}/README.md": README, "OWNERS_ALIASES": ALIASES}
    double.push(REPO, "main", files, "KEP 900", "carol")
    double.open_issue(REPO, "Graceful budgets", "Enhancement description.", "alice", number=NUMBER)
    double.label_issue(REPO, NUMBER, "sig/node", "tracked/yes")
    async with harness(double, credentials) as box:
        yield box


async def say(box: Harness, number: int, body: str, login: str) -> list[RecordedRequest]:
    made = box.double.add_comment(REPO, number, body, login)
    start = len(box.double.requests)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle(60)
    return box.double.requests[start:]


def outcome(box: Harness, number: int) -> set[str]:
    """The bot's reactions on the last comment of `number`."""
    people = [c for c in box.double.comments(REPO, number) if not c.user.endswith("[bot]")]
    return {
        r.content
        for r in box.double.reactions(REPO, comment_id=people[-1].id)
        if r.user.endswith("[bot]")
    }


def replies(box: Harness, number: int) -> list[str]:
    return [
        c.body
        for c in box.double.comments(REPO, number)
        if c.user.endswith("[bot]") and "kepbot:tracking-status" not in c.body
    ]


async def test_a_sig_lead_opts_the_kep_in_on_its_tracking_issue() -> None:
    async with seeded() as box:
        made = await say(box, NUMBER, "/kep track v1.37", "carol")
        assert OPT_IN in box.double.labels(REPO, NUMBER)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"
        assert {"sig/node", "tracked/yes", "stage/alpha"} <= set(box.double.labels(REPO, NUMBER))
        assert outcome(box, NUMBER) == {"eyes", "+1"}
        assert replies(box, NUMBER) == []
        status = [c.body for c in box.double.comments(REPO, NUMBER) if "tracking-status" in c.body]
        assert len(status) == 1 and "| opted in for a release | v1.37 by @carol |" in status[0]
        repo_reads = sorted(route(r) for r in made if r.path.startswith(f"/repos/{REPO}/"))
        config = ["GET contents/{path}"]  # .github/kepbot.yml: none, the preset
        assert repo_reads == sorted(TRACK_ON_ISSUE + FIND_AND_AUTHORISE + config)


async def test_someone_who_is_no_sig_lead_is_refused_once_and_nothing_changes() -> None:
    async with seeded() as box:
        made = await say(box, NUMBER, "/kep track v1.37\n/kep untrack", "bob")
        assert OPT_IN not in box.double.labels(REPO, NUMBER)
        assert box.double.milestone_of(REPO, NUMBER) is None
        assert box.double.milestones(REPO) == []
        assert outcome(box, NUMBER) == {"eyes", "-1"}
        (reply,) = replies(box, NUMBER)
        assert "`@bob` may not" in reply and "`sig-node-leads`" in reply and "`@carol`" in reply
        assert [r for r in made if r.method in ("PATCH", "DELETE")] == []


async def test_untrack_takes_the_label_and_the_milestone_back_and_sync_keeps_it_so() -> None:
    async with seeded() as box:
        await say(box, NUMBER, "/kep track v1.36", "carol")
        assert box.double.milestone_of(REPO, NUMBER) == "v1.36"
        await say(box, NUMBER, "/kep untrack", "carol")
        assert OPT_IN not in box.double.labels(REPO, NUMBER)
        # KEP 900's latest milestone is v1.36 too: the opt-out is not undone by the metadata
        assert box.double.milestone_of(REPO, NUMBER) is None
        assert outcome(box, NUMBER) == {"eyes", "+1"}


@pytest.mark.parametrize("argument", ["", "1.37", "v1.37 v1.38", "v1.37;rm", "@bob"])
async def test_a_milestone_argument_that_is_no_milestone_name_is_refused_before_any_write(
    argument: str,
) -> None:
    async with seeded() as box:
        made = await say(box, NUMBER, f"/kep track {argument}", "carol")
        assert outcome(box, NUMBER) == {"eyes", "-1"}
        assert [r for r in made if "/milestones" in r.path or r.method == "PATCH"] == []
        assert OPT_IN not in box.double.labels(REPO, NUMBER)
        (reply,) = replies(box, NUMBER)
        assert "milestone" in reply and "@bob" not in reply.replace("`@bob", "")


async def test_an_issue_that_tracks_no_kep_is_answered_so() -> None:
    async with seeded() as box:
        other = box.double.open_issue(REPO, "A question")
        await say(box, other, "/kep track v1.37", "carol")
        assert outcome(box, other) == {"eyes", "-1"}
        (reply,) = replies(box, other)
        assert f"#{other} is no KEP's tracking issue" in reply


async def test_a_sig_lead_opts_the_kep_in_from_a_pull_request_that_changes_it() -> None:
    async with seeded() as box:
        number = box.double.open_pull_request(
            REPO, "kep-900", {f"{FOLDER}/README.md": README + "More.\n"}, "KEP-900", author="alice"
        )
        await say(box, number, "/kep track v1.37", "carol")
        assert OPT_IN in box.double.labels(REPO, NUMBER)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"
        assert outcome(box, number) == {"eyes", "+1"}
        await say(box, number, "/kep untrack", "bob")
        assert outcome(box, number) == {"eyes", "-1"}
        assert OPT_IN in box.double.labels(REPO, NUMBER)


async def test_an_edit_by_someone_else_runs_nothing() -> None:
    async with seeded() as box:
        box.double.set_permission(REPO, "carol", "maintain")  # may edit others' comments
        made = box.double.add_comment(REPO, NUMBER, "Plans.", "bob")
        box.double.edit_comment(REPO, made.id, "Plans.\n/kep track v1.37", by="carol")
        event = issue_comment_event(box.double, REPO, made.id, "edited", sender="carol")
        assert await box.deliver(event) == 202
        await box.idle(60)
        assert OPT_IN not in box.double.labels(REPO, NUMBER)
        assert box.double.reactions(REPO, comment_id=made.id) == []
        assert box.double.milestones(REPO) == []


async def test_an_edit_by_its_author_runs_only_the_commands_it_added() -> None:
    async with seeded() as box:
        made = box.double.add_comment(REPO, NUMBER, "/kep track v1.36", "carol")
        await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
        await box.idle(60)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.36"
        box.double.set_milestone(REPO, NUMBER, "v1.35")  # a person moved it since
        box.double.edit_comment(REPO, made.id, "/kep track v1.36\n/kep track v1.37")
        event = issue_comment_event(box.double, REPO, made.id, "edited", sender="carol")
        await box.deliver(event)
        await box.idle(60)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"


async def test_an_opt_in_whose_delivery_never_came_is_run_by_reconcile_once() -> None:
    async with seeded() as box:
        made = box.double.add_comment(REPO, NUMBER, "/kep track v1.37", "carol")  # no delivery
        reconciler = Reconciler(box.bot)
        await reconciler.pass_once()
        assert OPT_IN in box.double.labels(REPO, NUMBER)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"
        mine = {r.content for r in box.double.reactions(REPO, comment_id=made.id)}
        assert mine == {"eyes", "+1"}
        start = len(box.double.requests)
        await reconciler.pass_once()  # the issue moved (the bot's writes): looked at again
        again = box.double.requests[start:]
        assert [r for r in again if r.method in ("POST", "PATCH", "DELETE")] == []
