"""The numbering job of one PR: which of its proposals get which number, planned per snapshot.

This module owns `Numbering` and its `Outcome`. Every proposal the PR touched that still
carries a placeholder number gets one, by `numbering.source`: `next` (past every number
the branch has used and every reserved number), `pr` (the PR's number) or `issue` (the
tracking issue the proposal or the PR description names). The renames, number fields,
headings, self-references and the regenerated index go in one commit made by
`commit_files`, whose `plan` recomputes everything from the snapshot it is given; the ref
update is fast-forward only, so a commit that lands meanwhile (another merge, a person's
push) is re-read, kept, and planned around.

With `numbering.history` (docs/design.md I1), a `next` number also passes every number the
branch's history held: the trees of the commits that changed the proposals' folder since
the history mark (`bot.github.numbers`), every one of them the first time, then only what
came since (usually nothing but the commit planned on, which is read anyway). Once the job
has committed, the mark moves to its commit.

Why numbers never collide (docs/design.md I1): a `next` number is used only by the job that
created its ref `refs/kepbot/numbers/<N>` (GitHub creates a ref once), and a job only
commits a number that no other proposal holds in the exact commit its change is made on
top of (fast-forward only). `pr` and `issue` numbers are checked the same way. A redelivered
event finds no placeholder left and changes nothing; its reservations (refs that point at
the merge commit) are reused after a crash, and unused ones are given back.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Awaitable
from dataclasses import dataclass, field

from gidgethub import BadRequest

from bot.engine.config import Config
from bot.engine.numbering import is_placeholder, next_number
from bot.engine.proposal import (
    document_path,
    is_proposal_path,
    load_proposal,
    name_parts,
    owning_proposal,
    proposals_root,
)
from bot.engine.renumber import (
    Changes,
    OverlayTree,
    RenumberError,
    index_changes,
    issue_in_body,
    named_numbers,
    needs_number,
    number_files,
    numbered_path,
    proposal_files,
    renumber,
    renumber_all,
    review_files,
    tracking_issue,
    used_numbers,
)
from bot.engine.tree import FetchedTree
from bot.github.gateway import GitHub
from bot.github.numbers import Mark, Reserved
from bot.github.read_cache import git_blob_sha
from bot.github.repo import (
    CommitResult,
    Expected,
    Listing,
    RepoConflict,
    Snapshot,
)
from bot.github.shapes import Pull

log = logging.getLogger(__name__)

# commit_files calls per job, each with its own retries: every conflict means another writer
# succeeded, so with many concurrent merges a job keeps its back-off short and tries again.
COMMIT_ROUNDS = 4
HISTORY_READS = 8  # trees of past commits read at once
HISTORY_PAGE = 100  # commits per page of a history walk


@dataclass
class History:
    """What the history of one head said: the numbers its trees named since the mark."""

    head: str
    numbers: set[int]
    mark: Mark | None
    whole: bool  # the mark was not met: the walk went to the first commit
    reserved: set[int]  # the numbers reserved when it was read


@dataclass
class Outcome:
    """What one numbering job did."""

    commit: str | None = None
    branch: str | None = None
    numbers: dict[str, int] = field(default_factory=dict)  # new metadata path → number
    problems: dict[str, str] = field(default_factory=dict)  # metadata path → why not
    followup: Pull | None = None


class Numbering:
    """The numbering of one PR's proposals, planned again on every snapshot it is given.

    `holder` is the commit the job's reservation refs point at (the merge commit, or the
    head commit on accept); `reuse_owned` lets a redelivered merge pick up refs an earlier
    run reserved and did not get to use.
    """

    def __init__(
        self,
        github: GitHub,
        repo: str,
        config: Config,
        pull: Pull,
        changed: list[str] | Awaitable[list[str]],
        *,
        holder: str,
        number_now: bool,
        reuse_owned: bool = True,
        only: str | None = None,
        extra_used: set[int] | None = None,
        history_of: str | None = None,
    ) -> None:
        self.github, self.repo, self.config, self.pull = github, repo, config, pull
        self.holder, self.number_now = holder, number_now
        # The paths the PR changed; while they are being read, the read (awaited by `plan`,
        # so the PR's file list and the branch's listing are read at the same time).
        self.changed: list[str] = changed if isinstance(changed, list) else []
        self._changed_read = None if isinstance(changed, list) else asyncio.ensure_future(changed)
        self._reservations: asyncio.Future[Reserved] | None = None
        self.reuse_owned, self.only = reuse_owned, only
        self.extra_used = extra_used or set()
        self.held: list[int] = []  # numbers this job may use, ascending
        self.mine: list[int] = []  # numbers this job reserved itself
        self._listed = False
        self._issues: dict[int, str | None] = {}
        self.assigned: dict[str, int] = {}  # old metadata path → number, of the last plan
        self.problems: dict[str, str] = {}
        self.existing: dict[str, str] = {}  # candidate → its number, when it has one
        self.reader = self.github.tree_reader()
        self.listed: Listing | None = None  # the listing of the last snapshot planned on
        self.committed: Listing | None = None  # the branch's files once this job committed
        self.seen: set[int] = set()  # numbers in the names of the last snapshot planned on
        # The branch whose history counts (`numbering.history`): the base branch at merge.
        self.history_of = history_of if config.numbering.history else None
        self.head: str | None = None  # the commit of the last snapshot planned on
        self.branch: str | None = None  # the branch being committed on
        self.history: History | None = None
        self._past: dict[str, set[int]] = {}  # commit → the numbers its tree named
        self._first_page: asyncio.Future[list[str]] | None = None  # of the holder's history
        self._marking: asyncio.Future[None] | None = None  # the mark being moved

    # -- planning -----------------------------------------------------------------------

    def _candidates(self, listed: set[str]) -> list[str]:
        if not self.number_now:
            return []
        if self.only is not None:
            return [self.only] if self.only in listed else []
        owners = (owning_proposal(self.config, p, listed.__contains__) for p in self.changed)
        return sorted({p for p in owners if p is not None and p in listed})

    def _renamed(self, listed: set[str]) -> str | None:
        """The number of the proposal `only` became, if an earlier run renamed it."""
        layout, only = self.config.proposals, str(self.only)
        old = name_parts(layout, only)
        home = posixpath.dirname(posixpath.dirname(only) if layout.name_of == "folder" else only)
        for path in sorted(listed):
            here = posixpath.dirname(
                posixpath.dirname(path) if layout.name_of == "folder" else path
            )
            parts = name_parts(layout, path) if here == home else None
            if (
                old is not None
                and parts is not None
                and is_proposal_path(layout, path)
                and parts.get("slug") == old.get("slug")
                and not is_placeholder(self.config, parts.get("number"))
            ):
                return parts.get("number")
        return None

    def _touches_proposals(self, listed: set[str]) -> bool:
        known = listed | set(self.changed)
        return any(
            owning_proposal(self.config, p, known.__contains__) is not None for p in self.changed
        )

    def _wanted(self, paths: list[str], candidates: list[str], index: bool) -> set[str]:
        layout = self.config.proposals
        listing = FetchedTree(paths, {})
        wanted = {f for c in candidates for f in proposal_files(self.config, listing, c)}
        wanted |= set(review_files(self.config, paths) if candidates else ())
        if candidates:  # where only the metadata says which numbers are used (kepctl)
            wanted |= set(number_files(self.config, paths))
        if index:
            metadata = [p for p in paths if is_proposal_path(layout, p)]
            wanted |= {f for p in metadata for f in (p, document_path(layout, p))}
            wanted.add(str(self.config.index.path))
        return wanted

    def prefetch_reservations(self) -> None:
        """Start listing the reserved numbers now, beside the reads that planning needs."""
        if (
            self._reservations is None
            and self.number_now
            and self.config.numbering.source == "next"
        ):
            self._reservations = asyncio.ensure_future(self.github.reservations(self.repo))
            if self.history_of is not None and self._first_page is None:
                root = proposals_root(self.config.proposals)
                read = self.github.path_commits(self.repo, root, self.holder, page=1)
                self._first_page = asyncio.ensure_future(read)

    async def plan(self, snapshot: Snapshot) -> Changes | None:
        if self._changed_read is not None:
            listing, self.changed = await asyncio.gather(
                self.reader.listing(snapshot), self._changed_read
            )
            self._changed_read = None
        else:
            listing = await self.reader.listing(snapshot)
        self.listed, self.head = listing, snapshot.commit
        paths = listing.paths
        listed = set(paths)
        self.seen = named_numbers(self.config, paths)
        candidates = self._candidates(listed)
        index = self.config.index.path is not None and self._touches_proposals(listed)
        tree = await self.reader.tree(snapshot, listing, self._wanted(paths, candidates, index))
        self.problems, self.existing = {}, {}
        if self.only is not None and self.only not in listed:
            renamed = self._renamed(listed)
            if renamed is not None:
                self.existing[self.only] = renamed
        todo = []
        for path in candidates:
            if any(f not in tree.files for f in proposal_files(self.config, tree, path)):
                self.problems[path] = "holds files that are not UTF-8 text; rename it by hand"
                continue
            proposal = load_proposal(self.config, tree, path)
            if proposal is not None and needs_number(self.config, proposal):
                todo.append(path)
            elif proposal is not None and proposal.number is not None:
                self.existing[path] = proposal.number
        numbers = await self._numbers(tree, todo) if todo else {}
        self.assigned = {}
        for path, number in numbers.items():
            try:
                renumber(self.config, tree, path, number)
            except RenumberError as error:
                self.problems[path] = str(error)
            else:
                self.assigned[path] = number
        changes = renumber_all(self.config, tree, self.assigned)
        if index:
            try:
                changes.update(index_changes(self.config, OverlayTree(tree, changes)))
            except LookupError as error:
                log.warning("%s: index not regenerated: %s", self.repo, error)
        return changes or None

    def _used(self, tree: FetchedTree) -> set[int]:
        try:
            used = used_numbers(self.config, tree)
        except LookupError:  # not every proposal was read: the names say enough
            used = named_numbers(self.config, tree.paths())
        return used | self.extra_used

    async def _numbers(self, tree: FetchedTree, todo: list[str]) -> dict[str, int]:
        source = self.config.numbering.source
        if source == "next":
            return await self._reserved(tree, todo)
        wanted: dict[str, int] = {}
        if source == "pr":
            if len(todo) > 1:
                for path in todo:
                    self.problems[path] = (
                        "numbers come from the PR and this PR adds several proposals; "
                        "open one PR per proposal"
                    )
                return {}
            wanted[todo[0]] = int(self.pull["number"])
        else:
            for path in todo:
                found = await self._issue_number(tree, path)
                if isinstance(found, str):
                    self.problems[path] = found
                else:
                    wanted[path] = found
        used = self._used(tree)
        taken: dict[int, str] = {}
        for path, number in sorted(wanted.items()):
            if number in used or number in taken:
                other = taken.get(number, "another proposal")
                self.problems[path] = f"number {number} is already used by {other}"
            else:
                taken[number] = path
        return {path: number for number, path in taken.items()}

    async def _reserved(self, tree: FetchedTree, todo: list[str]) -> dict[str, int]:
        used = self._used(tree)
        if self._reservations is not None:  # listed beside the first snapshot's reads
            listing = await self._reservations
            self._reservations = None
        else:
            listing = await self.github.reservations(self.repo)
        if self.reuse_owned and not self._listed:
            self.held = sorted(n for n, sha in listing.items() if sha == self.holder)
        self._listed = True
        if self.history_of is not None:
            used |= await self._history(listing)
        usable = [n for n in self.held if n not in used]
        need = len(todo) - len(usable)
        if need > 0:
            start = next_number(self.config, used | set(listing))
            fresh = await self.github.reserve(self.repo, self.holder, start, need)
            self.mine += fresh
            self.held = sorted({*self.held, *fresh})
            usable = sorted({*usable, *fresh})
        return dict(zip(sorted(todo), usable, strict=False))

    async def _history(self, reserved: Reserved) -> set[int]:
        """The numbers the branch's trees named, from the head planned on back to the mark
        (the head's own tree is the snapshot's, already counted), and the mark's."""
        head, mark = str(self.head), reserved.history
        if self.history is not None and self.history.head == head:
            return self.history.numbers
        commits, met = await self._walk(head, mark.commit if mark is not None else None)
        gate = asyncio.Semaphore(HISTORY_READS)

        async def named(commit: str) -> None:
            if commit == head or commit in self._past:
                return
            async with gate:
                listing = await self.github.commit_tree(self.repo, commit)
            if listing.truncated:
                log.warning("%s: %s has a truncated tree; numbers may be missed", self.repo, commit)
            self._past[commit] = named_numbers(self.config, listing.files)

        await asyncio.gather(*(named(commit) for commit in commits))
        numbers = {n for commit in commits for n in self._past.get(commit, ())}
        if mark is not None:
            numbers.add(mark.number)
        self.history = History(head, numbers, mark, not met, set(reserved))
        return numbers

    async def _walk(self, head: str, stop: str | None) -> tuple[list[str], bool]:
        """The commits that changed the proposals' folder, newest first from `head`, until
        `stop` (not included); and whether `stop` was met. The first page of the holder's
        history may have been read already, beside the reserved numbers."""
        root, page = proposals_root(self.config.proposals), 1
        found: list[str] = []
        while True:
            prefetched, self._first_page = self._first_page, None
            if page == 1 and prefetched is not None and head == self.holder:
                commits = await prefetched
            else:
                if prefetched is not None:
                    prefetched.cancel()
                commits = await self.github.path_commits(self.repo, root, head, page=page)
            for commit in commits:
                if commit == stop:
                    return found, True
                found.append(commit)
            if len(commits) < HISTORY_PAGE:
                return found, False
            page += 1

    async def _move_mark(self, repo: str, result: CommitResult) -> None:
        """The history read, and the branch as committed (or as planned on, when nothing
        was committed), hold no number above the new mark that no reservation holds (a
        used reservation is never given back), so the bot's own numbers leave it alone."""
        history = self.history
        if history is None or history.head != self.head or repo != self.repo:
            return
        listing = self.committed if result.commit is not None else self.listed
        if listing is None:
            return
        reserved = history.reserved | set(self.held)
        named = {*history.numbers, *named_numbers(self.config, listing.paths)}
        floor = history.mark.number if history.mark is not None else 0
        top = max((n for n in named if n not in reserved), default=floor)
        mark = Mark(max(top, floor), result.commit or history.head)
        if not await self.github.mark_history(repo, history.mark, mark, force=history.whole):
            log.info("%s: the history mark moved meanwhile; it stays where it is", repo)

    async def _issue_number(self, tree: FetchedTree, path: str) -> int | str:
        proposal = load_proposal(self.config, tree, path)
        number = tracking_issue(self.config, proposal, self.repo) if proposal else None
        if number is None:
            number = issue_in_body(self.pull.get("body"), self.repo)
        if number is None:
            return (
                "names no tracking issue: add `Tracking issue: #N` to the PR description "
                "or to the proposal"
            )
        if number not in self._issues:
            self._issues[number] = await self._check_issue(number)
        problem = self._issues[number]
        return number if problem is None else problem

    async def _check_issue(self, number: int) -> str | None:
        try:
            issue = await self.github.issue(self.repo, number)
        except BadRequest as error:
            if error.status_code in (404, 410):
                return f"the tracking issue #{number} does not exist"
            raise
        if issue.get("pull_request"):
            return f"#{number} is a pull request, not a tracking issue"
        return None

    # -- writing --------------------------------------------------------------------------

    async def commit(
        self, repo: str, branch: str, message: str, expected: Expected | None = None
    ) -> CommitResult:
        """Plan and commit on `branch` (first on `expected`, the head the caller believes the
        branch is at); the listing of the branch as committed is kept in `committed`."""
        self.branch = branch
        for round_ in range(1, COMMIT_ROUNDS + 1):
            try:
                result = await self.github.commit(
                    repo,
                    branch,
                    self.plan,
                    message,
                    expected=expected if round_ == 1 else None,
                )
            except RepoConflict:
                if round_ == COMMIT_ROUNDS:
                    raise
                log.info("%s@%s still moving; planning again", repo, branch)
                continue
            if result.commit is not None and self.listed is not None:
                blobs = dict(self.listed.blobs)
                for path, content in result.changes.items():
                    if content is None:
                        blobs.pop(path, None)
                    else:
                        blobs[path] = git_blob_sha(content.encode("utf-8"))
                self.committed = Listing(blobs)
            if self.history_of is not None and branch == self.history_of:
                # beside the report (awaited by `give_back`): the mark is not the job's result
                self._marking = asyncio.ensure_future(self._move_mark(repo, result))
            return result
        raise AssertionError("unreachable")

    def outcome(self, result: CommitResult, branch: str) -> Outcome:
        numbers: dict[str, int] = {}
        if result.commit is not None:
            for path, number in self.assigned.items():
                numbers[numbered_path(self.config, path, number) or path] = number
        return Outcome(result.commit, branch, numbers, dict(self.problems))

    async def give_back(self, outcome: Outcome) -> None:
        """Delete the reservations this job made that no proposal holds.

        A concurrent run of the same merge may have committed one of them (it reuses the
        refs that point at the merge commit), so a number in the last snapshot stays.
        """
        for pending in (self._reservations, self._changed_read, self._first_page):
            if pending is not None and not pending.done():
                pending.cancel()  # not needed after all
            elif pending is not None and not pending.cancelled():
                pending.exception()  # retrieved: a failure no plan waited for is not reported
        self._reservations = self._changed_read = self._first_page = None
        unused = set(self.mine) - set(outcome.numbers.values()) - self.seen
        if unused:
            await self.github.release(self.repo, unused)
        marking, self._marking = self._marking, None
        if marking is not None:
            try:
                await marking
            except Exception:  # the mark only saves reading; a stale one is still true
                log.warning("%s: the history mark was not moved", self.repo, exc_info=True)
