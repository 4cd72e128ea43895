"""Check runs (limits: 50 annotations per request, accumulated across updates; 3 actions;
conclusion with completed) and commit statuses."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox


def make_annotations(count: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "path": "keps/sig-node/1234-pod-stuff/kep.yaml",
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "message": f"problem {line}",
        }
        for line in range(start, start + count)
    ]


def output(count: int, start: int = 1) -> dict[str, Any]:
    return {"title": "KEP check", "summary": "s", "annotations": make_annotations(count, start)}


@pytest.fixture
def head(double: GitHubDouble, repo: str) -> str:
    sha = double.branch_sha(repo, "main")
    assert sha is not None
    return sha


async def create_run(gh: GitHubAPI, repo: str, head: str, **fields: Any) -> dict[str, Any]:
    run: dict[str, Any] = await gh.post(
        f"/repos/{repo}/check-runs", data={"name": "kepbot", "head_sha": head, **fields}
    )
    return run


async def test_51_annotations_in_one_request_is_422(gh: GitHubAPI, repo: str, head: str) -> None:
    with pytest.raises(BadRequest) as error:
        await create_run(gh, repo, head, output=output(51))
    assert error.value.status_code == 422
    accepted = await create_run(gh, repo, head, output=output(50))
    assert accepted["output"]["annotations_count"] == 50


async def test_annotations_accumulate_across_updates(
    gh: GitHubAPI, double: GitHubDouble, repo: str, head: str
) -> None:
    run = await create_run(gh, repo, head, status="in_progress")
    url = f"/repos/{repo}/check-runs/{run['id']}"
    await gh.patch(url, data={"output": output(50, 1)})
    done = await gh.patch(url, data={"conclusion": "failure", "output": output(50, 51)})
    assert done["output"]["annotations_count"] == 100
    assert (done["status"], done["conclusion"]) == ("completed", "failure")
    assert done["completed_at"] is not None
    listed = [a async for a in gh.getiter(url + "/annotations?per_page=100")]
    assert [a["start_line"] for a in listed] == list(range(1, 101))
    assert len(double.check_runs(repo, head)[0].annotations) == 100


async def test_more_than_three_actions_is_422(gh: GitHubAPI, repo: str, head: str) -> None:
    action = {"label": "Fix", "description": "Fix it", "identifier": "fix"}
    with pytest.raises(BadRequest) as error:
        await create_run(gh, repo, head, actions=[action] * 4)
    assert error.value.status_code == 422
    run = await create_run(gh, repo, head, actions=[action] * 3)
    assert run["id"]
    with pytest.raises(BadRequest):
        await create_run(gh, repo, head, actions=[{**action, "label": "x" * 21}])


async def test_completed_needs_a_conclusion(gh: GitHubAPI, repo: str, head: str) -> None:
    with pytest.raises(BadRequest) as error:
        await create_run(gh, repo, head, status="completed")
    assert error.value.status_code == 422
    assert "conclusion" in str(error.value)
    run = await create_run(gh, repo, head, conclusion="action_required")
    assert run["status"] == "completed"


async def test_output_limits_and_app_only_statuses(gh: GitHubAPI, repo: str, head: str) -> None:
    with pytest.raises(BadRequest):
        await create_run(gh, repo, head, output={"title": "t", "summary": "x" * 65536})
    with pytest.raises(BadRequest):
        await create_run(gh, repo, head, output={"summary": "no title"})
    with pytest.raises(BadRequest):
        await create_run(gh, repo, head, status="waiting")
    multi_line = {**make_annotations(1)[0], "end_line": 3, "start_column": 1, "end_column": 2}
    with pytest.raises(BadRequest):
        await create_run(
            gh, repo, head, output={"title": "t", "summary": "s", "annotations": [multi_line]}
        )


async def test_unknown_head_sha_is_422(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as error:
        await create_run(gh, repo, "a" * 40)
    assert error.value.status_code == 422


async def test_list_for_ref_returns_the_latest_run_per_name(
    gh: GitHubAPI, double: GitHubDouble, repo: str, head: str
) -> None:
    number = double.open_pull_request(repo, "kep", {"k.md": "k\n"}, "KEP")
    pr_head = double.branch_sha(repo, "kep")
    assert pr_head is not None
    await create_run(gh, repo, pr_head, conclusion="failure")
    latest = await create_run(gh, repo, pr_head, conclusion="success")
    await gh.post(
        f"/repos/{repo}/check-runs", data={"name": "other", "head_sha": pr_head, "status": "queued"}
    )
    listed = await gh.getitem(f"/repos/{repo}/commits/kep/check-runs?check_name=kepbot")
    assert listed["total_count"] == 1 and listed["check_runs"][0]["id"] == latest["id"]
    assert listed["check_runs"][0]["pull_requests"][0]["number"] == number
    every = await gh.getitem(f"/repos/{repo}/commits/{pr_head}/check-runs?filter=all")
    assert every["total_count"] == 3


async def test_fork_pull_requests_are_not_linked_to_check_runs(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.open_pull_request(
        repo, "f", {"f.md": "f\n"}, "Fork PR", author="carol", fork_owner="carol"
    )
    fork_head = double.branch_sha("carol/enhancements", "f")
    assert fork_head is not None
    run = await create_run(gh, repo, fork_head)
    assert run["pull_requests"] == []


async def test_only_apps_create_check_runs(
    sandbox: Sandbox, double: GitHubDouble, repo: str, head: str
) -> None:
    gh = sandbox.client(double.add_personal_token("octo"))
    with pytest.raises(BadRequest) as error:
        await create_run(gh, repo, head)
    assert error.value.status_code == 403
    assert str(error.value) == "You must authenticate via a GitHub App."


async def test_commit_statuses_combine(
    gh: GitHubAPI, double: GitHubDouble, repo: str, head: str
) -> None:
    url = f"/repos/{repo}/statuses/{head}"
    await gh.post(url, data={"state": "pending", "context": "kepbot"})
    await gh.post(url, data={"state": "success", "context": "kepbot"})
    combined = await gh.getitem(f"/repos/{repo}/commits/main/status")
    assert combined["state"] == "success" and combined["total_count"] == 1
    await gh.post(url, data={"state": "failure", "context": "ci"})
    combined = await gh.getitem(f"/repos/{repo}/commits/{head}/status")
    assert combined["state"] == "failure"
    with pytest.raises(BadRequest):
        await gh.post(url, data={"state": "green"})
    assert [s.state for s in double.statuses(repo, head)] == ["pending", "success", "failure"]
