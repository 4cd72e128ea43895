"""Git Data API: blob → tree → commit → ref, fast-forward-only ref updates, ref conflicts."""

from __future__ import annotations

import base64

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.gitstore import object_sha


async def commit_file(gh: GitHubAPI, repo: str, parent: str, path: str, text: str) -> str:
    """The bot's atomic write: blob, tree on the parent's tree, commit; returns the commit sha."""
    blob = await gh.post(f"/repos/{repo}/git/blobs", data={"content": text, "encoding": "utf-8"})
    parent_commit = await gh.getitem(f"/repos/{repo}/git/commits/{parent}")
    tree = await gh.post(
        f"/repos/{repo}/git/trees",
        data={
            "base_tree": parent_commit["tree"]["sha"],
            "tree": [{"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]}],
        },
    )
    commit = await gh.post(
        f"/repos/{repo}/git/commits",
        data={"message": f"edit {path}", "tree": tree["sha"], "parents": [parent]},
    )
    return str(commit["sha"])


async def test_full_write_flow_fast_forwards_the_branch(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    ref = await gh.getitem(f"/repos/{repo}/git/ref/heads/main")
    new = await commit_file(gh, repo, ref["object"]["sha"], "keps/index.md", "# Index\n")
    updated = await gh.patch(f"/repos/{repo}/git/refs/heads/main", data={"sha": new})
    assert updated["object"]["sha"] == new == double.branch_sha(repo, "main")
    assert double.file_at(repo, "main", "keps/index.md") == b"# Index\n"
    assert double.file_at(repo, "main", "README.md") == b"# Enhancements\n"


async def test_blob_sha_is_gits_and_matches_the_contents_api(gh: GitHubAPI, repo: str) -> None:
    blob = await gh.post(
        f"/repos/{repo}/git/blobs",
        data={"content": base64.b64encode(b"\x00binary").decode(), "encoding": "base64"},
    )
    assert blob["sha"] == object_sha("blob", b"\x00binary")
    readme = await gh.getitem(f"/repos/{repo}/contents/README.md")
    assert readme["sha"] == object_sha("blob", b"# Enhancements\n")


async def test_non_fast_forward_update_is_refused_without_force(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    base = double.branch_sha(repo, "main")
    assert base is not None
    mine = await commit_file(gh, repo, base, "a.md", "mine\n")
    double.push(repo, "main", {"b.md": "theirs\n"}, "concurrent write")
    with pytest.raises(BadRequest) as error:
        await gh.patch(f"/repos/{repo}/git/refs/heads/main", data={"sha": mine, "force": False})
    assert error.value.status_code == 422
    assert str(error.value) == "Update is not a fast forward"
    assert double.file_at(repo, "main", "b.md") == b"theirs\n"
    await gh.patch(f"/repos/{repo}/git/refs/heads/main", data={"sha": mine, "force": True})
    assert double.branch_sha(repo, "main") == mine


async def test_creating_an_existing_ref_is_422(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    sha = double.branch_sha(repo, "main")
    created = await gh.post(f"/repos/{repo}/git/refs", data={"ref": "refs/heads/topic", "sha": sha})
    assert created["ref"] == "refs/heads/topic"
    assert double.requests[-1].status == 201
    with pytest.raises(BadRequest) as error:
        await gh.post(f"/repos/{repo}/git/refs", data={"ref": "refs/heads/topic", "sha": sha})
    assert error.value.status_code == 422
    assert str(error.value) == "Reference already exists"


async def test_unknown_ref_is_404_and_matching_refs_lists_by_prefix(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "feature-a", {"x": "1"})
    double.push(repo, "feature-b", {"x": "2"})
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}/git/ref/heads/feature")
    assert error.value.status_code == 404
    refs = await gh.getitem(f"/repos/{repo}/git/matching-refs/heads/feature")
    assert [r["ref"] for r in refs] == ["refs/heads/feature-a", "refs/heads/feature-b"]


async def test_recursive_tree_lists_nested_paths_with_modes(gh: GitHubAPI, repo: str) -> None:
    tree = await gh.getitem(f"/repos/{repo}/git/trees/main?recursive=1")
    modes = {entry["path"]: entry["mode"] for entry in tree["tree"]}
    assert modes["keps"] == "040000"
    assert modes["keps/sig-node/1234-pod-stuff/kep.yaml"] == "100644"
    flat = await gh.getitem(f"/repos/{repo}/git/trees/main")
    assert {entry["path"] for entry in flat["tree"]} == {"README.md", "keps"}


async def test_tree_entry_with_null_sha_deletes_a_path(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    head = await gh.getitem(f"/repos/{repo}/git/commits/{double.branch_sha(repo, 'main')}")
    tree = await gh.post(
        f"/repos/{repo}/git/trees",
        data={
            "base_tree": head["tree"]["sha"],
            "tree": [{"path": "README.md", "mode": "100644", "type": "blob", "sha": None}],
        },
    )
    assert "README.md" not in {entry["path"] for entry in tree["tree"]}
    with pytest.raises(BadRequest) as error:
        await gh.post(
            f"/repos/{repo}/git/trees",
            data={"tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": "f" * 40}]},
        )
    assert error.value.status_code == 422


async def test_commit_rejects_unknown_tree_and_parent(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.post(f"/repos/{repo}/git/commits", data={"message": "m", "tree": "e" * 40})
    assert error.value.status_code == 422


async def test_protected_branch_refuses_ref_updates(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    base = double.branch_sha(repo, "main")
    assert base is not None
    new = await commit_file(gh, repo, base, "a.md", "a\n")
    double.protect_branch(repo, "main")
    with pytest.raises(BadRequest) as error:
        await gh.patch(f"/repos/{repo}/git/refs/heads/main", data={"sha": new})
    assert error.value.status_code == 422
    assert double.branch_sha(repo, "main") == base


async def test_compare_reports_ahead_and_files(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "topic", {"new.md": "n\n"})
    result = await gh.getitem(f"/repos/{repo}/compare/main...topic")
    assert (result["status"], result["ahead_by"], result["behind_by"]) == ("ahead", 1, 0)
    assert [f["filename"] for f in result["files"]] == ["new.md"]
