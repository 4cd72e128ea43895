"""What a pull request changes, fetched as the trees the engine validates.

The head version is read through the base repository (GitHub serves a fork PR's commits
there too), the base version from the base branch as it stands now: a status is compared
with the default branch, not with the commit the PR started from. The head's file list is
the base's with the PR's additions and removals applied, which saves listing the head's
tree (a file the base branch gained since the PR started shows on both sides).

Both listings give each file's blob sha (the PR's file list for what it changes, the base
branch's recursive tree for the rest), and files are read by blob sha through the client's
cache (`bot.github.read_cache`): a push that changes one file of a PR costs one blob read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gidgethub.abc import GitHubAPI

from bot.engine.config import Config
from bot.engine.proposal import document_path, load_proposal, owning_proposal
from bot.engine.prr import prr_files
from bot.engine.relationships import related_files
from bot.engine.section_files import files_to_read
from bot.engine.tree import FetchedTree
from bot.engine.validate import repository_files
from bot.github.read_cache import git_blob_sha, read_cache
from bot.github.repo import FileVersion, list_tree, read_blob, read_file
from bot.github.shapes import Pull
from bot.github.urls import repo_url


@dataclass
class ChangeTrees:
    head: FetchedTree
    base: FetchedTree
    changed: list[str]
    proposals: list[str]
    versions: dict[str, FileVersion] = field(default_factory=dict)  # head files as read
    head_shas: dict[str, str] = field(default_factory=dict)  # blob shas the PR's list gives
    listed: PullFiles | None = None  # the PR's file list as read
    # The head commit `versions` hold every file at (None: the branch moved in ways not
    # read, so they are write conditions only, not a snapshot of any commit).
    read_at: str | None = None
    base_shas: dict[str, str] = field(default_factory=dict)  # blob shas of the base's tree

    def moved(self, parent: str | None, commit: str | None) -> None:
        """The bot committed `commit` on `parent`: the versions read still describe every
        file at the new head only when `parent` is the head they were read at."""
        if commit is not None:
            self.read_at = commit if parent is not None and parent == self.read_at else None

    def written(self, path: str, text: str) -> None:
        """Record that the bot wrote `text` to `path` on the head branch."""
        self.head.files[path] = text
        data = text.encode("utf-8")
        self.versions[path] = FileVersion(path, git_blob_sha(data), data)
        self.head_shas[path] = self.versions[path].sha


@dataclass(frozen=True)
class PullFiles:
    """The PR's diff as GitHub lists it: every path touched, what the head adds or drops, and
    the blob sha at the head of each file it adds or changes."""

    changed: list[str]
    added: set[str]
    removed: set[str]
    shas: dict[str, str] = field(default_factory=dict)


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


def pull_at(pull: Pull) -> tuple[str, str]:
    """A PR's (head sha, base branch): what its file list depends on."""
    return str(pull["head"]["sha"]), str(pull["base"]["ref"])


async def _list_files(gh: GitHubAPI, repo: str, number: int) -> PullFiles:
    changed: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    shas: dict[str, str] = {}
    files = repo_url(repo, "pulls", number, "files", query={"per_page": 100})
    async for item in gh.getiter(files):
        name, status = item["filename"], item.get("status")
        changed.add(name)
        if status != "removed" and item.get("sha"):
            shas[name] = str(item["sha"])
        if status in ("added", "renamed", "copied"):
            added.add(name)
        if status == "removed":
            removed.add(name)
        if item.get("previous_filename"):
            changed.add(item["previous_filename"])
            if status == "renamed":
                removed.add(item["previous_filename"])
    return PullFiles(sorted(changed), added, removed, shas)


async def changed_paths(gh: GitHubAPI, repo: str, number: int) -> list[str]:
    """Every path the PR touches, old names of renamed files included."""
    return (await pull_files(gh, repo, number)).changed


async def _read(
    gh: GitHubAPI, repo: str, ref: str, paths: set[str], shas: dict[str, str]
) -> dict[str, FileVersion]:
    """`paths` at `ref`: by blob sha where `shas` gives it (kept in the client's cache),
    else through the Contents API."""
    wanted = sorted(paths)

    async def one(path: str) -> FileVersion | None:
        sha = shas.get(path)
        if sha is None:
            return await read_file(gh, repo, path, ref)
        return FileVersion(path, sha, await read_blob(gh, repo, sha))

    found = await asyncio.gather(*(one(p) for p in wanted))
    return {p: f for p, f in zip(wanted, found, strict=True) if f is not None}


async def _fill(gh: GitHubAPI, repo: str, pull: Pull, trees: ChangeTrees, wanted: set[str]) -> None:
    """Read `wanted` into both trees: files the PR changed from its head, others from the base.

    A file the PR does not touch is the same on both sides for validation, so it is read
    once, from the base branch.
    """
    changed = set(trees.changed)
    on_head = {p for p in wanted if p in changed and p in set(trees.head.paths())}
    on_base = {p for p in wanted if p in set(trees.base.paths())}
    head_read, base_read = await asyncio.gather(
        _read(gh, repo, pull["head"]["sha"], on_head - set(trees.head.files), trees.head_shas),
        _read(gh, repo, pull["base"]["ref"], on_base - set(trees.base.files), trees.base_shas),
    )
    trees.versions.update(head_read)
    trees.head.files.update({p: f.text for p, f in head_read.items()})
    trees.base.files.update({p: f.text for p, f in base_read.items()})
    for path in wanted - changed:
        if path in trees.base.files and path in set(trees.head.paths()):
            trees.head.files.setdefault(path, trees.base.files[path])


async def change_trees(gh: GitHubAPI, repo: str, pull: Pull, config: Config) -> ChangeTrees:
    """The base branch listed in full, the head derived from it and the PR's file list."""
    files, base = await asyncio.gather(
        pull_files(gh, repo, pull["number"], pull_at(pull)),
        list_tree(gh, repo, pull["base"]["ref"]),
    )
    base_paths = base.paths
    head_paths = sorted((set(base_paths) - files.removed) | files.added)
    trees = ChangeTrees(
        FetchedTree(head_paths, {}),
        FetchedTree(base_paths, {}),
        files.changed,
        [],
        head_shas=dict(files.shas),
        base_shas=dict(base.blobs),
        listed=files,
        read_at=str(pull["head"]["sha"]),
    )
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
    related = related_files(config, (trees.head, trees.base), trees.proposals)
    await _fill(gh, repo, pull, trees, related)  # what relationships name (references.backlink)
    # Rules that look across the repository read every proposal's metadata (a unique key);
    # section files are read once the metadata that lists them is (kepctl).
    await _fill(gh, repo, pull, trees, set(repository_files(config, known)))
    sections = files_to_read(config, (trees.head, trees.base), trees.proposals)
    await _fill(gh, repo, pull, trees, sections)
    return trees
