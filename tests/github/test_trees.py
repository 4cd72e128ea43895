"""A branch read through its git objects (bot.github.trees) against the double: what is
addressed by content is read outside the ETag cache, blobs come from a cache bounded in
bytes, an archive yields only files whose blob sha is the tree's, and a download stops at
its limit."""

from __future__ import annotations

import pytest

from bot.github.client import KepbotAPI
from bot.github.trees import (
    BlobCache,
    blob_sha,
    branch_head,
    compare,
    path_history,
    read_archive,
    read_blobs,
    read_tree,
)
from bot.sandbox import GitHubDouble
from bot.sandbox.gitstore import object_sha
from bot.sandbox.testing import ManualClock

from .conftest import KEP, SEED_FILES, requests


def test_blob_sha_is_gits() -> None:
    assert blob_sha(b"# Enhancements\n") == object_sha("blob", b"# Enhancements\n")
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_the_blob_cache_is_bounded_in_bytes() -> None:
    cache = BlobCache(max_bytes=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.get("a") == b"12345" and cache.size == 10
    cache.put("c", b"123")  # "b" was used least recently
    assert cache.get("b") is None and cache.get("a") == b"12345" and cache.size == 8
    cache.put("d", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("d") is None and cache.size == 8


async def test_tree_and_blobs_are_read_once_and_never_conditionally(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    head = await branch_head(gh, repo, "main")
    assert head == double.branch_sha(repo, "main")
    listing = await read_tree(gh, repo, head)
    assert listing.commit == head and not listing.truncated
    assert listing.files == {p: object_sha("blob", t.encode()) for p, t in SEED_FILES.items()}
    cache = BlobCache(1 << 20)
    shas = list(listing.files.values())
    found = await read_blobs(gh, repo, shas, cache)
    assert {sha: data for sha, data in found.items()} == {
        object_sha("blob", t.encode()): t.encode() for t in SEED_FILES.values()
    }
    assert len(requests(double, "GET", "/git/blobs/")) == len(shas)
    start = len(double.requests)
    assert await read_blobs(gh, repo, shas, cache) == found
    assert double.requests[start:] == [], "kept by sha"
    await read_tree(gh, repo, head)
    again = requests(double, "GET", "/git/trees/", start)
    assert len(again) == 1 and again[0].status == 200
    assert "if-none-match" not in again[0].headers, "outside the ETag cache"


async def test_an_archive_yields_the_files_whose_blob_sha_is_the_trees(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    head = double.branch_sha(repo, "main") or ""
    wanted = {KEP: object_sha("blob", SEED_FILES[KEP].encode()), "README.md": "0" * 40}
    start = len(double.requests)
    found = await read_archive(gh, repo, head, wanted, limit=1 << 20)
    assert found == {KEP: SEED_FILES[KEP].encode()}, "README.md's content is not that blob"
    made = [(r.status, r.path.split("/")[1]) for r in double.requests[start:]]
    assert made == [(302, "repos"), (200, "_codeload")]
    with pytest.raises(ValueError, match="more than 10 bytes"):
        await read_archive(gh, repo, head, wanted, limit=10)


async def test_a_comparison_and_a_path_history_carry_commit_dates(
    gh: KepbotAPI, double: GitHubDouble, repo: str, clock: ManualClock
) -> None:
    base = double.branch_sha(repo, "main") or ""
    clock.advance(3600)
    one = double.push(repo, "main", {KEP: "title: Pod stuff\nstatus: implementable\n"}, "a")
    clock.advance(3600)
    two = double.push(repo, "main", {"README.md": "# Changed\n"}, "b")
    span = await compare(gh, repo, base, two)
    assert (span.status, span.complete) == ("ahead", True)
    assert [(m.sha, m.parents) for m in span.commits] == [(one, (base,)), (two, (one,))]
    assert span.commits[1].date.timestamp() == clock.now
    history = await path_history(gh, repo, KEP, two, per_page=30)
    assert [m.sha for m in history] == [one, base]
    assert history[0].date.timestamp() == clock.now - 3600
