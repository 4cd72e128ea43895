"""What a pull request changes, fetched as the trees the engine validates.

The head version is read through the base repository (GitHub serves a fork PR's commits
there too), the base version from the base branch as it stands now: a status is compared
with the default branch, not with the commit the PR started from. The head's file list is
the base's with the PR's additions and removals applied, which saves listing the head's
tree (a file the base branch gained since the PR started shows on both sides).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.engine.config import Config
from bot.engine.proposal import document_path, load_proposal, owning_proposal
from bot.engine.prr import prr_files
from bot.engine.tree import FetchedTree
from bot.github.read_cache import COMMIT_SHA, read_cache
from bot.github.repo import FileVersion, list_paths, read_file
from bot.github.urls import repo_url


@dataclass
class ChangeTrees:
    head: FetchedTree
    base: FetchedTree
    changed: list[str]
    proposals: list[str]
    versions: dict[str, FileVersion] = field(default_factory=dict)  # head files as read

    def written(self, path: str, text: str) -> None:
        """Record that the bot wrote `text` to `path` on the head branch."""
        self.head.files[path] = text
        self.versions.pop(path, None)


@dataclass(frozen=True)
class PullFiles:
    """The PR's diff as GitHub lists it: every path touched, and what the head adds or drops."""

    changed: list[str]
    added: set[str]
    removed: set[str]


async def pull_files(
    gh: GitHubAPI, repo: str, number: int, at: tuple[str, str] | None = None
) -> PullFiles:
    """The PR's diff; with `at` (its head sha and base branch), kept a short while for that
    head and base (see `bot.github.read_cache`)."""
    if at is None:
        return await _list_files(gh, repo, number)
    cache = read_cache(gh)
    key = (repo.lower(), number, *at)
    return await cache.kept(cache.pull_files, key, lambda: _list_files(gh, repo, number))


def pull_at(pull: dict[str, Any]) -> tuple[str, str]:
    """A PR's (head sha, base branch): what its file list depends on."""
    return str(pull["head"]["sha"]), str(pull["base"]["ref"])


async def _list_files(gh: GitHubAPI, repo: str, number: int) -> PullFiles:
    changed: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    files = repo_url(repo, "pulls", number, "files", query={"per_page": 100})
    async for item in gh.getiter(files):
        name, status = item["filename"], item.get("status")
        changed.add(name)
        if status in ("added", "renamed", "copied"):
            added.add(name)
        if status == "removed":
            removed.add(name)
        if item.get("previous_filename"):
            changed.add(item["previous_filename"])
            if status == "renamed":
                removed.add(item["previous_filename"])
    return PullFiles(sorted(changed), added, removed)


async def changed_paths(gh: GitHubAPI, repo: str, number: int) -> list[str]:
    """Every path the PR touches, old names of renamed files included."""
    return (await pull_files(gh, repo, number)).changed


async def _read(
    gh: GitHubAPI, repo: str, ref: str, paths: set[str], *, commit: bool = False
) -> dict[str, FileVersion]:
    """`paths` at `ref`; with `commit` (`ref` is a commit sha), through the client's cache."""
    wanted = sorted(paths)
    reader = _at_commit if commit and COMMIT_SHA.fullmatch(ref) else read_file
    found = await asyncio.gather(*(reader(gh, repo, p, ref) for p in wanted))
    return {p: f for p, f in zip(wanted, found, strict=True) if f is not None}


async def _at_commit(gh: GitHubAPI, repo: str, path: str, sha: str) -> FileVersion | None:
    """The file at commit `sha`, kept once read: a commit never changes."""
    cache = read_cache(gh)
    key = (repo.lower(), path, sha)
    return await cache.kept(cache.at_commit, key, lambda: read_file(gh, repo, path, sha))


async def _fill(
    gh: GitHubAPI, repo: str, pull: dict[str, Any], trees: ChangeTrees, wanted: set[str]
) -> None:
    """Read `wanted` into both trees: files the PR changed from its head, others from the base.

    A file the PR does not touch is the same on both sides for validation, so it is read
    once, from the base branch.
    """
    changed = set(trees.changed)
    on_head = {p for p in wanted if p in changed and p in set(trees.head.paths())}
    on_base = {p for p in wanted if p in set(trees.base.paths())}
    head_read, base_read = await asyncio.gather(
        _read(gh, repo, pull["head"]["sha"], on_head - set(trees.head.files), commit=True),
        _read(gh, repo, pull["base"]["ref"], on_base - set(trees.base.files)),
    )
    trees.versions.update(head_read)
    trees.head.files.update({p: f.text for p, f in head_read.items()})
    trees.base.files.update({p: f.text for p, f in base_read.items()})
    for path in wanted - changed:
        if path in trees.base.files and path in set(trees.head.paths()):
            trees.head.files.setdefault(path, trees.base.files[path])


async def change_trees(
    gh: GitHubAPI, repo: str, pull: dict[str, Any], config: Config
) -> ChangeTrees:
    """The base branch listed in full, the head derived from it and the PR's file list."""
    files, base_paths = await asyncio.gather(
        pull_files(gh, repo, pull["number"], pull_at(pull)),
        list_paths(gh, repo, pull["base"]["ref"]),
    )
    head_paths = sorted((set(base_paths) - files.removed) | files.added)
    trees = ChangeTrees(FetchedTree(head_paths, {}), FetchedTree(base_paths, {}), files.changed, [])
    known = {*head_paths, *base_paths}
    owned = (owning_proposal(config, path, known.__contains__) for path in files.changed)
    trees.proposals = sorted({p for p in owned if p})
    wanted = {f for p in trees.proposals for f in (p, document_path(config.proposals, p))}
    await _fill(gh, repo, pull, trees, wanted)
    if config.validation.prr.enabled:  # files a rule reads once the metadata is known
        extra: set[str] = set()
        for path in trees.proposals:
            for tree in (trees.head, trees.base):
                proposal = load_proposal(config, tree, path)
                if proposal is not None:
                    extra.update(prr_files(proposal, config.validation.prr, known.__contains__))
        await _fill(gh, repo, pull, trees, extra)
    return trees
