"""Reading and writing files through the double: conditional writes that keep a human commit
made between the bot's read and its write, multi-file commits, protection, exhaustion."""

from __future__ import annotations

import pytest

from bot.github.client import KepbotAPI
from bot.github.repo import (
    BranchProtected,
    Plan,
    RepoConflict,
    Snapshot,
    commit_files,
    list_paths,
    read_file,
    update_file,
)
from bot.sandbox import GitHubDouble

from .conftest import KEP, SEED_FILES, FakeSleep, requests

FOLDER = "keps/sig-node/1234-pod-stuff"


def messages(double: GitHubDouble, repo: str, branch: str = "main") -> list[str]:
    return [commit.message for _, commit in double.commits(repo, branch)]


async def test_read_file_gives_text_and_the_blob_sha(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    found = await read_file(gh, repo, KEP, "main")
    assert found is not None
    assert found.text == SEED_FILES[KEP]
    blob = await gh.getitem(f"/repos/{repo}/git/blobs/{found.sha}")
    assert blob["sha"] == found.sha
    double.push(repo, "feature", {KEP: "status: implementable\n"})
    on_branch = await read_file(gh, repo, KEP, "feature")
    assert on_branch is not None and on_branch.text == "status: implementable\n"
    assert await read_file(gh, repo, "missing.md", "main") is None
    assert await read_file(gh, repo, FOLDER, "main") is None  # a directory is no file


async def test_list_paths_lists_every_file(gh: KepbotAPI, repo: str) -> None:
    assert await list_paths(gh, repo, "main") == sorted(SEED_FILES)


async def test_list_paths_walks_subtrees_when_the_listing_is_truncated(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.push(repo, "main", {"keps/sig-apps/99-x/kep.yaml": "status: provisional\n"})
    full = await gh.getitem(f"/repos/{repo}/git/trees/main?recursive=1")
    partial = {**full, "truncated": True, "tree": full["tree"][:2]}
    double.inject("GET", r"/git/trees/main$", 200, body=partial)
    since = len(double.requests)
    paths = await list_paths(gh, repo, "main")
    assert paths == sorted([*SEED_FILES, "keps/sig-apps/99-x/kep.yaml"])
    walked = [r.path.rsplit("/", 1)[-1] for r in requests(double, "GET", "/git/trees/", since)]
    keps = next(e["sha"] for e in full["tree"] if e["path"] == "keps")
    assert walked == ["main", full["sha"], keps]  # truncated, the root alone, then keps/


async def test_update_file_writes_conditionally(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    read = await read_file(gh, repo, KEP, "main")
    result = await update_file(
        gh, repo, "main", KEP, lambda t: t.replace("provisional", "implementable"), "Accept"
    )
    assert result.attempts == 1 and not result.unchanged
    assert result.commit == double.branch_sha(repo, "main")
    assert double.file_at(repo, "main", KEP) == b"title: Pod stuff\nstatus: implementable\n"
    put = requests(double, "PUT", "/contents/")[-1]
    assert read is not None and put.body["sha"] == read.sha and put.body["branch"] == "main"


async def test_update_file_with_nothing_to_change_writes_nothing(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    head = double.branch_sha(repo, "main")
    same = await update_file(gh, repo, "main", KEP, lambda t: t, "Noop")
    skipped = await update_file(gh, repo, "main", KEP, lambda t: None, "Noop")
    assert same.unchanged and skipped.unchanged and same.commit is None
    assert double.branch_sha(repo, "main") == head
    assert requests(double, "PUT", "/contents/") == []


async def test_update_file_creates_a_missing_file(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    result = await update_file(gh, repo, "main", "docs/index.md", lambda t: t + "index\n", "Add")
    assert result.attempts == 1
    assert double.file_at(repo, "main", "docs/index.md") == b"index\n"


async def test_update_file_keeps_a_human_commit_made_between_read_and_write(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    seen: list[str] = []

    def edit(text: str) -> str:
        seen.append(text)
        if len(seen) == 1:  # a person commits right after the bot has read the file
            double.push(repo, "main", {KEP: text + "owning-sig: sig-node\n"}, "Human edit")
        return text.replace("provisional", "implementable")

    result = await update_file(gh, repo, "main", KEP, edit, "Accept")
    assert result.attempts == 2
    assert seen[1] == SEED_FILES[KEP] + "owning-sig: sig-node\n"
    final = double.file_at(repo, "main", KEP)
    assert final == b"title: Pod stuff\nstatus: implementable\nowning-sig: sig-node\n"
    assert messages(double, repo)[:3] == ["Accept", "Human edit", "Initial commit"]
    assert [r.status for r in requests(double, "PUT", "/contents/")] == [409, 200]
    assert len(sleeps.calls) == 1 and 0 <= sleeps.calls[0] <= 0.2


async def test_update_file_raises_repo_conflict_when_the_branch_keeps_moving(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    def edit(text: str) -> str:
        double.push(repo, "main", {KEP: text + "#\n"}, "Human edit")
        return text + "bot\n"

    with pytest.raises(RepoConflict) as conflict:
        await update_file(gh, repo, "main", KEP, edit, "Bot edit", attempts=3)
    assert conflict.value.attempts == 3 and "does not match" in conflict.value.message
    assert "Bot edit" not in messages(double, repo)
    assert len(requests(double, "PUT", "/contents/")) == 3


async def test_update_file_on_a_protected_branch_raises_branch_protected(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.protect_branch(repo, "main")
    with pytest.raises(BranchProtected) as refused:
        await update_file(gh, repo, "main", KEP, lambda t: t + "x\n", "Edit")
    assert "pull request" in refused.value.message
    assert len(requests(double, "PUT", "/contents/")) == 1


def rename_plan(calls: list[Snapshot]) -> Plan:
    """Number the KEP: move its folder and set the README title from what the snapshot holds."""

    async def plan(snapshot: Snapshot) -> dict[str, str | None]:
        calls.append(snapshot)
        kep = await snapshot.read(KEP)
        readme = await snapshot.read(f"{FOLDER}/README.md")
        assert kep is not None and readme is not None
        return {
            KEP: None,
            f"{FOLDER}/README.md": None,
            "keps/sig-node/5000-pod-stuff/kep.yaml": kep + "kep-number: 5000\n",
            "keps/sig-node/5000-pod-stuff/README.md": readme.replace("1234", "5000"),
        }

    return plan


async def test_commit_files_makes_one_commit_with_a_rename(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    calls: list[Snapshot] = []
    head = double.branch_sha(repo, "main")
    result = await commit_files(gh, repo, "main", rename_plan(calls), "Number KEP-5000")
    assert result.commit is not None and result.commit == double.branch_sha(repo, "main")
    assert result.attempts == 1 and calls[0].commit == head
    assert double.commit(result.commit).parents == (head,)
    assert double.file_at(repo, "main", KEP) is None
    assert double.file_at(repo, "main", "keps/sig-node/5000-pod-stuff/README.md") == (
        b"# KEP-5000: Pod stuff\n\n## Summary\n"
    )
    assert len(result.paths) == 4
    patch = requests(double, "PATCH", "/git/refs/heads/main")[-1]
    assert patch.body == {"sha": result.commit, "force": False}


async def test_commit_files_recomputes_after_a_non_fast_forward(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    calls: list[Snapshot] = []
    base = rename_plan(calls)

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        if not calls:  # a person pushes while the bot builds its commit
            double.push(repo, "main", {f"{FOLDER}/README.md": "# KEP-1234: Pods!\n"}, "Human")
        return await base(snapshot)

    result = await commit_files(gh, repo, "main", plan, "Number KEP-5000")
    assert result.attempts == 2 and len(calls) == 2
    assert calls[1].commit == double.commits(repo, "main")[1][0]  # built on the human commit
    assert double.file_at(repo, "main", "keps/sig-node/5000-pod-stuff/README.md") == (
        b"# KEP-5000: Pods!\n"
    )
    assert messages(double, repo)[:3] == ["Number KEP-5000", "Human", "Initial commit"]
    assert [r.status for r in requests(double, "PATCH", "/git/refs/")] == [422, 200]


async def test_commit_files_with_no_changes_commits_nothing(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    async def nothing(snapshot: Snapshot) -> None:
        return None

    async def same(snapshot: Snapshot) -> dict[str, str | None]:
        return {"README.md": await snapshot.read("README.md")}

    head = double.branch_sha(repo, "main")
    assert (await commit_files(gh, repo, "main", nothing, "x")).unchanged
    assert (await commit_files(gh, repo, "main", same, "x")).unchanged
    assert double.branch_sha(repo, "main") == head
    assert requests(double, "POST", "/git/commits") == []


async def test_commit_files_on_a_protected_branch_raises_branch_protected(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    double.protect_branch(repo, "main", require_pull_request=False, required_checks=["kepbot"])
    head = double.branch_sha(repo, "main")
    with pytest.raises(BranchProtected) as refused:
        await commit_files(gh, repo, "main", rename_plan([]), "Number")
    assert "kepbot" in refused.value.message
    assert double.branch_sha(repo, "main") == head
    assert len(requests(double, "PATCH", "/git/refs/")) == 1
