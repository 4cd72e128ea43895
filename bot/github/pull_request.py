"""What a pull request changes, fetched as the trees the engine validates.

The head version is read through the base repository (GitHub serves a fork PR's commits
there too), the base version from the base branch as it stands now: a status is compared
with the default branch, not with the commit the PR started from.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.engine.config import Config
from bot.engine.proposal import document_path, load_proposal, owning_proposal
from bot.engine.prr import prr_files
from bot.engine.tree import FetchedTree
from bot.github.repo import list_paths, read_file


@dataclass
class ChangeTrees:
    head: FetchedTree
    base: FetchedTree
    changed: list[str]
    proposals: list[str]


async def changed_paths(gh: GitHubAPI, repo: str, number: int) -> list[str]:
    """Every path the PR touches, old names of renamed files included."""
    paths: set[str] = set()
    async for item in gh.getiter(f"/repos/{repo}/pulls/{number}/files"):
        paths.add(item["filename"])
        if item.get("previous_filename"):
            paths.add(item["previous_filename"])
    return sorted(paths)


async def _fetch(
    gh: GitHubAPI, repo: str, ref: str, paths: set[str], listed: list[str]
) -> dict[str, str]:
    wanted = sorted(p for p in paths if p in set(listed))
    found = await asyncio.gather(*(read_file(gh, repo, p, ref) for p in wanted))
    return {p: f.text for p, f in zip(wanted, found, strict=True) if f is not None}


async def change_trees(
    gh: GitHubAPI, repo: str, pull: dict[str, Any], config: Config
) -> ChangeTrees:
    number, head_sha, base_ref = pull["number"], pull["head"]["sha"], pull["base"]["ref"]
    changed, head_paths, base_paths = await asyncio.gather(
        changed_paths(gh, repo, number),
        list_paths(gh, repo, head_sha),
        list_paths(gh, repo, base_ref),
    )
    known = {*head_paths, *base_paths}
    owned = (owning_proposal(config, path, known.__contains__) for path in changed)
    proposals = sorted({p for p in owned if p})
    wanted = {f for p in proposals for f in (p, document_path(config.proposals, p))}
    head_files, base_files = await asyncio.gather(
        _fetch(gh, repo, head_sha, wanted, head_paths),
        _fetch(gh, repo, base_ref, wanted, base_paths),
    )
    head = FetchedTree(head_paths, head_files)
    base = FetchedTree(base_paths, base_files)
    # Second round: files a rule reads once the metadata is known (Kubernetes' PRR files).
    extra_head: set[str] = set()
    extra_base: set[str] = set()
    for path in proposals:
        for tree, extra in ((head, extra_head), (base, extra_base)):
            proposal = load_proposal(config, tree, path)
            if proposal is not None and config.validation.prr.enabled:
                extra.update(prr_files(proposal, config.validation.prr))
    if extra_head or extra_base:
        more_head, more_base = await asyncio.gather(
            _fetch(gh, repo, head_sha, extra_head, head_paths),
            _fetch(gh, repo, base_ref, extra_base, base_paths),
        )
        head.files.update(more_head)
        base.files.update(more_base)
    return ChangeTrees(head, base, changed, proposals)
