"""What a push costs on a PR with several proposals (docs/design.md C8): files are read by
blob sha, so only the blob the push changed is read (bot.github.read_cache), and the PR's
comments are read once per delivery, from where the last read left off (`since`).

Each test runs the real server against the double with a PR adding three new KEPs whose
texts differ from each other (so no two files share a blob).
"""

from __future__ import annotations

from kep_pr import comment
from test_approve_cost import BRANCH, COUNT, metadata, open_many, text

from bot import demo
from bot.github.read_cache import git_blob_sha
from bot.sandbox.cost import kep_folder, route
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import pull_request_event
from bot.sandbox.pipeline import RecordedRequest

REPO = demo.REPO
# The requests of the check after a push changing one README, once the thread was read
# before (the check runs are bot.github.feedback's and are left out here).
PUSH = sorted(
    [
        "GET pulls/N/files",  # the new head's file list, with each file's blob sha
        "GET git/trees/main",  # the default branch's files (304)
        "GET git/blobs/{sha}",  # the one file the push changed
        "GET issues/N/comments?since",  # what was said since the last read
        "GET issues/N/labels",  # (304)
    ]
)


async def push(box: Harness, number: int, path: str, added: str) -> list[RecordedRequest]:
    """Push `added` at the end of `path` and deliver the `synchronize`: the requests made."""
    before = box.double.branch_sha(REPO, BRANCH)
    box.double.push(REPO, BRANCH, {path: text(box, path) + added}, "edit", "alice")
    start = len(box.double.requests)
    event = pull_request_event(box.double, REPO, number, "synchronize", before=before)
    assert await box.deliver(event) == 202
    await box.idle()
    return box.double.requests[start:]


def thread_reads(made: list[RecordedRequest], number: int) -> list[RecordedRequest]:
    return [r for r in made if r.method == "GET" and r.path.endswith(f"/{number}/comments")]


async def test_a_push_reads_only_the_blob_it_changed(box: Harness) -> None:
    number = await open_many(box)
    await comment(box, number, "/kep status", "bob")  # the thread is read, and kept
    readme = f"{kep_folder(1)}/README.md"
    made = await push(box, number, readme, "More.\n")
    blobs = [r.path.rsplit("/", 1)[-1] for r in made if "/git/blobs/" in r.path]
    assert blobs == [git_blob_sha(text(box, readme).encode())]
    assert not [r for r in made if "/contents/" in r.path]
    assert sorted(route(r) for r in made if "check-runs" not in r.path) == PUSH
    run = await box.check_run(REPO, box.double.branch_sha(REPO, BRANCH) or "")
    assert run.conclusion, "the check ran on the new head"


async def test_a_second_push_reads_the_new_blob_and_nothing_else(box: Harness) -> None:
    number = await open_many(box)
    first = f"{kep_folder(0)}/README.md"
    await push(box, number, first, "One.\n")
    made = await push(box, number, metadata(2), "# a note\n")
    blobs = [r.path.rsplit("/", 1)[-1] for r in made if "/git/blobs/" in r.path]
    assert blobs == [git_blob_sha(text(box, metadata(2)).encode())]


async def test_a_delivery_reads_the_thread_once_and_incrementally(box: Harness) -> None:
    number = await open_many(box)
    await comment(box, number, "/kep status", "bob")
    made = await push(box, number, f"{kep_folder(0)}/README.md", "More.\n")
    (read,) = thread_reads(made, number)
    assert "since" in read.query
    start = len(box.double.requests)
    await comment(box, number, "/kep approve", "carol")
    (read,) = thread_reads(box.double.requests[start:], number)
    assert "since" in read.query
    assert all("status: implementable" in text(box, metadata(i)) for i in range(COUNT))


async def test_a_deleted_comment_makes_the_next_read_a_full_one(box: Harness) -> None:
    """Reading on from the last read never keeps a comment GitHub no longer has: the count
    the PR gives shows the deletion, and the thread is read in full."""
    number = await open_many(box)
    asked = await comment(box, number, "/kep status", "bob")
    box.double.delete_comment(REPO, asked)
    box.double.add_comment(REPO, number, "Never mind.", "bob")  # the count stays the same
    made = await push(box, number, f"{kep_folder(0)}/README.md", "More.\n")
    assert ["since" in r.query for r in thread_reads(made, number)] == [True, False]
    made = await push(box, number, f"{kep_folder(1)}/README.md", "More.\n")
    assert ["since" in r.query for r in thread_reads(made, number)] == [True]
