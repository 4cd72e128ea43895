"""Creating pull requests (POST pulls) and number reservation refs, as GitHub answers them.

The 422 bodies are GitHub's as reported in public issues (see bot/sandbox/routes_pulls.py):
"A pull request already exists for owner:branch.", "No commits between main and branch",
and `{"field": "head", "code": "invalid"}` for a head branch that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.github.numbers import (
    HISTORY_REFS,
    Mark,
    list_reservations,
    mark_history,
    open_followup,
    release,
    reserve,
)
from bot.sandbox import GitHubDouble
from bot.sandbox.routes_pulls import CREATE_DOCS
from bot.sandbox.testing import Sandbox


async def raw_post(
    sandbox: Sandbox, token: str, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    async with sandbox.session.post(
        sandbox.base_url + path, json=body, headers=headers
    ) as response:
        return response.status, await response.json()


def branch_with_change(double: GitHubDouble, repo: str, branch: str) -> str:
    return double.push(repo, branch, {"keps/INDEX.md": "# Index\n"}, "index", "octo")


async def test_a_pull_request_is_created_with_201_by_the_app(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    head = branch_with_change(double, repo, "kepbot/number-pr-7")
    data = {"title": "Numbers", "head": "kepbot/number-pr-7", "base": "main", "body": "Why."}
    made = await gh.post(f"/repos/{repo}/pulls", data=data)
    assert made["state"] == "open" and made["title"] == "Numbers" and made["body"] == "Why."
    assert (made["head"]["ref"], made["head"]["sha"], made["base"]["ref"]) == (
        "kepbot/number-pr-7",
        head,
        "main",
    )
    assert made["user"]["login"] == double.bot_login
    assert double.pull(repo, made["number"]).title == "Numbers"
    files = await gh.getitem(f"/repos/{repo}/pulls/{made['number']}/files")
    assert [f["filename"] for f in files] == ["keps/INDEX.md"]


async def test_a_second_pull_request_for_the_same_head_is_422(
    sandbox: Sandbox, gh: GitHubAPI, double: GitHubDouble, repo: str, installation: int
) -> None:
    branch_with_change(double, repo, "dup")
    data = {"title": "One", "head": "dup", "base": "main"}
    await gh.post(f"/repos/{repo}/pulls", data=data)
    status, body = await raw_post(
        sandbox, double.installation_token(installation), f"/repos/{repo}/pulls", data
    )
    assert status == 422
    assert body == {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": "A pull request already exists for octo:dup.",
            }
        ],
        "documentation_url": CREATE_DOCS,
        "status": "422",
    }
    with pytest.raises(BadRequest, match="A pull request already exists for octo:dup"):
        await gh.post(f"/repos/{repo}/pulls", data={**data, "head": "octo:dup"})


async def test_a_head_with_nothing_new_is_no_commits_between(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    double.state.repo(repo).refs["refs/heads/same"] = double.branch_sha(repo, "main") or ""
    data = {"title": "Empty", "head": "same", "base": "main"}
    token = double.installation_token(installation)
    status, body = await raw_post(sandbox, token, f"/repos/{repo}/pulls", data)
    assert status == 422
    assert body["errors"] == [
        {"resource": "PullRequest", "code": "custom", "message": "No commits between main and same"}
    ]


async def test_unknown_head_or_base_is_an_invalid_field(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    branch_with_change(double, repo, "real")
    token = double.installation_token(installation)
    status, body = await raw_post(
        sandbox, token, f"/repos/{repo}/pulls", {"title": "x", "head": "ghost", "base": "main"}
    )
    assert (status, body["errors"]) == (
        422,
        [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
    )
    status, body = await raw_post(
        sandbox, token, f"/repos/{repo}/pulls", {"title": "x", "head": "real", "base": "ghost"}
    )
    assert (status, body["errors"]) == (
        422,
        [{"resource": "PullRequest", "field": "base", "code": "invalid"}],
    )
    status, body = await raw_post(sandbox, token, f"/repos/{repo}/pulls", {"title": "x"})
    assert status == 422 and body["message"] == 'Invalid request.\n\n"head" wasn\'t supplied.'


async def test_a_closed_pull_request_does_not_block_a_new_one(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    branch_with_change(double, repo, "again")
    first = await gh.post(
        f"/repos/{repo}/pulls", data={"title": "1", "head": "again", "base": "main"}
    )
    double.update_pull_request(repo, first["number"], state="closed")
    second = await gh.post(
        f"/repos/{repo}/pulls", data={"title": "2", "head": "again", "base": "main"}
    )
    assert second["number"] == first["number"] + 1


async def test_open_followup_reuses_the_open_pull_request_and_skips_an_empty_one(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    branch_with_change(double, repo, "kepbot/number-pr-3")
    made = await open_followup(gh, repo, "kepbot/number-pr-3", "main", "T", "B")
    again = await open_followup(gh, repo, "kepbot/number-pr-3", "main", "T", "B")
    assert made is not None and again is not None and again["number"] == made["number"]
    double.state.repo(repo).refs["refs/heads/empty"] = double.branch_sha(repo, "main") or ""
    assert await open_followup(gh, repo, "empty", "main", "T", "B") is None


async def test_concurrent_reservations_never_share_a_number(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    head = double.branch_sha(repo, "main") or ""
    clients = [await sandbox.installation_client(installation) for _ in range(6)]
    taken = await asyncio.gather(*(reserve(c, repo, head, 10, 2) for c in clients))
    numbers = [n for batch in taken for n in batch]
    assert sorted(numbers) == list(range(10, 22))
    listed = await list_reservations(clients[0], repo)
    assert listed == {n: head for n in numbers}
    await release(clients[0], repo, [10, 11])
    assert sorted(await list_reservations(clients[0], repo)) == list(range(12, 22))


async def test_the_history_mark_is_listed_with_the_reservations_and_moves_forward_only(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    first = double.branch_sha(repo, "main") or ""
    await reserve(gh, repo, first, 4, 1)
    assert (await list_reservations(gh, repo)).history is None
    assert await mark_history(gh, repo, None, Mark(3, first))
    listed = await list_reservations(gh, repo)
    assert listed == {4: first} and listed.history == Mark(3, first)
    later = double.push(repo, "main", {"docs/a.md": "a\n"}, "a")
    assert await mark_history(gh, repo, Mark(3, first), Mark(3, later))
    assert (await list_reservations(gh, repo)).history == Mark(3, later)
    # back to an older commit: not a fast-forward, refused, and the mark stays
    assert not await mark_history(gh, repo, Mark(3, later), Mark(3, first))
    assert (await list_reservations(gh, repo)).history == Mark(3, later)
    # a higher number is a new ref, and the old one goes
    assert await mark_history(gh, repo, Mark(3, later), Mark(9, later))
    refs = double.state.repo(repo).refs
    assert [name for name in refs if name.startswith(HISTORY_REFS)] == [f"{HISTORY_REFS}9"]
    assert (await list_reservations(gh, repo)).history == Mark(9, later)
