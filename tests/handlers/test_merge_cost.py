"""What a merge costs in GitHub requests (docs/design.md C6: at most 12 requests in 8
sequential round trips, number, rename and comment included), and that what makes it
cheap never makes it wrong: a base branch that moved past the merge commit is planned on
as it is, and the delivery reads the PR's comments once.

The delivery of a merged PR's `closed` event goes through the real server; the request
lists are read from the double's log, with 20 ms added to every answer for the round trips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import demo
from bot.sandbox.cost import KEP, critical_path, kep_folder, open_checked_pr, route
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import AppCredentials, app_credentials

REPO = demo.REPO
LATENCY = 0.02
# The merge of a PR whose check this bot ran: its file list and files are known.
MERGE = sorted(
    [
        "GET branches/main",  # where the base branch is, beside the plan on the merge commit
        "GET git/trees/{sha}",  # the merge commit's files with their blob shas
        "GET git/matching-refs/kepbot/numbers",  # the reserved numbers
        "GET issues/N/comments",  # the thread the numbers comment is checked against
        "POST git/refs",  # reserve the number
        "POST git/trees",  # number, rename, index: one tree
        "POST git/commits",
        "PATCH git/refs/heads/main",  # fast-forward only
        "POST issues/N/comments",  # the numbers comment
    ]
)
# A merge this bot saw nothing of: the PR's file list and its two files are read too.
COLD = sorted([*MERGE, "GET pulls/N/files", "GET git/blobs/{sha}", "GET git/blobs/{sha}"])


@pytest.fixture
def credentials() -> AppCredentials:
    return app_credentials()


@pytest.fixture
async def box(credentials: AppCredentials) -> AsyncIterator[Harness]:
    async with harness(demo.seed(credentials), credentials) as running:
        yield running


async def merged(box: Harness, number: int) -> list[RecordedRequest]:
    """Merge PR `number` and deliver its `closed` event, answers slowed by `LATENCY`: the
    requests the bot made until idle."""
    box.double.merge(REPO, number)
    box.double.inject("*", r".", None, times=None, latency=LATENCY)
    start = len(box.double.requests)
    assert await box.deliver(pull_request_event(box.double, REPO, number, "closed")) == 202
    await box.idle(60)
    box.double.clear_faults()
    return box.double.requests[start:]


def numbered_folder(box: Harness, index: int) -> str:
    folder = kep_folder(index).replace("NNNN", "754")
    assert box.double.file_at(REPO, "main", f"{folder}/kep.yaml") is not None
    return folder


async def test_a_merge_costs_nine_requests_in_six_round_trips(box: Harness) -> None:
    number = await open_checked_pr(box, 0)
    commits = len(box.double.commits(REPO, "main"))
    made = await merged(box, number)
    assert sorted(route(r) for r in made) == MERGE
    # files, tree, branch, reservations, thread → reserve → tree → commit → ref → comment
    assert len(critical_path(made)) == 6
    folder = numbered_folder(box, 0)
    kep = (box.double.file_at(REPO, "main", f"{folder}/kep.yaml") or b"").decode()
    assert "kep-number: 754\n" in kep
    assert len(box.double.commits(REPO, "main")) == commits + 2  # the merge, and the number
    comments = [c.body for c in box.double.comments(REPO, number) if c.user.endswith("[bot]")]
    assert len([c for c in comments if "kepbot:numbers/" in c]) == 1


async def test_a_merge_nothing_was_known_of_stays_within_the_budget(
    box: Harness, credentials: AppCredentials
) -> None:
    await open_checked_pr(box, 0)  # the configuration and the installation are known
    folder = kep_folder(1)
    files: dict[str, str | None] = {
        f"{folder}/kep.yaml": KEP.replace("Pod restart budget", "Another budget"),
        f"{folder}/README.md": demo.NEW_README.replace("Budgets.", "Other budgets."),
    }
    number = box.double.open_pull_request(REPO, "kep-1", files, "KEP", author="alice")
    made = await merged(box, number)
    assert sorted(route(r) for r in made) == COLD
    assert len(made) <= 12
    # files, tree, branch, thread → blobs, reservations → reserve → tree → commit → ref →
    # comment: 7; 8 when bot.handlers.links (the handlers of an event run in no set order)
    # asks for the file list first, to learn that this is a proposal PR
    assert len(critical_path(made)) <= 8
    numbered_folder(box, 1)


async def test_a_base_branch_moved_past_the_merge_commit_is_planned_on_as_it_is(
    box: Harness,
) -> None:
    number = await open_checked_pr(box, 0)
    box.double.merge(REPO, number)
    human = box.double.push(REPO, "main", {"docs/human.md": "mine\n"}, "docs", "carol")
    start = len(box.double.requests)
    await box.deliver(pull_request_event(box.double, REPO, number, "closed"))
    await box.idle(60)
    made = box.double.requests[start:]
    history = box.double.commits(REPO, "main")
    assert history[1][0] == human, "the number's commit is on top of the human's"
    assert (box.double.file_at(REPO, "main", "docs/human.md") or b"") == b"mine\n"
    numbered_folder(box, 0)
    routes = [route(r) for r in made]
    # nothing was written on the stale plan: one tree, one commit, one ref update
    assert routes.count("POST git/trees") == routes.count("POST git/commits") == 1
    assert [r.status for r in made if r.method == "PATCH"] == [200]


async def test_a_merge_delivery_reads_the_thread_once(box: Harness) -> None:
    number = await open_checked_pr(box, 0)
    box.double.add_comment(REPO, number, "Looks good.", "bob")
    made = await merged(box, number)
    reads = [r for r in made if r.method == "GET" and r.path.endswith(f"/{number}/comments")]
    assert len(reads) == 1
