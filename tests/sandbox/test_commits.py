"""GET /repos/{owner}/{repo}/commits: first-parent history, newest first, `path`, pagination."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.model import iso
from bot.sandbox.testing import AppCredentials, ManualClock, new_double


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()  # starts now: the App's JWT must be fresh


@pytest.fixture
def double(credentials: AppCredentials, clock: ManualClock) -> GitHubDouble:
    return new_double(credentials, clock=clock)


async def test_lists_newest_first_with_github_shape(
    gh: GitHubAPI, double: GitHubDouble, repo: str, clock: ManualClock
) -> None:
    second = double.push(repo, "main", {"a.txt": "1\n"}, "add a")
    clock.advance(60)
    third = double.push(repo, "main", {"b/c.txt": "2\n"}, "add b/c")
    listed = await gh.getitem(f"/repos/{repo}/commits")
    assert [c["sha"] for c in listed[:2]] == [third, second]
    first = listed[0]
    assert first["commit"]["message"] == "add b/c"
    assert first["commit"]["committer"]["date"] == iso(clock.now)
    assert first["commit"]["author"]["name"] and first["commit"]["author"]["email"]
    assert set(first["commit"]["tree"]) >= {"sha", "url"}
    assert first["parents"][0]["sha"] == second
    assert first["html_url"].endswith(f"/{repo}/commit/{third}")
    assert first["url"].endswith(f"/repos/{repo}/commits/{third}")


async def test_path_filters_files_and_folders(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    a1 = double.push(repo, "main", {"a.txt": "1\n"}, "a1")
    c1 = double.push(repo, "main", {"b/c.txt": "1\n"}, "c1")
    a2 = double.push(repo, "main", {"a.txt": "2\n"}, "a2")
    gone = double.push(repo, "main", {"a.txt": None}, "remove a")
    found = await gh.getitem(f"/repos/{repo}/commits?path=a.txt")
    assert [c["sha"] for c in found] == [gone, a2, a1]
    assert [c["sha"] for c in await gh.getitem(f"/repos/{repo}/commits?path=b")] == [c1]
    older = await gh.getitem(f"/repos/{repo}/commits?path=a.txt&sha={a2}")
    assert [c["sha"] for c in older] == [a2, a1]
    assert await gh.getitem(f"/repos/{repo}/commits?path=nothing/here") == []


async def test_paginates_with_link_headers(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    pushed = [double.push(repo, "main", {"n.txt": f"{i}\n"}, f"n{i}") for i in range(5)]
    first = await gh.getitem(f"/repos/{repo}/commits?path=n.txt&per_page=2")
    assert [c["sha"] for c in first] == pushed[::-1][:2]
    every = [c["sha"] async for c in gh.getiter(f"/repos/{repo}/commits?path=n.txt&per_page=2")]
    assert every == pushed[::-1]


async def test_unknown_sha_is_404(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as raised:
        await gh.getitem(f"/repos/{repo}/commits?sha=nope")
    assert raised.value.status_code == 404
