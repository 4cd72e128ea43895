"""Number reservations, snapshots read into engine trees, and the bot's follow-up pull request.

A number is reserved by creating the ref `refs/kepbot/numbers/<N>` (POST git/refs): GitHub
creates a ref at most once and answers 422 "Reference already exists" to every later
attempt, so exactly one caller, across processes and bot instances, holds each number.
The ref points at a commit that says who holds it (a merge commit, a PR head). Reserved
refs are never moved; a reservation that was not used is deleted again.

With `numbering.history`, the ref `refs/kepbot/numbers/history/<H>` is the history mark:
it points at a commit of the default branch, and no tree of that branch up to that commit
named a proposal with a number above H. It is listed with the reservations (one request),
moved forward as the bot reads on, and replaced by `history/<H'>` when a higher number is
seen; of several, the highest is the mark (each says something true).

When a protected branch refuses the bot, the same change goes to the branch
`kepbot/number-pr-<n>` and a follow-up pull request; a branch or pull request left by an
earlier attempt is reused (422 "Reference already exists", 422 "A pull request already
exists for owner:branch.").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.engine.tree import FetchedTree
from bot.github.repo import Listing, Snapshot
from bot.github.shapes import Pull
from bot.github.urls import Path, repo_url

__all__ = [
    "HISTORY_REFS",
    "NUMBER_REFS",
    "Listing",
    "Mark",
    "Reserved",
    "TreeReader",
    "create_branch",
    "followup_branch",
    "list_reservations",
    "mark_history",
    "open_followup",
    "release",
    "reserve",
]

NUMBER_REFS = "refs/kepbot/numbers/"
HISTORY_REFS = NUMBER_REFS + "history/"
FETCH_CONCURRENCY = 16
MAX_SKIPS = 1000  # numbers tried past the first before a reservation gives up


@dataclass(frozen=True)
class Mark:
    """The history mark: no tree of the default branch up to `commit` held a number above
    `number`."""

    number: int
    commit: str


class Reserved(dict[int, str]):
    """Number → the commit its ref points at; `history`, the history mark (None: none)."""

    history: Mark | None = None


def _exists(error: BadRequest) -> bool:
    return error.status_code == 422 and "already exists" in str(error).lower()


async def list_reservations(gh: GitHubAPI, repo: str) -> Reserved:
    """Every reserved number of `repo` and the commit its ref points at, and the mark."""
    found = Reserved()
    url = repo_url(repo, "git", "matching-refs", Path(NUMBER_REFS.removeprefix("refs/")))
    async for ref in gh.getiter(url):
        name, sha = str(ref["ref"]), str(ref["object"]["sha"])
        if name.startswith(NUMBER_REFS) and name[len(NUMBER_REFS) :].isdigit():
            found[int(name[len(NUMBER_REFS) :])] = sha
        elif name.startswith(HISTORY_REFS) and name[len(HISTORY_REFS) :].isdigit():
            mark = Mark(int(name[len(HISTORY_REFS) :]), sha)
            if found.history is None or mark.number > found.history.number:
                found.history = mark
    return found


async def mark_history(
    gh: GitHubAPI, repo: str, old: Mark | None, new: Mark, *, force: bool = False
) -> bool:
    """Move the history mark from `old` to `new` (a number at least old's): one ref update,
    fast-forward only unless `force` (the whole history was read, old's commit was not in
    it), or, for a higher number, the new ref and the old one deleted. False when GitHub
    refused (another writer moved it: the mark stays true, the next reader reads more)."""
    try:
        if old is not None and old.number == new.number:
            if old.commit != new.commit:
                url = repo_url(repo, "git", "refs", Path(f"{HISTORY_REFS[5:]}{new.number}"))
                await gh.patch(url, data={"sha": new.commit, "force": force})
            return True
        ref = {"ref": f"{HISTORY_REFS}{new.number}", "sha": new.commit}
        await gh.post(repo_url(repo, "git", "refs"), data=ref)
        if old is not None:
            await gh.delete(repo_url(repo, "git", "refs", Path(f"{HISTORY_REFS[5:]}{old.number}")))
    except BadRequest as error:
        if error.status_code not in (404, 409, 422):
            raise
        return False
    return True


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
) -> Pull | None:
    """Open (or find the open) pull request of `branch` into `base`; None: nothing to merge."""
    data = {"title": title, "head": branch, "base": base, "body": body}
    try:
        made: Pull = await gh.post(repo_url(repo, "pulls"), data=data)
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
        return cast(Pull, dict(pull))
    return None
