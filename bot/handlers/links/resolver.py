"""Resolving references against one proposals repository, and where a proposal is tracked.

A `Resolver` answers which proposal a reference (`bot.engine.references`) names in its
proposals repository: by number, by `owner/repo#N` (the proposal's pull request, or its
tracking issue), or by path; a placeholder path or the proposal's PR still finds the
proposal after it got its number. It reads the repository's listing and the proposals it
needs once, and remembers its answers for its life (one event).

`Resolver.location` says where the proposal's tracking comment lives: its tracking issue
(its metadata or document names it, or the number is the issue), else the pull request that
added it, or, while the proposal is still under review, its open PR. The PR that added a
merged proposal is found by GitHub's search (verified by that PR's files); the answer is
kept per installation client (an hour when found, minutes when not), concurrent lookups
share one search, and searches are rationed per client (`memory.SEARCH_BUDGET` a
minute) so that a burst of events never exhausts GitHub's 30 searches a minute. Callers
that know the adding PR (the handler of that PR's merge) say so and no search is made.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from gidgethub import BadRequest

from bot.engine.numbering import as_int, is_placeholder
from bot.engine.proposal import (
    Proposal,
    document_path,
    is_proposal_path,
    load_proposal,
    owning_proposal,
    proposal_name,
)
from bot.engine.references import (
    Reference,
    by_number,
    find_references,
    match_path,
    renamed_to,
    same_proposal,
)
from bot.engine.renumber import tracking_issue
from bot.engine.tree import MemoryTree
from bot.github.comments import quote_user_text
from bot.github.shapes import Issue
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import Target, pull_files_once
from bot.handlers.memory import client_memory, event_memo
from bot.handlers.pr_state import branch_listing

__all__ = ["Found", "Resolver"]

log = logging.getLogger(__name__)

SEARCH_CANDIDATES = 5


@dataclass(frozen=True)
class Found:
    """A proposal a reference resolved to: on the default branch, or in its open PR."""

    target: Target
    path: str  # the metadata file
    proposal: Proposal
    pull: int | None = None  # the open proposal PR that holds it; None: on the default branch

    @property
    def key(self) -> tuple[str, str]:
        where = self.path if self.pull is None else f"#{self.pull}:{self.path}"
        return self.target.repo.lower(), where

    @property
    def label(self) -> str:
        config = self.target.config
        number = self.proposal.number
        if number and not is_placeholder(config, number):
            return f"{config.implementations.prefix}-{number}"
        return proposal_name(config.proposals, self.path)

    @property
    def title(self) -> str:
        return self.proposal.title or self.label

    @property
    def url(self) -> str:
        target = self.target
        if self.pull is not None:
            return f"{target.html_url}/pull/{self.pull}"
        folder = target.config.proposals.name_of == "folder"
        where = posixpath.dirname(self.path) if folder else self.path
        kind = "tree" if folder else "blob"
        return f"{target.html_url}/{kind}/{quote(target.default_branch)}/{quote(where)}"


class Resolver:
    """Resolves references against one proposals repository; caches what it read."""

    def __init__(self, ctx: HandlerContext, target: Target) -> None:
        self.ctx, self.target = ctx, target
        self._paths: list[str] | None = None
        self._blobs: dict[str, str] = {}  # the default branch's blob shas, once listed
        self._proposals: list[str] = []
        self._loaded: dict[tuple[str, str], Proposal | None] = {}
        self._results: dict[tuple[object, ...], Found | str] = {}
        self.deferred = False  # a lookup was put off: the search budget was spent

    @property
    def kind(self) -> str:
        return self.target.config.kind

    async def proposals(self) -> list[str]:
        """The metadata paths of the proposals on the default branch."""
        if self._paths is None:
            target = self.target
            listing = await branch_listing(self.ctx, target.repo, target.default_branch)
            self._paths, self._blobs = listing.paths, listing.blobs
            layout = target.config.proposals
            self._proposals = [p for p in self._paths if is_proposal_path(layout, p)]
        return self._proposals

    async def load(self, path: str, ref: str | None = None) -> Proposal | None:
        at = ref or self.target.default_branch
        if (path, at) not in self._loaded:
            config, repo = self.target.config, self.target.repo
            files = {}
            for name in dict.fromkeys((path, document_path(config.proposals, path))):
                sha = self._blobs.get(name) if at == self.target.default_branch else None
                if sha is not None:  # listed: read by blob sha, through the client's cache
                    data: bytes | None = await self.ctx.github.blob(repo, sha)
                else:
                    found = await self.ctx.github.file(repo, name, at)
                    data = found.data if found is not None else None
                if data is not None:
                    files[name] = data.decode("utf-8", "replace")
            self._loaded[(path, at)] = load_proposal(config, MemoryTree(files), path)
        return self._loaded[(path, at)]

    async def found(
        self, path: str, ref: str | None = None, pull: int | None = None
    ) -> Found | str:
        proposal = await self.load(path, ref)
        if proposal is None:
            return f"the {self.kind} at {quote_user_text(path)} cannot be read"
        return Found(self.target, path, proposal, pull)

    async def resolve(self, reference: Reference) -> Found | str:
        """The proposal `reference` names, or why it names none (text for a comment)."""
        if reference.key not in self._results:
            self._results[reference.key] = await self._resolve(reference)
        return self._results[reference.key]

    async def _resolve(self, reference: Reference) -> Found | str:
        repo, kind = self.target.repo, self.kind
        if reference.kind == "number" and reference.number is not None:
            path = by_number(self.target.config, await self.proposals(), reference.number)
            if path is None:
                return f"no {kind} is numbered {reference.number} in {repo}"
            return await self.found(path)
        if reference.kind == "item" and reference.number is not None:
            return await self._item(reference.number)
        return await self._path(reference)

    async def _path(self, reference: Reference) -> Found | str:
        config, proposals = self.target.config, await self.proposals()
        path, has_ref = reference.path or "", reference.has_ref
        found = match_path(config, proposals, path, has_ref=has_ref)
        found = found or renamed_to(config, proposals, path, has_ref=has_ref)
        if found is not None:
            return await self.found(found)
        return (
            f"no {self.kind} of {self.target.repo} is at {quote_user_text(path, 120)} "
            f"(a {self.kind} still under review is linked by its pull request, "
            f"{self.target.repo}#N)"
        )

    async def _item(self, number: int) -> Found | str:
        repo, kind = self.target.repo, self.kind
        try:
            issue = await self.ctx.github.issue(repo, number)
        except BadRequest as error:
            if error.status_code in (404, 410):
                return f"{repo}#{number} does not exist"
            raise
        if not issue.get("pull_request"):
            return await self._tracking_issue(issue, number)
        pull = await self.ctx.github.pull(repo, number)
        changed = await self.ctx.github.changed_paths(repo, number)
        proposals = await self.proposals()
        known = {*changed, *(self._paths or [])}
        owned = sorted(
            {
                p
                for c in changed
                if (p := owning_proposal(self.target.config, c, known.__contains__))
            }
        )
        if not owned:
            return f"{repo}#{number} changes no {kind}"
        path = owned[0]
        now = path if path in proposals else renamed_to(self.target.config, proposals, path)
        if now is not None:
            return await self.found(now)
        if pull.get("state") == "open":
            return await self.found(path, str(pull["head"]["sha"]), number)
        if not pull.get("merged"):
            return f"{repo}#{number} was closed without merging"
        return f"the {kind} of {repo}#{number} is no longer on {self.target.default_branch}"

    async def _tracking_issue(self, issue: Issue, number: int) -> Found | str:
        """The proposal numbered `number`, else the one the issue's description links."""
        config, repo = self.target.config, self.target.repo
        path = by_number(config, await self.proposals(), number)
        if path is not None:
            return await self.found(path)
        text = f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}"
        for reference in find_references(text, config):
            if reference.kind != "item" and reference.about(repo):
                found = await self.resolve(reference)
                if isinstance(found, Found):
                    return found
        return (
            f"{repo}#{number} is an issue that is no {self.kind}'s tracking issue "
            f"(no {self.kind} has its number and its description links none)"
        )

    async def location(self, found: Found, *, added_by: int | None = None) -> int | None:
        """Where the proposal's tracking comment lives (an issue or PR number), if anywhere.

        `added_by`: the merged PR known to have added the proposal (no search is made).
        """
        if found.pull is not None:
            return found.pull
        config, repo = self.target.config, self.target.repo
        issue = tracking_issue(config, found.proposal, repo)
        if issue is None and config.numbering.source == "issue":
            issue = as_int(found.proposal.number)
        if issue is not None and await self._is_issue(issue):
            return issue
        if added_by is not None:
            memory = client_memory(self.ctx)
            memory.found[(repo.lower(), found.path)] = added_by
            memory.missed.pop((repo.lower(), found.path), None)
            return added_by
        return await self._adding_pull(found)

    async def _is_issue(self, number: int) -> bool:
        async def read() -> bool:
            try:
                issue = await self.ctx.github.issue(self.target.repo, number)
            except BadRequest as error:
                if error.status_code in (404, 410):
                    return False
                raise
            return not issue.get("pull_request")

        key = ("is-issue", self.target.repo.lower(), number)
        return await event_memo(self.ctx).get(key, read)

    async def _adding_pull(self, found: Found) -> int | None:
        """The merged PR that added the proposal: searched by title, number and name, and
        accepted only when that PR's files add the proposal (placeholder name or not).

        At most one lookup per proposal at a time; an answer is kept (see the module's
        docstring); a lookup the search budget cannot afford answers None, not kept.
        """
        key, memory = (self.target.repo.lower(), found.path), client_memory(self.ctx)
        async with memory.lock(key):
            if key in memory.found:
                return memory.found[key]
            if key in memory.missed:
                return None
            pull, complete = await self._search(found)
            if pull is not None:
                memory.found[key] = pull
            elif complete:
                memory.missed[key] = True
            else:
                self.deferred = True
            return pull

    async def _search(self, found: Found) -> tuple[int | None, bool]:
        """(the adding PR or None, whether every query could be made)."""
        repo, config = self.target.repo, self.target.config
        words = [
            found.proposal.title or "",
            found.label,
            proposal_name(config.proposals, found.path),
        ]
        memory = client_memory(self.ctx)
        for word in dict.fromkeys(w.replace('"', " ").strip() for w in words if w.strip()):
            if not memory.take_search():
                log.info("search budget spent; %s of %s not looked up now", found.path, repo)
                return None, False
            query: dict[str, str | int] = {
                "q": f'repo:{repo} is:pr is:merged "{word}"',
                "sort": "created",
                "order": "asc",
                "per_page": SEARCH_CANDIDATES,
            }
            reply = await self.ctx.github.search_issues(query)
            for item in (reply.get("items") or [])[:SEARCH_CANDIDATES]:
                if await self._added_by(int(item["number"]), found.path):
                    return int(item["number"]), True
        return None, True

    async def _added_by(self, number: int, path: str) -> bool:
        config = self.target.config
        files = await pull_files_once(self.ctx, self.target.repo, number)
        return any(
            is_proposal_path(config.proposals, added) and same_proposal(config, added, path)
            for added in files.added
        )
