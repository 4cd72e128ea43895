"""What one installation's client keeps (bot.github.read_cache, docs/design.md C8) and how it
reads on from it: blobs by sha (read once, what the bot writes kept too, the bound in
bytes), and comment threads read incrementally with `since`, merged by id, read in full
again when a comment was deleted."""

from __future__ import annotations

import pytest

from bot.github.caches import BLOB_BYTES
from bot.github.client import KepbotAPI
from bot.github.comments import THREAD_OVERLAP, read_thread
from bot.github.read_cache import git_blob_sha, read_cache
from bot.github.repo import list_tree, read_blob, read_file, update_file
from bot.sandbox import GitHubDouble
from bot.sandbox.model import iso
from bot.sandbox.testing import ManualClock

from .conftest import KEP, requests

HOUR = 3600.0


@pytest.fixture
def pr(double: GitHubDouble, repo: str) -> int:
    return double.open_pull_request(repo, "kep", {KEP: "status: provisional\n"}, "KEP")


def bodies(thread: list[dict[str, object]]) -> list[object]:
    return [comment["body"] for comment in thread]


async def test_a_blob_is_read_once_by_sha_whatever_path_reaches_it(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "main", {"a.md": "same\n", "b/c.md": "same\n", "d.md": "other\n"})
    listing = await list_tree(gh, repo, "main")
    assert listing.blobs["a.md"] == listing.blobs["b/c.md"] == git_blob_sha(b"same\n")
    start = len(double.requests)
    for path in ("a.md", "b/c.md", "d.md", "a.md"):
        data = await read_blob(gh, repo, listing.blobs[path])
        assert data == (double.file_at(repo, "main", path) or b"")
    assert len(requests(double, "GET", "/git/blobs/", start)) == 2


async def test_what_is_read_or_written_through_the_contents_api_is_kept_by_sha(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    found = await read_file(gh, repo, KEP, "main")
    assert found is not None
    await update_file(gh, repo, "main", KEP, lambda text: text + "# more\n", "edit")
    written = double.file_at(repo, "main", KEP) or b""
    start = len(double.requests)
    assert await read_blob(gh, repo, found.sha) == found.data
    assert await read_blob(gh, repo, git_blob_sha(written)) == written
    assert double.requests[start:] == []


async def test_the_blob_cache_is_bounded_in_bytes(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    big = "x" * (BLOB_BYTES // 3)
    double.push(repo, "main", {f"big-{i}.txt": f"{i}{big}" for i in range(4)})
    listing = await list_tree(gh, repo, "main")
    for index in range(4):
        await read_blob(gh, repo, listing.blobs[f"big-{index}.txt"])
    cache = read_cache(gh)
    assert cache.blobs.currsize <= BLOB_BYTES
    assert cache.blob(repo, listing.blobs["big-0.txt"]) is None, "the oldest went first"
    assert cache.blob(repo, listing.blobs["big-3.txt"]) is not None
    huge = b"y" * (BLOB_BYTES + 1)
    cache.keep_blob(repo, huge)  # larger than the whole cache: not kept, and no error
    assert cache.blob(repo, git_blob_sha(huge)) is None


async def test_a_thread_is_read_on_from_the_newest_comment_kept(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int, clock: ManualClock
) -> None:
    start, first = len(double.requests), clock.now
    double.add_comment(repo, pr, "first", "alice")
    assert bodies(await read_thread(gh, repo, pr, 1)) == ["first"]
    clock.advance(HOUR)
    double.add_comment(repo, pr, "second", "bob")
    clock.advance(HOUR)
    double.add_comment(repo, pr, "third", "carol")
    assert bodies(await read_thread(gh, repo, pr, 3)) == ["first", "second", "third"]
    clock.advance(HOUR)
    double.add_comment(repo, pr, "fourth", "alice")
    thread = await read_thread(gh, repo, pr, 4)
    assert bodies(thread) == ["first", "second", "third", "fourth"]
    overlap = THREAD_OVERLAP.total_seconds()
    reads = requests(double, "GET", f"/issues/{pr}/comments", start)
    assert [r.query.get("since") for r in reads] == [
        None,  # the first read is a full one
        iso(first - overlap),  # then from the newest comment kept, less the overlap
        iso(first + 2 * HOUR - overlap),  # "third" was the newest: "first" is not sent again
    ]


async def test_an_edited_comment_comes_back_and_replaces_its_old_version(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int, clock: ManualClock
) -> None:
    made = double.add_comment(repo, pr, "/kep aprove", "carol")
    double.add_comment(repo, pr, "ok", "bob")
    await read_thread(gh, repo, pr, 2)
    clock.advance(HOUR)
    double.edit_comment(repo, made.id, "/kep approve")
    start = len(double.requests)
    thread = await read_thread(gh, repo, pr, 2)
    assert bodies(thread) == ["/kep approve", "ok"]
    assert [c["id"] for c in thread] == sorted(c["id"] for c in thread)
    (read,) = requests(double, "GET", f"/issues/{pr}/comments", start)
    assert "since" in read.query


async def test_a_deleted_comment_is_dropped_by_a_full_read(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int, clock: ManualClock
) -> None:
    made = double.add_comment(repo, pr, "/kep approve", "mallory")
    double.add_comment(repo, pr, "ok", "bob")
    await read_thread(gh, repo, pr, 2)
    clock.advance(HOUR)
    double.delete_comment(repo, made.id)
    double.add_comment(repo, pr, "new", "alice")  # the count stays at 2
    start = len(double.requests)
    assert bodies(await read_thread(gh, repo, pr, 2)) == ["ok", "new"]
    reads = requests(double, "GET", f"/issues/{pr}/comments", start)
    assert ["since" in r.query for r in reads] == [True, False]


async def test_without_a_count_a_thread_is_read_in_full(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.add_comment(repo, pr, "first", "alice")
    await read_thread(gh, repo, pr, 1)
    start = len(double.requests)
    assert bodies(await read_thread(gh, repo, pr)) == ["first"]
    (read,) = requests(double, "GET", f"/issues/{pr}/comments", start)
    assert "since" not in read.query


async def test_the_caller_may_change_what_it_is_given(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    double.add_comment(repo, pr, "first", "alice")
    thread = await read_thread(gh, repo, pr, 1)
    thread[0]["body"] = "changed"
    thread.append({"id": 10**9, "body": "mine"})
    assert bodies(await read_thread(gh, repo, pr, 1)) == ["first"]
