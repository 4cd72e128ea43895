"""Pull requests: files from the merge base, pagination with Link headers, merge semantics,
updates, and head branches in forks."""

from __future__ import annotations

import base64

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox


def new_kep(double: GitHubDouble, repo: str, author: str = "alice") -> int:
    return double.open_pull_request(
        repo,
        "new-kep",
        {"keps/sig-node/NNNN-new/kep.yaml": "title: New\nstatus: provisional\n"},
        "KEP: new",
        "Adds a KEP",
        author,
    )


async def test_pull_shows_head_base_and_counts(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = new_kep(double, repo)
    pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert pr["number"] == number and pr["state"] == "open" and pr["merged"] is False
    assert pr["head"]["ref"] == "new-kep" and pr["head"]["sha"] == double.branch_sha(
        repo, "new-kep"
    )
    assert pr["base"]["ref"] == "main" and pr["base"]["repo"]["full_name"] == repo
    assert (pr["mergeable"], pr["mergeable_state"]) == (True, "clean")
    assert (pr["commits"], pr["changed_files"], pr["additions"]) == (1, 1, 2)
    assert pr["user"]["login"] == "alice" and pr["author_association"] == "NONE"


async def test_issue_and_pull_share_numbers(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    issue = double.open_issue(repo, "Tracking issue")
    number = new_kep(double, repo)
    assert number == issue + 1
    as_issue = await gh.getitem(f"/repos/{repo}/issues/{number}")
    assert as_issue["pull_request"]["url"].endswith(f"/pulls/{number}")
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}/pulls/{issue}")
    assert error.value.status_code == 404


async def test_files_statuses_use_the_merge_base(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = double.open_pull_request(
        repo,
        "rename",
        {
            "keps/sig-node/1234-pod-stuff/kep.yaml": None,
            "keps/sig-node/1234-pod-stuff/metadata.yaml": "title: Pod stuff\nstatus: provisional\n",
            "README.md": "# Enhancements\n\nMore.\n",
            "new.md": "new\n",
        },
        "Restructure",
    )
    double.push(repo, "main", {"unrelated.md": "main moved on\n"})
    files = {f["filename"]: f async for f in gh.getiter(f"/repos/{repo}/pulls/{number}/files")}
    assert files["keps/sig-node/1234-pod-stuff/metadata.yaml"]["status"] == "renamed"
    assert (
        files["keps/sig-node/1234-pod-stuff/metadata.yaml"]["previous_filename"]
        == "keps/sig-node/1234-pod-stuff/kep.yaml"
    )
    assert files["README.md"]["status"] == "modified" and files["README.md"]["additions"] == 2
    assert files["new.md"]["status"] == "added"
    assert "unrelated.md" not in files
    content = await gh.getitem(files["new.md"]["contents_url"])
    assert base64.b64decode(content["content"]) == b"new\n"


async def test_120_files_paginate_with_link_headers(
    sandbox: Sandbox, gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    changes = {f"docs/file-{i:03d}.md": f"{i}\n" for i in range(120)}
    number = double.open_pull_request(repo, "many", changes, "Many files")
    listed = [f["filename"] async for f in gh.getiter(f"/repos/{repo}/pulls/{number}/files")]
    assert listed == sorted(changes)
    pages = [r for r in double.requests if r.path.endswith(f"/pulls/{number}/files")]
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3", "4"]

    token = await sandbox.installation_token(1)
    url = f"{sandbox.base_url}/repos/{repo}/pulls/{number}/files?per_page=50&page=2"
    async with sandbox.session.get(url, headers={"Authorization": f"token {token}"}) as response:
        link = response.headers["Link"]
        assert len(await response.json()) == 50
    rels = dict(part.split("; ")[::-1] for part in link.split(", "))
    assert set(rels) == {'rel="prev"', 'rel="next"', 'rel="last"', 'rel="first"'}
    assert (
        rels['rel="last"']
        == f"<{sandbox.base_url}/repos/{repo}/pulls/{number}/files?per_page=50&page=3>"
    )
    assert "page=1" in rels['rel="first"'] and "page=3" in rels['rel="next"']


async def test_merge_creates_a_two_parent_commit_on_base(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = new_kep(double, repo)
    base, head = double.branch_sha(repo, "main"), double.branch_sha(repo, "new-kep")
    result = await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={"sha": head})
    assert result == {
        "sha": result["sha"],
        "merged": True,
        "message": "Pull Request successfully merged",
    }
    merge = double.commit(result["sha"])
    assert merge.parents == (base, head)
    assert merge.message.startswith(f"Merge pull request #{number} from octo/new-kep")
    pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert (pr["merged"], pr["state"], pr["merge_commit_sha"]) == (True, "closed", result["sha"])
    assert pr["merged_by"]["login"] == double.bot_login
    assert await gh.getstatus(f"/repos/{repo}/pulls/{number}/merge") == 204
    files = [f async for f in gh.getiter(f"/repos/{repo}/pulls/{number}/files")]
    assert [f["filename"] for f in files] == ["keps/sig-node/NNNN-new/kep.yaml"]


async def test_squash_merge_has_one_parent(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    number = new_kep(double, repo)
    base = double.branch_sha(repo, "main")
    result = await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={"merge_method": "squash"})
    squash = double.commit(result["sha"])
    assert squash.parents == (base,)
    assert squash.message == f"KEP: new (#{number})"
    assert double.file_at(repo, "main", "keps/sig-node/NNNN-new/kep.yaml") is not None


async def test_merge_with_moved_head_is_409(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    number = new_kep(double, repo)
    seen = double.branch_sha(repo, "new-kep")
    double.push(repo, "new-kep", {"more.md": "more\n"})
    with pytest.raises(BadRequest) as error:
        await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={"sha": seen})
    assert error.value.status_code == 409
    assert str(error.value) == "Head branch was modified. Review and try the merge again."


async def test_conflicting_pull_is_not_mergeable(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = double.open_pull_request(repo, "edit", {"README.md": "# Mine\n"}, "Edit README")
    double.push(repo, "main", {"README.md": "# Theirs\n"})
    pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert (pr["mergeable"], pr["mergeable_state"]) == (False, "dirty")
    with pytest.raises(BadRequest) as error:
        await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={})
    assert error.value.status_code == 405
    assert str(error.value) == "Pull Request is not mergeable"


async def test_mergeability_not_yet_computed_is_null(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = new_kep(double, repo)
    double.set_mergeable(repo, number, None)
    pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert (pr["mergeable"], pr["mergeable_state"]) == (None, "unknown")


async def test_required_check_blocks_merge_until_it_passes(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.protect_branch(repo, "main", required_checks=["kepbot"])
    number = new_kep(double, repo)
    with pytest.raises(BadRequest) as error:
        await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={})
    assert error.value.status_code == 405
    assert "kepbot" in str(error.value)
    head = double.branch_sha(repo, "new-kep")
    await gh.post(
        f"/repos/{repo}/check-runs",
        data={"name": "kepbot", "head_sha": head, "conclusion": "success"},
    )
    await gh.put(f"/repos/{repo}/pulls/{number}/merge", data={})
    assert (await gh.getitem(f"/repos/{repo}/pulls/{number}"))["merged"] is True


async def test_update_title_body_and_state(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    number = new_kep(double, repo)
    pr = await gh.patch(f"/repos/{repo}/pulls/{number}", data={"title": "KEP-7: new", "body": "b"})
    assert (pr["title"], pr["body"]) == ("KEP-7: new", "b")
    closed = await gh.patch(f"/repos/{repo}/pulls/{number}", data={"state": "closed"})
    assert closed["state"] == "closed" and closed["merged"] is False and closed["closed_at"]
    reopened = await gh.patch(f"/repos/{repo}/pulls/{number}", data={"state": "open"})
    assert reopened["state"] == "open"


async def test_list_filters_by_state_and_base(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    first = new_kep(double, repo)
    second = double.open_pull_request(repo, "other", {"o.md": "o\n"}, "Other")
    double.update_pull_request(repo, second, state="closed")
    open_numbers = [p["number"] async for p in gh.getiter(f"/repos/{repo}/pulls")]
    every = [p["number"] async for p in gh.getiter(f"/repos/{repo}/pulls?state=all")]
    assert open_numbers == [first]
    assert sorted(every) == [first, second]


async def test_bot_may_push_to_a_fork_only_when_maintainers_can_modify(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    allowed = double.open_pull_request(
        repo, "fork-kep", {"keps/x.md": "x\n"}, "From a fork", author="carol", fork_owner="carol"
    )
    pr = await gh.getitem(f"/repos/{repo}/pulls/{allowed}")
    assert pr["head"]["repo"]["full_name"] == "carol/enhancements"
    assert pr["head"]["repo"]["fork"] is True and pr["maintainer_can_modify"] is True
    current = await gh.getitem("/repos/carol/enhancements/contents/keps/x.md?ref=fork-kep")
    data = {
        "message": "bot edit",
        "content": base64.b64encode(b"y\n").decode(),
        "sha": current["sha"],
        "branch": "fork-kep",
    }
    await gh.put("/repos/carol/enhancements/contents/keps/x.md", data=data)
    assert double.file_at("carol/enhancements", "fork-kep", "keps/x.md") == b"y\n"

    double.update_pull_request(repo, allowed, state="closed")
    with pytest.raises(BadRequest) as error:
        await gh.put("/repos/carol/enhancements/contents/keps/x.md", data={**data, "sha": None})
    assert error.value.status_code == 403
    assert str(error.value) == "Resource not accessible by integration"
