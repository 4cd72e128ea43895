"""Milestones, an issue's milestone, labels and text through `PATCH issues/{n}`, and the
search qualifier `updated:`, as GitHub's REST API has them."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest, InvalidField
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble


@pytest.fixture
def issue(double: GitHubDouble, repo: str) -> int:
    return double.open_issue(repo, "KEP-1234 tracking issue", "People wrote this.", "alice")


async def test_a_created_milestone_is_listed_and_its_title_is_taken_once(
    gh: GitHubAPI, repo: str
) -> None:
    made = await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.37"})
    assert (made["number"], made["title"], made["state"]) == (1, "v1.37", "open")
    assert made["open_issues"] == 0 and made["creator"]["login"].endswith("[bot]")
    with pytest.raises(InvalidField) as error:
        await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.37"})
    assert error.value.status_code == 422
    assert error.value.errors[0]["code"] == "already_exists"
    listed = [m["title"] async for m in gh.getiter(f"/repos/{repo}/milestones?state=all")]
    assert listed == ["v1.37"]


async def test_the_list_holds_open_milestones_unless_state_says_otherwise(
    gh: GitHubAPI, repo: str
) -> None:
    await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.36", "state": "closed"})
    await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.37"})
    titles = [m["title"] async for m in gh.getiter(f"/repos/{repo}/milestones")]
    assert titles == ["v1.37"]
    every = [m["title"] async for m in gh.getiter(f"/repos/{repo}/milestones?state=all")]
    assert sorted(every) == ["v1.36", "v1.37"]
    closed = [m["title"] async for m in gh.getiter(f"/repos/{repo}/milestones?state=closed")]
    assert closed == ["v1.36"]
    with pytest.raises(InvalidField):
        await gh.getitem(f"/repos/{repo}/milestones?state=later")


async def test_an_issue_is_put_in_a_milestone_and_taken_out(
    gh: GitHubAPI, double: GitHubDouble, repo: str, issue: int
) -> None:
    made = await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.37"})
    updated = await gh.patch(f"/repos/{repo}/issues/{issue}", data={"milestone": made["number"]})
    assert updated["milestone"]["title"] == "v1.37"
    assert double.milestone_of(repo, issue) == "v1.37"
    read = await gh.getitem(f"/repos/{repo}/issues/{issue}")
    assert read["milestone"]["number"] == made["number"]
    assert read["milestone"]["open_issues"] == 1
    assert read["body"] == "People wrote this."  # fields not sent stay as they are
    cleared = await gh.patch(f"/repos/{repo}/issues/{issue}", data={"milestone": None})
    assert cleared["milestone"] is None and double.milestone_of(repo, issue) is None


async def test_a_milestone_the_repository_lacks_is_422_and_changes_nothing(
    gh: GitHubAPI, double: GitHubDouble, repo: str, issue: int
) -> None:
    double.set_milestone(repo, issue, "v1.36")
    with pytest.raises(InvalidField) as error:
        await gh.patch(f"/repos/{repo}/issues/{issue}", data={"milestone": 99})
    assert error.value.status_code == 422
    assert double.milestone_of(repo, issue) == "v1.36"


async def test_patching_labels_replaces_them_and_text_fields_change_alone(
    gh: GitHubAPI, double: GitHubDouble, repo: str, issue: int
) -> None:
    double.label_issue(repo, issue, "sig/node", "stage/alpha")
    await gh.patch(f"/repos/{repo}/issues/{issue}", data={"labels": ["stage/beta", "sig/node"]})
    assert double.labels(repo, issue) == ["stage/beta", "sig/node"]
    await gh.patch(f"/repos/{repo}/issues/{issue}", data={"title": "KEP-1234: Budgets"})
    assert double.issue(repo, issue).title == "KEP-1234: Budgets"
    assert double.labels(repo, issue) == ["stage/beta", "sig/node"]


async def test_a_pull_request_takes_a_milestone_through_the_issues_endpoint(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = double.open_pull_request(repo, "kep", {"k.md": "k\n"}, "KEP", author="alice")
    made = await gh.post(f"/repos/{repo}/milestones", data={"title": "v1.37"})
    await gh.patch(f"/repos/{repo}/issues/{number}", data={"milestone": made["number"]})
    pull = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert pull["milestone"]["title"] == "v1.37"


async def test_an_unknown_issue_is_404(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.patch(f"/repos/{repo}/issues/999", data={"milestone": None})
    assert error.value.status_code == 404


async def test_search_keeps_issues_updated_since_a_moment(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    old = double.open_issue(repo, "old")
    new = double.open_issue(repo, "new")
    double.issue(repo, old).updated_at = "2026-01-01T10:00:00Z"
    double.issue(repo, new).updated_at = "2026-01-02T10:00:00Z"

    async def search(query: str) -> list[int]:
        url = f"/search/issues?q=repo:{repo} is:issue {query}"
        return sorted([item["number"] async for item in gh.getiter(url)])

    assert await search("updated:>=2026-01-02T00:00:00Z") == [new]
    assert await search("updated:>2026-01-01") == [new]
    assert await search("updated:<2026-01-02") == [old]
    assert await search("updated:2026-01-01") == [old]
    assert await search("updated:>=2026-01-01") == [old, new]


async def test_search_keeps_issues_in_a_milestone_with_a_label(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    opted = double.open_issue(repo, "opted")
    other = double.open_issue(repo, "other milestone")
    bare = double.open_issue(repo, "no milestone")
    double.set_milestone(repo, opted, "v1.37")
    double.set_milestone(repo, other, "v1.36")
    double.label_issue(repo, opted, "lead-opted-in")
    double.label_issue(repo, other, "lead-opted-in")
    double.label_issue(repo, bare, "lead-opted-in")
    url = f'/search/issues?q=repo:{repo} is:issue label:"lead-opted-in" milestone:"v1.37"'
    assert [item["number"] async for item in gh.getiter(url)] == [opted]
