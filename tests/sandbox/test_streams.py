"""Listings that read a repository incrementally, as GitHub answers them: every comment of
the repository by update (`since`, `sort`, `direction`), and a comparison of two commits
(at most 250 commits without paging, 300 files)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from gidgethub import InvalidField
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.model import iso
from bot.sandbox.testing import AppCredentials, ManualClock, new_double


async def _comments(gh: GitHubAPI, repo: str, **query: str) -> list[tuple[int, str]]:
    url = f"/repos/{repo}/issues/comments?{urlencode(query)}"
    items: list[Any] = await gh.getitem(url)
    return [(c["id"], c["body"]) for c in items]


async def test_the_repository_comment_stream_by_update(credentials: AppCredentials) -> None:
    clock = ManualClock(float(int(time.time())))  # the App's JWT is checked against it
    double = new_double(credentials, clock=clock)
    repo = double.add_repo("octo", "enhancements", {"README.md": "r\n"})
    installation = double.add_installation("octo")
    issue = double.open_issue(repo, "Question", "?", author="bob")
    pull = double.open_pull_request(repo, "kep", {"k.md": "k\n"}, "KEP", author="alice")
    first = double.add_comment(repo, issue, "first", "bob")
    clock.advance(10)
    second = double.add_comment(repo, pull, "second", "alice")
    clock.advance(10)
    third = double.add_comment(repo, issue, "third", "carol")
    other = double.add_repo("octo", "other", {"README.md": "r\n"})
    double.add_comment(other, double.open_issue(other, "Elsewhere", "x"), "not here", "bob")
    clock.advance(10)
    double.edit_comment(repo, first.id, "first, edited")
    async with testing.sandbox(double, credentials=credentials) as running:
        gh = await running.installation_client(installation)
        by_id = [(first.id, "first, edited"), (second.id, "second"), (third.id, "third")]
        assert await _comments(gh, repo) == by_id
        assert await _comments(gh, repo, direction="desc") == by_id, "ignored without sort"
        newest = await _comments(gh, repo, sort="updated")
        assert [ident for ident, _ in newest] == [first.id, third.id, second.id]
        oldest = await _comments(gh, repo, sort="updated", direction="asc")
        assert [ident for ident, _ in oldest] == [second.id, third.id, first.id]
        created = await _comments(gh, repo, sort="created", direction="asc")
        assert [ident for ident, _ in created] == [first.id, second.id, third.id]
        since = iso(clock.now - 10)  # at or after: the third comment's update and the edit
        later = await _comments(gh, repo, sort="updated", direction="asc", since=since)
        assert [ident for ident, _ in later] == [third.id, first.id]
        page = await gh.getitem(f"/repos/{repo}/issues/comments?per_page=2&page=2")
        assert [c["id"] for c in page] == [third.id]
        assert (await gh.getitem(f"/repos/{repo}/issues/{issue}"))["number"] == issue
        with pytest.raises(InvalidField):
            await gh.getitem(f"/repos/{repo}/issues/comments?sort=reactions")


async def test_a_comparison_lists_the_newest_250_commits_and_pages_on_request(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    base = double.branch_sha(repo, "main") or ""
    shas = [double.push(repo, "main", {f"f{i}.md": f"{i}\n"}, f"commit {i}") for i in range(260)]
    result = await gh.getitem(f"/repos/{repo}/compare/{base}...main")
    assert result["total_commits"] == result["ahead_by"] == 260
    assert [c["sha"] for c in result["commits"]] == shas[-250:], "oldest first, the newest 250"
    assert len(result["files"]) == 260
    paged = await gh.getitem(f"/repos/{repo}/compare/{base}...main?per_page=100&page=3")
    assert [c["sha"] for c in paged["commits"]] == shas[200:]
    more = double.push(repo, "main", {f"g{i}.md": "g\n" for i in range(50)}, "fifty files")
    result = await gh.getitem(f"/repos/{repo}/compare/{base}...{more}?per_page=1")
    assert len(result["files"]) == 300 and result["total_commits"] == 261
