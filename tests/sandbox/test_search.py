"""GET /search/issues with the qualifiers the bot uses."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble


@pytest.fixture
def numbers(double: GitHubDouble, repo: str) -> dict[str, int]:
    kep = double.open_pull_request(repo, "a", {"a.md": "a\n"}, "KEP-99: Pod stuff", "Implements it")
    impl = double.open_pull_request(
        repo, "b", {"b.md": "b\n"}, "Implement KEP-1234", "Refs KEP-1234"
    )
    closed = double.open_pull_request(repo, "c", {"c.md": "c\n"}, "Old KEP-1234 work", "")
    issue = double.open_issue(repo, "KEP-1234 tracking issue")
    double.label_issue(repo, kep, "kind/kep")
    double.label_issue(repo, impl, "kep/linked")
    double.update_pull_request(repo, closed, state="closed")
    double.add_repo("octo", "other", {"x": "x"})
    double.open_issue("octo/other", "KEP-1234 elsewhere")
    return {"kep": kep, "impl": impl, "closed": closed, "issue": issue}


async def search(gh: GitHubAPI, query: str) -> list[int]:
    return sorted([item["number"] async for item in gh.getiter(f"/search/issues?q={query}")])


async def test_qualifiers_and_free_text(gh: GitHubAPI, repo: str, numbers: dict[str, int]) -> None:
    assert await search(gh, f"repo:{repo} is:pr is:open") == sorted(
        [numbers["kep"], numbers["impl"]]
    )
    assert await search(gh, f"repo:{repo} type:pr label:kind/kep") == [numbers["kep"]]
    assert await search(gh, f"repo:{repo} is:pr KEP-1234") == sorted(
        [numbers["impl"], numbers["closed"]]
    )
    assert await search(gh, f"repo:{repo} is:issue KEP-1234") == [numbers["issue"]]
    assert await search(gh, f"repo:{repo} is:pr is:closed") == [numbers["closed"]]
    assert await search(gh, f'repo:{repo} is:pr -label:"kind/kep" is:open') == [numbers["impl"]]


async def test_search_spans_the_installations_repositories(
    gh: GitHubAPI, numbers: dict[str, int]
) -> None:
    found = [i async for i in gh.getiter("/search/issues?q=org:octo KEP-1234 in:title")]
    assert {item["repository_url"].rsplit("/", 1)[-1] for item in found} == {
        "enhancements",
        "other",
    }
    assert all("score" in item for item in found)


async def test_search_results_are_paginated(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    for i in range(35):
        double.open_issue(repo, f"issue {i}")
    result = await gh.getitem(f"/search/issues?q=repo:{repo}+is:issue&per_page=30")
    assert result["total_count"] == 35 and len(result["items"]) == 30
    assert len(await search(gh, f"repo:{repo} is:issue")) == 35


async def test_missing_query_is_422(gh: GitHubAPI) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.getitem("/search/issues")
    assert error.value.status_code == 422
