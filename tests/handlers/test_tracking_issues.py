"""Tracking issues kept equal to the merged metadata (docs/design.md B9), through the real
server and the double: a merge that moves a KEP's stage and milestone moves its tracking
issue, reconcile puts back a bot-owned label a person changed and leaves the others alone,
and what each costs in requests (benchmarks/README.md, "Tracking issues")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot import demo
from bot.reconcile import Reconciler
from bot.sandbox.cost import route
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import ManualClock, app_credentials

REPO = demo.REPO
NUMBER = 900
FOLDER = f"keps/sig-node/{NUMBER}-graceful-budgets"
KEP = f"""\
title: Graceful budgets
kep-number: {NUMBER}
authors:
  - "@alice"
owning-sig: sig-node
status: implementable
creation-date: 2026-01-10
approvers:
  - "@carol"
stage: alpha
latest-milestone: "v1.36"
milestone:
  alpha: "v1.36"
"""
MOVED = (
    KEP.replace("stage: alpha", "stage: beta").replace(
        'latest-milestone: "v1.36"', 'latest-milestone: "v1.37"'
    )
    + '  beta: "v1.37"\n'
)
README = demo.NEW_README.replace("NNNN", str(NUMBER))

# The first sync of an issue the bot never touched: the merge moves stage and milestone.
FIRST_SYNC = sorted(
    [
        "GET issues/N",  # the tracking issue: its labels and milestone
        "GET issues/N/comments",  # the status comment and the implementations comment
        "POST labels",  # stage/beta, made with its colour
        "POST issues/N/labels",  # stage/beta added
        "DELETE issues/N/labels/{name}",  # stage/alpha removed
        "GET milestones",  # v1.37 looked up
        "POST milestones",  # and made: it was missing
        "PATCH issues/N",  # the issue put in v1.37
        "POST issues/N/comments",  # the status comment
        "GET issues/N/comments",  # read back: one status comment kept, were two made at once
    ]
)


@asynccontextmanager
async def seeded() -> AsyncIterator[tuple[Harness, ManualClock]]:
    clock = ManualClock()
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock)
    double.push(
        REPO, "main", {f"{FOLDER}/kep.yaml": KEP, f"{FOLDER}/README.md": README}, "KEP 900", "carol"
    )
    double.open_issue(REPO, "Graceful budgets", "Enhancement description.", "alice", number=NUMBER)
    double.label_issue(REPO, NUMBER, "stage/alpha", "sig/node", "tracked/yes", "lead-opted-in")
    async with harness(
        double, credentials, client_options={"clock": clock}, clock=clock.utc
    ) as box:
        yield box, clock


async def merge_move(box: Harness) -> list[RecordedRequest]:
    """A pull request that moves KEP 900 to beta in v1.37, merged; the requests of its
    `closed` delivery."""
    number = box.double.open_pull_request(
        REPO, "kep-900-beta", {f"{FOLDER}/kep.yaml": MOVED}, "KEP-900: beta", author="alice"
    )
    box.double.merge(REPO, number)
    start = len(box.double.requests)
    assert await box.deliver(pull_request_event(box.double, REPO, number, "closed")) == 202
    await box.idle(60)
    return box.double.requests[start:]


def on_issue(made: list[RecordedRequest]) -> list[str]:
    """The requests about the tracking issue, its labels and milestones."""
    wanted = (f"/issues/{NUMBER}", "/milestones", f"/repos/{REPO}/labels")
    return sorted(route(r) for r in made if any(part in r.path for part in wanted))


def status_comment(box: Harness) -> str:
    found = [
        c.body
        for c in box.double.comments(REPO, NUMBER)
        if c.user.endswith("[bot]") and "kepbot:tracking-status" in c.body
    ]
    assert len(found) == 1
    return found[0]


async def test_a_merge_that_moves_stage_and_milestone_moves_the_tracking_issue() -> None:
    async with seeded() as (box, _):
        made = await merge_move(box)
        labels = box.double.labels(REPO, NUMBER)
        assert "stage/beta" in labels and "stage/alpha" not in labels
        assert {"sig/node", "tracked/yes", "lead-opted-in"} <= set(labels)  # not the bot's
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"
        assert box.double.issue(REPO, NUMBER).body == "Enhancement description."
        text = status_comment(box)
        assert "| stage | beta |" in text and "| latest milestone | v1.37 |" in text
        assert "alpha v1.36 · beta v1.37" in text and f"{FOLDER}/kep.yaml" in text
        assert on_issue(made) == FIRST_SYNC
        assert box.double.repo_labels(REPO)["stage/beta"].color == "c2e0c6"


async def test_a_second_sync_with_nothing_changed_writes_nothing() -> None:
    async with seeded() as (box, _):
        await merge_move(box)
        start = len(box.double.requests)
        again = await merge_move_again(box)
        assert sorted(route(r) for r in again) == ["GET issues/N", "GET issues/N/comments"]
        # conditional: the issue moved with the first sync's writes (200), the thread did not
        assert [r.status for r in again] == [200, 304]
        assert len([r for r in box.double.requests[start:] if "/milestones" in r.path]) == 0


async def merge_move_again(box: Harness) -> list[RecordedRequest]:
    """Another merged pull request that touches KEP 900 without moving what the issue shows."""
    readme = README + "More text.\n"
    number = box.double.open_pull_request(
        REPO,
        "kep-900-text",
        {f"{FOLDER}/kep.yaml": MOVED + "# a comment\n", f"{FOLDER}/README.md": readme},
        "KEP-900: text",
        author="alice",
    )
    box.double.merge(REPO, number)
    start = len(box.double.requests)
    await box.deliver(pull_request_event(box.double, REPO, number, "closed"))
    await box.idle(60)
    return [r for r in box.double.requests[start:] if f"/issues/{NUMBER}" in r.path]


async def test_reconcile_puts_back_a_bot_label_changed_by_hand_and_leaves_the_others() -> None:
    async with seeded() as (box, clock):
        await merge_move(box)
        reconciler = Reconciler(box.bot)
        await reconciler.pass_once()  # the first pass: the issue the merge synced is as wanted
        clock.advance(600)
        issue = box.double.issue(REPO, NUMBER)
        issue.labels = [n for n in issue.labels if n != "stage/beta"]
        box.double.label_issue(REPO, NUMBER, "stage/stable", "priority/important")
        box.double.set_milestone(REPO, NUMBER, "v1.38")
        start = len(box.double.requests)
        await reconciler.pass_once()
        made = box.double.requests[start:]
        labels = box.double.labels(REPO, NUMBER)
        assert "stage/beta" in labels and "stage/stable" not in labels
        assert {"sig/node", "tracked/yes", "lead-opted-in", "priority/important"} <= set(labels)
        assert box.double.milestone_of(REPO, NUMBER) == "v1.37"
        assert on_issue(made) == sorted(
            [
                "GET issues/N/comments?since",  # the status comment (the issue came listed)
                "POST issues/N/labels",
                "DELETE issues/N/labels/{name}",
                "GET milestones",
                "PATCH issues/N",
            ]
        )
        searches = [r for r in made if r.path == "/search/issues"]
        assert len(searches) == 1 and "updated:>=" in searches[0].query["q"]


async def test_a_reconcile_pass_with_no_issue_updated_costs_one_search() -> None:
    async with seeded() as (box, clock):
        await merge_move(box)
        reconciler = Reconciler(box.bot)
        await reconciler.pass_once()
        clock.advance(600)
        await reconciler.pass_once()  # sees what the first pass's writes moved, if any
        clock.advance(600)
        start = len(box.double.requests)
        await reconciler.pass_once()
        made = box.double.requests[start:]
        assert [r for r in made if r.path == "/search/issues"] != []
        assert on_issue(made) == []


@pytest.mark.parametrize("value", ["v1.37; DROP", "../v1.37", "v1.37\n- x"])
async def test_a_latest_milestone_that_is_no_milestone_name_is_not_set(value: str) -> None:
    async with seeded() as (box, _):
        bad = MOVED.replace('latest-milestone: "v1.37"', f"latest-milestone: {value!r}")
        number = box.double.open_pull_request(
            REPO, "bad", {f"{FOLDER}/kep.yaml": bad}, "KEP-900", author="alice"
        )
        box.double.merge(REPO, number)
        await box.deliver(pull_request_event(box.double, REPO, number, "closed"))
        await box.idle(60)
        assert box.double.milestone_of(REPO, NUMBER) is None
        assert box.double.milestones(REPO) == []
        assert "is not a milestone name" in status_comment(box)
        assert "stage/beta" in box.double.labels(REPO, NUMBER)


async def test_a_pull_request_numbered_as_the_kep_is_no_tracking_issue() -> None:
    async with seeded() as (box, _):
        other = "keps/sig-node/753-sidecar-containers/kep.yaml"
        kep = (box.double.file_at(REPO, "main", other) or b"").decode()
        number = box.double.open_pull_request(
            REPO, "sidecar", {other: kep.replace("v1.33", "v1.34")}, "KEP-753", author="alice"
        )
        box.double.merge(REPO, number)
        start = len(box.double.requests)
        await box.deliver(pull_request_event(box.double, REPO, number, "closed"))
        await box.idle(60)
        made = box.double.requests[start:]
        assert [r for r in made if "/milestones" in r.path] == []
        assert [r for r in made if r.path.endswith("/issues/753")] != []  # looked, found none
        assert box.double.milestones(REPO) == []
