"""Labels, issue comments and reactions on pull requests."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest, InvalidField
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox


@pytest.fixture
def number(double: GitHubDouble, repo: str) -> int:
    return double.open_pull_request(repo, "kep", {"k.md": "k\n"}, "KEP", author="alice")


async def test_adding_labels_creates_missing_ones_and_keeps_order(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    double.add_label(repo, "kind/kep", "0e8a16", "A proposal")
    labels = await gh.post(
        f"/repos/{repo}/issues/{number}/labels", data={"labels": ["kind/kep", "status/provisional"]}
    )
    assert [label["name"] for label in labels] == ["kind/kep", "status/provisional"]
    assert labels[0]["color"] == "0e8a16" and labels[1]["color"] == "ededed"
    again = await gh.post(f"/repos/{repo}/issues/{number}/labels", data={"labels": ["KIND/KEP"]})
    assert [label["name"] for label in again] == ["kind/kep", "status/provisional"]
    assert double.labels(repo, number) == ["kind/kep", "status/provisional"]


async def test_set_labels_replaces_them(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    double.label_issue(repo, number, "status/provisional", "sig/node")
    labels = await gh.put(
        f"/repos/{repo}/issues/{number}/labels", data={"labels": ["status/implementable"]}
    )
    assert [label["name"] for label in labels] == ["status/implementable"]


async def test_removing_a_label_not_on_the_issue_is_404(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    double.label_issue(repo, number, "status/provisional", "sig/node")
    await gh.delete(f"/repos/{repo}/issues/{number}/labels/sig%2Fnode")
    assert double.requests[-1].status == 200
    assert double.labels(repo, number) == ["status/provisional"]
    with pytest.raises(BadRequest) as error:
        await gh.delete(f"/repos/{repo}/issues/{number}/labels/sig%2Fnode")
    assert error.value.status_code == 404


async def test_creating_a_duplicate_repo_label_is_422(gh: GitHubAPI, repo: str) -> None:
    label = await gh.post(
        f"/repos/{repo}/labels", data={"name": "status/deferred", "color": "#CCCCCC"}
    )
    assert label["color"] == "cccccc"
    with pytest.raises(InvalidField) as error:
        await gh.post(f"/repos/{repo}/labels", data={"name": "Status/Deferred", "color": "aaaaaa"})
    assert error.value.status_code == 422
    assert error.value.errors == [
        {"resource": "Label", "field": "name", "code": "already_exists", "value": "Status/Deferred"}
    ]
    fetched = await gh.getitem(f"/repos/{repo}/labels/status%2Fdeferred")
    assert fetched["name"] == "status/deferred"


async def test_comment_create_edit_delete(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    comment = await gh.post(
        f"/repos/{repo}/issues/{number}/comments", data={"body": "<!-- kepbot -->\nstatus"}
    )
    assert comment["user"]["login"] == double.bot_login
    assert comment["user"]["type"] == "Bot"
    assert comment["performed_via_github_app"]["slug"] == "kepbot"
    assert comment["html_url"].endswith(f"/pull/{number}#issuecomment-{comment['id']}")
    edited = await gh.patch(
        f"/repos/{repo}/issues/comments/{comment['id']}", data={"body": "<!-- kepbot -->\nnew"}
    )
    assert edited["body"].endswith("new") and edited["created_at"] <= edited["updated_at"]
    listed = [c["body"] async for c in gh.getiter(f"/repos/{repo}/issues/{number}/comments")]
    assert listed == ["<!-- kepbot -->\nnew"]
    await gh.delete(f"/repos/{repo}/issues/comments/{comment['id']}")
    assert double.comments(repo, number) == []
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}/issues/comments/{comment['id']}")
    assert error.value.status_code == 404


async def test_empty_comment_is_422(gh: GitHubAPI, repo: str, number: int) -> None:
    with pytest.raises(InvalidField):
        await gh.post(f"/repos/{repo}/issues/{number}/comments", data={"body": "  "})


async def test_seeded_comments_show_author_association(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    double.set_permission(repo, "bob", "write")
    double.add_comment(repo, number, "/kep accept", "bob")
    double.add_comment(repo, number, "/kep approve", "octo")
    comments = [c async for c in gh.getiter(f"/repos/{repo}/issues/{number}/comments")]
    assert [(c["user"]["login"], c["author_association"]) for c in comments] == [
        ("bob", "COLLABORATOR"),
        ("octo", "OWNER"),
    ]


async def test_reaction_is_201_when_new_and_200_when_repeated(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    comment = double.add_comment(repo, number, "/kep accept", "bob")
    url = f"/repos/{repo}/issues/comments/{comment.id}/reactions"
    first = await gh.post(url, data={"content": "+1"})
    assert double.requests[-1].status == 201
    second = await gh.post(url, data={"content": "+1"})
    assert double.requests[-1].status == 200
    assert first["id"] == second["id"]
    await gh.post(url, data={"content": "eyes"})
    assert [r.content for r in double.reactions(repo, comment_id=comment.id)] == ["+1", "eyes"]
    only_eyes = [r async for r in gh.getiter(url + "?content=eyes")]
    assert [r["content"] for r in only_eyes] == ["eyes"]
    fetched = await gh.getitem(f"/repos/{repo}/issues/comments/{comment.id}")
    assert fetched["reactions"]["total_count"] == 2 and fetched["reactions"]["+1"] == 1


async def test_reaction_on_the_pull_request_itself(
    gh: GitHubAPI, double: GitHubDouble, repo: str, number: int
) -> None:
    await gh.post(f"/repos/{repo}/issues/{number}/reactions", data={"content": "rocket"})
    assert double.requests[-1].status == 201
    with pytest.raises(InvalidField):
        await gh.post(f"/repos/{repo}/issues/{number}/reactions", data={"content": "thumbsup"})
    assert [r.content for r in double.reactions(repo, number=number)] == ["rocket"]


async def test_reactions_need_the_issues_permission(
    sandbox: Sandbox, double: GitHubDouble, repo: str, number: int
) -> None:
    narrow = double.add_installation(
        "octo", permissions={"pull_requests": "write", "metadata": "read"}
    )
    gh = await sandbox.installation_client(narrow)
    comment = double.add_comment(repo, number, "/kep accept", "bob")
    await gh.post(f"/repos/{repo}/issues/{number}/comments", data={"body": "allowed via PRs"})
    with pytest.raises(BadRequest) as error:
        await gh.post(
            f"/repos/{repo}/issues/comments/{comment.id}/reactions", data={"content": "+1"}
        )
    assert error.value.status_code == 403
    assert error.value.headers["x-accepted-github-permissions"] == "issues=write"
