"""Contents API: reads share blob shas with the Git Data API; writes follow the conflict table
(422 when `sha` is missing for an existing file, 409 when it is stale)."""

from __future__ import annotations

import base64

import pytest
from gidgethub import BadRequest, InvalidField
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble

KEP = "keps/sig-node/1234-pod-stuff/kep.yaml"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_file_read_gives_base64_content_and_the_git_blob_sha(
    gh: GitHubAPI, repo: str
) -> None:
    item = await gh.getitem(f"/repos/{repo}/contents/{KEP}")
    blob = await gh.getitem(f"/repos/{repo}/git/blobs/{item['sha']}")
    assert item["type"] == "file" and item["encoding"] == "base64"
    assert base64.b64decode(item["content"]) == b"title: Pod stuff\nstatus: provisional\n"
    assert base64.b64decode(blob["content"]) == base64.b64decode(item["content"])


async def test_directory_read_lists_entries(gh: GitHubAPI, repo: str) -> None:
    listing = await gh.getitem(f"/repos/{repo}/contents/keps/sig-node/1234-pod-stuff")
    assert sorted((e["name"], e["type"]) for e in listing) == [
        ("README.md", "file"),
        ("kep.yaml", "file"),
    ]
    root = await gh.getitem(f"/repos/{repo}/contents")
    assert {e["name"]: e["type"] for e in root} == {"README.md": "file", "keps": "dir"}


async def test_raw_media_type_returns_the_bytes(gh: GitHubAPI, repo: str) -> None:
    raw = await gh.getitem(f"/repos/{repo}/contents/README.md", accept="application/vnd.github.raw")
    assert raw == "# Enhancements\n"


async def test_read_at_a_ref_and_missing_path(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "feature", {"README.md": "changed\n"})
    item = await gh.getitem(f"/repos/{repo}/contents/README.md?ref=feature")
    assert base64.b64decode(item["content"]) == b"changed\n"
    with pytest.raises(BadRequest) as missing:
        await gh.getitem(f"/repos/{repo}/contents/nope.md")
    assert missing.value.status_code == 404


async def test_create_answers_201_and_moves_the_branch(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    before = double.branch_sha(repo, "main")
    result = await gh.put(
        f"/repos/{repo}/contents/docs/new.md", data={"message": "add", "content": b64("new\n")}
    )
    assert double.requests[-1].status == 201
    assert double.file_at(repo, "main", "docs/new.md") == b"new\n"
    assert result["commit"]["parents"][0]["sha"] == before
    assert double.branch_sha(repo, "main") == result["commit"]["sha"]
    assert (
        result["content"]["sha"] == (await gh.getitem(f"/repos/{repo}/contents/docs/new.md"))["sha"]
    )


async def test_update_with_current_sha_answers_200(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    current = await gh.getitem(f"/repos/{repo}/contents/{KEP}")
    await gh.put(
        f"/repos/{repo}/contents/{KEP}",
        data={
            "message": "accept",
            "content": b64("status: implementable\n"),
            "sha": current["sha"],
        },
    )
    assert double.requests[-1].status == 200
    assert double.file_at(repo, "main", KEP) == b"status: implementable\n"


async def test_update_without_sha_is_422(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(InvalidField) as error:
        await gh.put(f"/repos/{repo}/contents/{KEP}", data={"message": "m", "content": b64("x")})
    assert error.value.status_code == 422
    assert str(error.value) == 'Invalid request.\n\n"sha" wasn\'t supplied.'


async def test_update_with_stale_sha_is_409(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    stale = (await gh.getitem(f"/repos/{repo}/contents/{KEP}"))["sha"]
    double.push(repo, "main", {KEP: "status: implemented\n"}, "someone else", "bob")
    with pytest.raises(BadRequest) as error:
        await gh.put(
            f"/repos/{repo}/contents/{KEP}",
            data={"message": "m", "content": b64("x"), "sha": stale},
        )
    assert error.value.status_code == 409
    assert str(error.value) == f"{KEP} does not match {stale}"
    assert double.file_at(repo, "main", KEP) == b"status: implemented\n"


async def test_write_after_another_file_changed_still_succeeds(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    current = (await gh.getitem(f"/repos/{repo}/contents/{KEP}"))["sha"]
    double.push(repo, "main", {"README.md": "other change\n"})
    await gh.put(
        f"/repos/{repo}/contents/{KEP}",
        data={"message": "m", "content": b64("y\n"), "sha": current},
    )
    assert double.file_at(repo, "main", "README.md") == b"other change\n"
    assert double.file_at(repo, "main", KEP) == b"y\n"


async def test_new_path_ignores_any_sha(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    await gh.put(
        f"/repos/{repo}/contents/fresh.md",
        data={"message": "m", "content": b64("f\n"), "sha": "0" * 40},
    )
    assert double.requests[-1].status == 201


async def test_unknown_branch_is_404(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.put(
            f"/repos/{repo}/contents/x.md",
            data={"message": "m", "content": b64("x"), "branch": "nope"},
        )
    assert error.value.status_code == 404


async def test_delete_needs_the_current_sha(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    with pytest.raises(BadRequest) as stale:
        await gh.delete(
            f"/repos/{repo}/contents/README.md", data={"message": "rm", "sha": "1" * 40}
        )
    assert stale.value.status_code == 409
    current = (await gh.getitem(f"/repos/{repo}/contents/README.md"))["sha"]
    await gh.delete(f"/repos/{repo}/contents/README.md", data={"message": "rm", "sha": current})
    assert double.file_at(repo, "main", "README.md") is None


async def test_bot_commits_are_attributed_to_the_app_bot(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    result = await gh.put(
        f"/repos/{repo}/contents/a.md", data={"message": "m", "content": b64("a")}
    )
    author = result["commit"]["author"]
    assert author["name"] == double.bot_login == "kepbot[bot]"
    assert author["email"].endswith("+kepbot[bot]@users.noreply.github.com")


async def test_protected_branch_refuses_direct_writes(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.protect_branch(repo, "main")
    with pytest.raises(BadRequest) as error:
        await gh.put(f"/repos/{repo}/contents/a.md", data={"message": "m", "content": b64("a")})
    assert error.value.status_code == 409
    assert "pull request" in str(error.value)
    double.protect_branch(repo, "main", bypass=[double.bot_login])
    await gh.put(f"/repos/{repo}/contents/a.md", data={"message": "m", "content": b64("a")})
    assert double.file_at(repo, "main", "a.md") == b"a"
