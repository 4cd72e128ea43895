"""Number reservations, snapshots read into engine trees, and the bot's follow-up pull request.

A number is reserved by creating the ref `refs/kepbot/numbers/<N>` (POST git/refs): GitHub
creates a ref at most once and answers 422 "Reference already exists" to every later
attempt, so exactly one caller, across processes and bot instances, holds each number.
The ref points at a commit that says who holds it (a merge commit, a PR head). Reserved
refs are never moved; a reservation that was not used is deleted again.

When a protected branch refuses the bot, the same change goes to the branch
`kepbot/number-pr-<n>` and a follow-up pull request; a branch or pull request left by an
earlier attempt is reused (422 "Reference already exists", 422 "A pull request already
exists for owner:branch.").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.tree import FetchedTree
from bot.github.repo import Listing, Snapshot
from bot.github.urls import Path, repo_url

__all__ = [
    "NUMBER_REFS",
    "Listing",
    "Reserved",
    "TreeReader",
    "create_branch",
    "followup_branch",
    "list_reservations",
    "open_followup",
    "release",
    "reserve",
]

NUMBER_REFS = "refs/kepbot/numbers/"
FETCH_CONCURRENCY = 16
MAX_SKIPS = 1000  # numbers tried past the first before a reservation gives up

Reserved = dict[int, str]  # number → the commit its ref points at


def _exists(error: BadRequest) -> bool:
    return error.status_code == 422 and "already exists" in str(error).lower()


async def list_reservations(gh: GitHubAPI, repo: str) -> Reserved:
    """Every reserved number of `repo` and the commit its ref points at."""
    found: Reserved = {}
    url = repo_url(repo, "git", "matching-refs", Path(NUMBER_REFS.removeprefix("refs/")))
    async for ref in gh.getiter(url):
        name = str(ref["ref"])
        if name.startswith(NUMBER_REFS) and name[len(NUMBER_REFS) :].isdigit():
            found[int(name[len(NUMBER_REFS) :])] = str(ref["object"]["sha"])
    return found


async def reserve(gh: GitHubAPI, repo: str, holder: str, start: int, count: int) -> list[int]:
    """Reserve `count` numbers from `start` on, skipping taken ones; the holder is a commit.

    Not retried on its own: a reply lost after GitHub created the ref leaves a number
    reserved and unused (a gap), never a number held twice.
    """
    taken: list[int] = []
    number = start
    while len(taken) < count:
        if number - start > MAX_SKIPS + count:
            raise RuntimeError(f"{repo}: no free number between {start} and {number}")
        try:
            await gh.post(
                repo_url(repo, "git", "refs"), data={"ref": f"{NUMBER_REFS}{number}", "sha": holder}
            )
        except BadRequest as error:
            if not _exists(error):
                raise
        else:
            taken.append(number)
        number += 1
    return taken


async def release(gh: GitHubAPI, repo: str, numbers: Iterable[int]) -> None:
    """Give back reservations that were never written anywhere."""
    for number in sorted(numbers):
        try:
            await gh.delete(repo_url(repo, "git", "refs", Path(f"{NUMBER_REFS[5:]}{number}")))
        except BadRequest as error:
            if error.status_code not in (404, 422):  # already gone
                raise


class TreeReader:
    """Reads snapshots into engine trees: the commit's listing (one request), then the files
    wanted by blob sha, through the client's cache (`bot.github.read_cache`).

    Blobs are content-addressed, so a job that plans again after a conflict only fetches
    the files that changed, and a merge finds the files its pull request's check read
    already. A file that is not UTF-8 text is listed but not read (reading it from the tree
    raises LookupError).
    """

    def __init__(self, gh: GitHubAPI) -> None:
        self.gh = gh

    async def listing(self, snapshot: Snapshot) -> Listing:
        return await snapshot.listing()

    async def tree(
        self, snapshot: Snapshot, listing: Listing, wanted: Iterable[str]
    ) -> FetchedTree:
        chosen = sorted({p for p in wanted if p in listing.blobs})
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch(path: str) -> str | None:
            async with gate:
                try:
                    return await snapshot.read(path)
                except UnicodeDecodeError:
                    return None

        texts = await asyncio.gather(*(fetch(path) for path in chosen))
        files = {path: text for path, text in zip(chosen, texts, strict=True) if text is not None}
        return FetchedTree(listing.paths, files)


def followup_branch(number: int) -> str:
    return f"kepbot/number-pr-{number}"


async def create_branch(gh: GitHubAPI, repo: str, branch: str, sha: str) -> bool:
    """Create `branch` at `sha`; False when it exists already (an earlier attempt's)."""
    try:
        ref = {"ref": f"refs/heads/{branch}", "sha": sha}
        await gh.post(repo_url(repo, "git", "refs"), data=ref)
    except BadRequest as error:
        if _exists(error):
            return False
        raise
    return True


async def open_followup(
    gh: GitHubAPI, repo: str, branch: str, base: str, title: str, body: str
) -> dict[str, Any] | None:
    """Open (or find the open) pull request of `branch` into `base`; None: nothing to merge."""
    data = {"title": title, "head": branch, "base": base, "body": body}
    try:
        made: dict[str, Any] = await gh.post(repo_url(repo, "pulls"), data=data)
        return made
    except BadRequest as error:
        message = str(error).lower()
        if error.status_code != 422:
            raise
        if "no commits between" in message:
            return None
        if "already exists" not in message:
            raise
    owner = repo.split("/")[0]
    query = {"head": f"{owner}:{branch}", "base": base, "state": "open"}
    async for pull in gh.getiter(repo_url(repo, "pulls", query=query)):
        return dict(pull)
    return None
