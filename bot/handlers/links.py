"""Implementation pull requests linked to their proposals, across repositories (SPEC B6).

Which proposals repositories a PR can link to: every repository of the installation that
holds proposals (its configuration's proposals folder, `keps/`, `geps/`..., exists on its
default branch) and whose `implementations.repositories` names the PR's repository. The
configuration that matters is the proposals repository's: prefix, reference forms,
`require-link`, `require-status`, the link label and the command word. A PR of a proposals
repository that changes files under its proposals folder is a proposal PR, not an
implementation PR; everything else can be one.

Where links live (nothing is stored outside GitHub):
- an implementation PR's links are re-derived on each event from its title and description
  (`bot.engine.references`), then from its `link`/`unlink` commands replayed in order
  (the body's first, then the comments'); a command counts when its author wrote the PR or
  is an approver of the proposal (roles from the proposals repository's default branch);
- the PR carries the link label, ONE link comment (marker `link`, edited in place) naming
  each proposal with its title and status and every reference that names none, and the
  check `kepbot/link`;
- the proposal side keeps ONE tracking comment (`bot.github.tracking`), on the proposal's
  tracking issue (its metadata or document names it, or the number is the issue), else on
  the pull request that added it (found by search, verified by that PR's files), or, while
  the proposal is still under review, on its open PR. That comment is the list of
  implementation PRs: each PR's events rewrite its own row. The link comment's data block
  remembers which tracking comments a PR has rows in, so removing a link removes the row.

References survive numbering: a reference is kept as written and resolved again each time,
and a placeholder path or the proposal's PR finds the numbered proposal by its slug.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import cachetools
from gidgethub import BadRequest, routing, sansio
from gidgethub.abc import GitHubAPI

from bot.check_output import CheckOutput
from bot.engine.authorize import Spoken
from bot.engine.commands import Command, new_commands, parse_commands
from bot.engine.config import Config
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
    argument_references,
    by_number,
    find_references,
    match_path,
    renamed_to,
    repo_matches,
    same_proposal,
    static_folder,
)
from bot.engine.renumber import tracking_issue
from bot.engine.roles import Grant, normalize, one_of, rule_for
from bot.engine.tree import MemoryTree
from bot.engine.verbs import LINK_VERBS
from bot.github.comments import (
    Thread,
    claim,
    find_comment,
    post_once,
    quote_user_text,
    react,
    upsert_comment,
)
from bot.github.feedback import publish_check, publish_status
from bot.github.labels import LabelSpec, Managed, sync_labels
from bot.github.pull_request import changed_paths, pull_files
from bot.github.repo import list_paths, read_file
from bot.github.repo_config import ConfigResult, load_repo_config
from bot.github.roles import holds, who_can
from bot.github.tracking import Row, data_block, read_data, read_rows, set_rows
from bot.handlers.context import HandlerContext
from bot.handlers.pr_state import ROLE_FIELDS, command_history, load_config, read_thread

__all__ = [
    "CHECK_NAME",
    "Found",
    "Links",
    "Target",
    "is_implementation_pull",
    "refresh_pull",
    "router",
    "targets_for",
    "unmerged_links",
]

router = routing.Router()
log = logging.getLogger(__name__)

CHECK_NAME = "kepbot/link"
LINK_MARKER = "link"
APPROVER = "approver"
MAX_REFRESH = 30  # implementation PRs refreshed when a proposal changes
SEARCH_CANDIDATES = 5
PROBES = 8  # repositories probed at once when discovering proposals repositories

HOLDERS_TTL = 300.0  # seconds a discovery of the proposals repositories is reused
FOUND_TTL, MISSED_TTL = 3600.0, 60.0  # the PR that added a proposal: found, not found


@dataclass
class _Memory:
    """What one installation's client has learnt recently (dropped with the client)."""

    holders: tuple[tuple[str, str, str], ...] | None = None
    holders_until: float = 0.0
    found: cachetools.TTLCache[tuple[str, str], int] = field(
        default_factory=lambda: cachetools.TTLCache(maxsize=4096, ttl=FOUND_TTL)
    )
    missed: cachetools.TTLCache[tuple[str, str], bool] = field(
        default_factory=lambda: cachetools.TTLCache(maxsize=4096, ttl=MISSED_TTL)
    )


_memories: weakref.WeakKeyDictionary[GitHubAPI, _Memory] = weakref.WeakKeyDictionary()


def _memory(ctx: HandlerContext) -> _Memory:
    if ctx.gh not in _memories:
        _memories[ctx.gh] = _Memory()
    return _memories[ctx.gh]


# -- which repositories hold proposals -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A proposals repository an implementation PR can link to, with its configuration."""

    repo: str
    default_branch: str
    html_url: str
    config: Config


def _info(repo: dict[str, Any]) -> tuple[str, str, str]:
    return str(repo["full_name"]), str(repo["default_branch"]), str(repo.get("html_url") or "")


async def _holds_proposals(
    ctx: HandlerContext, repo: str, branch: str, result: ConfigResult
) -> bool:
    """Whether `repo` has its proposals folder (without one: whether it has its own config)."""
    if result.config is None:
        return False
    folder = static_folder(result.config)
    if not folder:
        return result.source == "repo"
    try:
        await ctx.gh.getitem(f"/repos/{repo}/contents/{quote(folder)}?ref={quote(branch, safe='')}")
    except BadRequest as error:
        if error.status_code == 404:
            return False
        raise
    return True


async def _config(ctx: HandlerContext, repo: str, branch: str) -> ConfigResult:
    return await load_repo_config(ctx.gh, repo, branch, cache=ctx.config_cache)


async def _proposal_holders(
    ctx: HandlerContext, fallback: dict[str, Any]
) -> tuple[tuple[str, str, str], ...]:
    """The installation's repositories that hold proposals (cached for a few minutes).

    A bot running with a personal token has no installation listing; it sees `fallback`
    (the event's repository) only.
    """
    memory = _memory(ctx)
    if memory.holders is not None and time.monotonic() < memory.holders_until:
        return memory.holders
    try:
        listed = [
            _info(r)
            async for r in ctx.gh.getiter(
                "/installation/repositories?per_page=100", iterable_key="repositories"
            )
        ]
    except BadRequest as error:
        if error.status_code not in (401, 403, 404):
            raise
        listed = [_info(fallback)]
    gate = asyncio.Semaphore(PROBES)

    async def probe(info: tuple[str, str, str]) -> bool:
        async with gate:
            return await _holds_proposals(ctx, info[0], info[1], await _config(ctx, *info[:2]))

    held = await asyncio.gather(*(probe(info) for info in listed))
    found = tuple(info for info, yes in zip(listed, held, strict=True) if yes)
    memory.holders, memory.holders_until = found, time.monotonic() + HOLDERS_TTL
    return found


async def targets_for(ctx: HandlerContext, repo: dict[str, Any]) -> list[Target]:
    """The proposals repositories that PRs of `repo` may link to, the repository itself first."""
    name = str(repo["full_name"])
    own = await load_config(ctx, repo)
    # `implementations.proposals` (owner/name), when the configuration model has it.
    explicit = getattr(own.config.implementations, "proposals", None) if own.config else None
    if isinstance(explicit, str) and explicit:
        holders: Iterable[tuple[str, str, str]] = [
            _info(await ctx.gh.getitem(f"/repos/{explicit}"))
        ]
    else:
        holders = await _proposal_holders(ctx, repo)
    targets = []
    for full_name, branch, html_url in holders:
        result = await _config(ctx, full_name, branch)
        config = result.config
        if config is not None and repo_matches(config.implementations.repositories, name):
            targets.append(Target(full_name, branch, html_url, config))
    targets.sort(key=lambda t: (t.repo.lower() != name.lower(), t.repo.lower()))
    return targets


async def _touches_proposals(ctx: HandlerContext, target: Target, number: int) -> bool:
    layout, folder = target.config.proposals, static_folder(target.config)
    for path in await changed_paths(ctx.gh, target.repo, number):
        if is_proposal_path(layout, path) or (folder and path.startswith(folder + "/")):
            return True
    return False


async def _own_target(ctx: HandlerContext, repo: dict[str, Any]) -> Target | None:
    """`repo` itself as a proposals repository, when it holds proposals."""
    name, branch, html_url = _info(repo)
    result = await load_config(ctx, repo)
    if result.config is None or not await _holds_proposals(ctx, name, branch, result):
        return None
    return Target(name, branch, html_url, result.config)


async def is_implementation_pull(ctx: HandlerContext, repo: dict[str, Any], number: int) -> bool:
    """Whether PR `number` of `repo` is an implementation PR (this module runs its commands).

    True when some proposals repository accepts links from `repo` and the PR is not a
    proposal PR (one that changes files under `repo`'s own proposals folder).
    """
    if not await targets_for(ctx, repo):
        return False
    own = await _own_target(ctx, repo)
    return own is None or not await _touches_proposals(ctx, own, number)


# -- resolving references ---------------------------------------------------------------------


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
        self._proposals: list[str] = []
        self._loaded: dict[tuple[str, str], Proposal | None] = {}
        self._results: dict[tuple[object, ...], Found | str] = {}

    @property
    def kind(self) -> str:
        return self.target.config.kind

    async def proposals(self) -> list[str]:
        """The metadata paths of the proposals on the default branch."""
        if self._paths is None:
            target = self.target
            self._paths = await list_paths(self.ctx.gh, target.repo, target.default_branch)
            layout = target.config.proposals
            self._proposals = [p for p in self._paths if is_proposal_path(layout, p)]
        return self._proposals

    async def load(self, path: str, ref: str | None = None) -> Proposal | None:
        at = ref or self.target.default_branch
        if (path, at) not in self._loaded:
            config, repo = self.target.config, self.target.repo
            files = {}
            for name in dict.fromkeys((path, document_path(config.proposals, path))):
                found = await read_file(self.ctx.gh, repo, name, at)
                if found is not None:
                    files[name] = found.data.decode("utf-8", "replace")
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
            issue = await self.ctx.gh.getitem(f"/repos/{repo}/issues/{number}")
        except BadRequest as error:
            if error.status_code in (404, 410):
                return f"{repo}#{number} does not exist"
            raise
        if not issue.get("pull_request"):
            return await self._tracking_issue(issue, number)
        pull = await self.ctx.gh.getitem(f"/repos/{repo}/pulls/{number}")
        changed = await changed_paths(self.ctx.gh, repo, number)
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

    async def _tracking_issue(self, issue: dict[str, Any], number: int) -> Found | str:
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

    async def location(self, found: Found) -> int | None:
        """Where the proposal's tracking comment lives (an issue or PR number), if anywhere."""
        if found.pull is not None:
            return found.pull
        config, repo = self.target.config, self.target.repo
        issue = tracking_issue(config, found.proposal, repo)
        if issue is None and config.numbering.source == "issue":
            issue = as_int(found.proposal.number)
        if issue is not None and await self._is_issue(issue):
            return issue
        return await self._adding_pull(found)

    async def _is_issue(self, number: int) -> bool:
        try:
            issue = await self.ctx.gh.getitem(f"/repos/{self.target.repo}/issues/{number}")
        except BadRequest as error:
            if error.status_code in (404, 410):
                return False
            raise
        return not issue.get("pull_request")

    async def _adding_pull(self, found: Found) -> int | None:
        """The merged PR that added the proposal: searched by title, number and name, and
        accepted only when that PR's files add the proposal (placeholder name or not)."""
        key, memory = (self.target.repo.lower(), found.path), _memory(self.ctx)
        if key in memory.found:
            return memory.found[key]
        if key in memory.missed:
            return None
        repo, config = self.target.repo, self.target.config
        words = [
            found.proposal.title or "",
            found.label,
            proposal_name(config.proposals, found.path),
        ]
        pull: int | None = None
        for word in dict.fromkeys(w.replace('"', " ").strip() for w in words if w.strip()):
            query = quote(f'repo:{repo} is:pr is:merged "{word}"')
            url = f"/search/issues?q={query}&sort=created&order=asc&per_page={SEARCH_CANDIDATES}"
            reply = await self.ctx.gh.getitem(url)
            for item in (reply.get("items") or [])[:SEARCH_CANDIDATES]:
                if await self._added_by(int(item["number"]), found.path):
                    pull = int(item["number"])
                    break
            if pull is not None:
                break
        if pull is None:
            memory.missed[key] = True
        else:
            memory.found[key] = pull
        return pull

    async def _added_by(self, number: int, path: str) -> bool:
        config = self.target.config
        files = await pull_files(self.ctx.gh, self.target.repo, number)
        return any(
            is_proposal_path(config.proposals, added) and same_proposal(config, added, path)
            for added in files.added
        )


# -- an implementation PR's links -------------------------------------------------------------


@dataclass
class Links:
    """What an implementation PR links to, and the references that name no proposal."""

    targets: list[Target]
    found: list[Found] = field(default_factory=list)
    unknown: list[tuple[Reference, str]] = field(default_factory=list)
    resolvers: dict[str, Resolver] = field(default_factory=dict)

    def resolver(self, ctx: HandlerContext, target: Target) -> Resolver:
        if target.repo not in self.resolvers:
            self.resolvers[target.repo] = Resolver(ctx, target)
        return self.resolvers[target.repo]


async def _first(
    ctx: HandlerContext, links: Links, targets: Sequence[Target], reference: Reference
) -> Found | str | None:
    """The first target that resolves `reference`; else the first reason; None: not about any."""
    reason: str | None = None
    for target in targets:
        if not reference.about(target.repo):
            continue
        result = await links.resolver(ctx, target).resolve(reference)
        if isinstance(result, Found):
            return result
        reason = reason or result
    return reason


async def may_link(ctx: HandlerContext, pull: dict[str, Any], login: str, found: Found) -> Grant:
    """Whether `login` may link or unlink the PR to `found`: its author or an approver."""
    who = normalize(login)
    if who == normalize(str(pull["user"]["login"])):
        return Grant("author", True, f"`{who}` wrote this pull request")
    target = found.target
    metadata = {name: found.proposal.list_of(name) for name in ROLE_FIELDS}
    return await holds(
        ctx.directory,
        ctx.gh,
        repo=target.repo,
        default_branch=target.default_branch,
        login=who,
        role=APPROVER,
        rule=rule_for(target.config, APPROVER),
        metadata=metadata if found.pull is None else {},  # never the PR's own metadata
        path=found.path,
    )


def _history(
    ctx: HandlerContext, pull: dict[str, Any], thread: Thread, targets: Sequence[Target]
) -> list[tuple[Spoken, Command, list[Target]]]:
    """The link commands of the PR in order (body first), each with the targets of its word."""
    by_word: dict[str, list[Target]] = {}
    for target in targets:
        by_word.setdefault(target.config.command, []).append(target)
    found: list[tuple[int, int, Spoken, Command, list[Target]]] = []
    for word, chosen in by_word.items():
        for spoken in command_history(ctx, pull, thread, word):
            for command in spoken.commands:
                if command.verb in LINK_VERBS:
                    found.append((spoken.comment_id or 0, command.line, spoken, command, chosen))
    found.sort(key=lambda item: item[:2])
    return [(spoken, command, chosen) for _, _, spoken, command, chosen in found]


async def derive_links(
    ctx: HandlerContext, pull: dict[str, Any], thread: Thread, targets: list[Target]
) -> Links:
    """The PR's links: references in its title and body, then its commands replayed."""
    links = Links(targets)
    current: dict[tuple[str, str], Found] = {}
    texts = (str(pull.get("title") or ""), str(pull.get("body") or ""))
    for target in targets:
        for text in texts:
            for reference in find_references(text, target.config):
                if not reference.about(target.repo):
                    continue
                result = await links.resolver(ctx, target).resolve(reference)
                if isinstance(result, Found):
                    current.setdefault(result.key, result)
                elif all(reference.text != seen.text for seen, _ in links.unknown):
                    links.unknown.append((reference, result))
    for spoken, command, chosen in _history(ctx, pull, thread, targets):
        for reference in argument_references(command.args, chosen[0].config):
            named = await _first(ctx, links, chosen, reference)
            if not isinstance(named, Found):
                continue
            if not (await may_link(ctx, pull, spoken.login, named)).granted:
                continue
            if command.verb == "link":
                current.setdefault(named.key, named)
            else:
                current.pop(named.key, None)
    links.found = list(current.values())
    return links


# -- writing the implementation side ----------------------------------------------------------


def _state(pull: dict[str, Any]) -> str:
    return "merged" if pull.get("merged") else str(pull.get("state") or "open")


def _describe(found: Found) -> str:
    status = quote_user_text(found.proposal.status or "unknown", 40)
    title = quote_user_text(found.title, 120)
    line = f"- [{found.label}: {title}]({found.url}) ({found.target.repo}), status **{status}**"
    if found.pull is not None:
        line += f"; still under review in {found.target.repo}#{found.pull}"
    return line


def _link_comment(links: Links, tracked: Iterable[tuple[str, int]]) -> str:
    word = links.targets[0].config.command
    lines = ["**Implements**" if links.found else "This pull request links no proposal."]
    if links.found:
        lines += ["", *(_describe(found) for found in links.found)]
    if links.unknown:
        lines += ["", "**Unresolved references** (they name no proposal):", ""]
        lines += [f"- {quote_user_text(ref.text, 120)}: {why}" for ref, why in links.unknown]
    lines += [
        "",
        f"Change the links in the description, or with `/{word} link <ref>` and "
        f"`/{word} unlink <ref>` (the pull request's author and the proposal's approvers).",
        "",
        data_block({"tracked": sorted([repo, number] for repo, number in tracked)}),
    ]
    return "\n".join(lines)


def _problems(links: Links) -> list[str]:
    problems = []
    requiring = [t for t in links.targets if t.config.implementations.require_link]
    if requiring and not links.found:
        kinds = one_of(dict.fromkeys(t.config.kind for t in requiring))
        prefix = requiring[0].config.implementations.prefix
        problems.append(f"This pull request must link a {kinds}: write e.g. `{prefix}-1234`.")
    for found in links.found:
        allowed = found.target.config.implementations.require_status
        status = found.proposal.status or ""
        if not allowed:
            continue
        if found.pull is not None:
            problems.append(f"{found.label} is not merged yet; it must be {one_of(allowed)}.")
        elif status.lower() not in {s.lower() for s in allowed}:
            shown = quote_user_text(status or "without a status", 40)
            problems.append(f"{found.label} is {shown}; implementing it needs {one_of(allowed)}.")
    return problems


def _check(links: Links) -> CheckOutput:
    problems = _problems(links)
    linked = ", ".join(f"{f.label} ({f.proposal.status or 'unknown'})" for f in links.found)
    title = f"Linked to {linked}" if linked else "No proposal linked"
    lines = [_describe(found) for found in links.found] or ["No proposal is linked."]
    if problems:
        lines += ["", "**Problems:**", "", *(f"- {p}" for p in problems)]
    conclusion = "failure" if problems else "success"
    return CheckOutput(conclusion, title[:200], "\n".join(lines), [])


async def _labels(ctx: HandlerContext, repo: str, number: int, links: Links) -> None:
    specs = {t.config.labels.link.name: t.config.labels.link for t in links.targets}
    wanted: dict[str, LabelSpec] = {}
    for found in links.found:
        spec = found.target.config.labels.link
        wanted[spec.name] = spec
    managed = Managed(names=frozenset(specs))
    await sync_labels(ctx.gh, repo, number, wanted, managed)


async def refresh_pull(
    ctx: HandlerContext, repo: dict[str, Any], pull: dict[str, Any]
) -> Links | None:
    """Derive the PR's links and write the label, link comment, check and tracking rows.

    None when the PR is not an implementation PR. Nothing is written on a PR that has no
    link, no unresolved reference, no earlier link comment and no `require-link` to meet.
    """
    name, number = str(repo["full_name"]), int(pull["number"])
    targets = await targets_for(ctx, repo)
    if not targets:
        return None
    own = await _own_target(ctx, repo)
    if own is not None and await _touches_proposals(ctx, own, number):
        return None
    thread = await read_thread(ctx, name, number)
    links = await derive_links(ctx, pull, thread, targets)
    previous = await find_comment(ctx.gh, name, number, LINK_MARKER, ctx.bot_login, thread)
    required = any(t.config.implementations.require_link for t in targets)
    if not (links.found or links.unknown or previous is not None or required):
        return links
    before = read_data(str(previous.get("body") or "")) if previous else {}
    tracked = await _track(ctx, pull, name, links, before)
    if links.found or links.unknown or previous is not None:
        await _labels(ctx, name, number, links)
        body = _link_comment(links, tracked)
        await upsert_comment(ctx.gh, name, number, LINK_MARKER, body, ctx.bot_login, thread)
    if pull.get("state") == "open":
        output, sha = _check(links), str(pull["head"]["sha"])
        if ctx.app_mode:
            await publish_check(ctx.gh, name, sha, output, name=CHECK_NAME)
        else:
            await publish_status(ctx.gh, name, sha, output, name=CHECK_NAME)
    return links


def _heading(found: Sequence[Found]) -> str:
    names = ", ".join(f"{f.label}: {quote_user_text(f.title, 120)}" for f in found)
    return f"**Implementation pull requests** of {names} (kept up to date by kepbot)"


async def _track(
    ctx: HandlerContext, pull: dict[str, Any], name: str, links: Links, before: dict[str, Any]
) -> list[tuple[str, int]]:
    """Write this PR's row where its proposals are tracked; remove it where they no longer are."""
    at: dict[tuple[str, int], list[Found]] = {}
    for found in links.found:
        where = await links.resolver(ctx, found.target).location(found)
        if where is not None:
            at.setdefault((found.target.repo, where), []).append(found)
    number = int(pull["number"])
    row = Row(name, number, _state(pull), str(pull.get("title") or ""))
    for (repo, where), founds in at.items():
        await set_rows(
            ctx.gh,
            repo,
            where,
            ctx.bot_login,
            pull=(name, number),
            rows=[row],
            heading=_heading(founds),
        )
    current = {(repo.lower(), where) for repo, where in at}
    for item in before.get("tracked") or []:
        if (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and (item[0].lower(), item[1]) not in current
        ):
            await set_rows(
                ctx.gh, item[0], item[1], ctx.bot_login, pull=(name, number), rows=[], heading=None
            )
    return list(at)


# -- the proposal side ------------------------------------------------------------------------


async def unmerged_links(ctx: HandlerContext, proposals_repo: str, proposal: Proposal) -> list[str]:
    """The implementation PRs (`owner/repo#N`) of `proposal` that are still open.

    Read from the proposal's tracking comment; each open row is checked against GitHub
    (and corrected there when it changed meanwhile). PRs closed without merging do not
    count: they were abandoned. [] when the proposal has no tracking comment.
    """
    info = await ctx.gh.getitem(f"/repos/{proposals_repo}")
    name, branch, html_url = _info(info)
    result = await _config(ctx, name, branch)
    if result.config is None:
        return []
    resolver = Resolver(ctx, Target(name, branch, html_url, result.config))
    proposals = await resolver.proposals()
    path = proposal.path
    if path not in proposals:
        path = renamed_to(result.config, proposals, path) or path
    where = await resolver.location(Found(resolver.target, path, proposal))
    if where is None:
        return []
    pending = []
    for row in await read_rows(ctx.gh, name, where, ctx.bot_login):
        if row.state != "open":
            continue
        try:
            pull = await ctx.gh.getitem(f"/repos/{row.repo}/pulls/{row.number}")
        except BadRequest as error:
            if error.status_code in (404, 410):
                continue
            raise
        state = _state(pull)
        if state != row.state:
            fresh = replace(row, state=state)
            await set_rows(
                ctx.gh,
                name,
                where,
                ctx.bot_login,
                pull=(row.repo, row.number),
                rows=[fresh],
                heading=None,
            )
        if state == "open":
            pending.append(row.ref)
    return pending


async def refresh_linked(ctx: HandlerContext, repo: dict[str, Any], number: int) -> int:
    """After proposal PR `number` merged: refresh the open implementation PRs of its proposals
    (their link comments show the new status or number). Returns how many were refreshed."""
    own = await _own_target(ctx, repo)
    if own is None:
        return 0
    resolver = Resolver(ctx, own)
    proposals = await resolver.proposals()
    places = {number}
    for changed in await changed_paths(ctx.gh, own.repo, number):
        if not is_proposal_path(own.config.proposals, changed):
            continue
        path = changed if changed in proposals else renamed_to(own.config, proposals, changed)
        found = await resolver.found(path) if path else None
        if isinstance(found, Found) and (where := await resolver.location(found)) is not None:
            places.add(where)
    refreshed = 0
    for where in sorted(places):
        for row in await read_rows(ctx.gh, own.repo, where, ctx.bot_login):
            if row.state != "open" or refreshed >= MAX_REFRESH:
                continue
            pull = await ctx.gh.getitem(f"/repos/{row.repo}/pulls/{row.number}")
            await refresh_pull(ctx, pull["base"]["repo"], pull)
            refreshed += 1
    return refreshed


# -- commands ---------------------------------------------------------------------------------


async def _reply(
    ctx: HandlerContext, repo: str, number: int, key: str, command: Command, text: str
) -> None:
    body = f"> {quote_user_text(command.raw)}\n\n{text}"
    await post_once(ctx.gh, repo, number, key, body, ctx.bot_login)


def _help(word: str) -> str:
    rows = [f"| `/{word} {verb} <ref>` | {text} |" for verb, text in LINK_VERBS.items()]
    return "\n".join(
        [
            "On an implementation pull request:",
            "",
            "| command | what it does |",
            "| --- | --- |",
            *rows,
            "",
            "`<ref>` is a proposal number (`KEP-1234`), `owner/repo#N` (the proposal's pull "
            "request or tracking issue) or a link to the proposal. The pull request's author "
            "and the proposal's approvers may run them.",
        ]
    )


async def run_command(
    ctx: HandlerContext,
    repo: str,
    pull: dict[str, Any],
    spoken: Spoken,
    command: Command,
    targets: list[Target],
) -> bool:
    """Answer one command on an implementation PR; True when it was refused.

    Accepted `link`/`unlink` commands take effect through `refresh_pull`, which replays them.
    """
    number = int(pull["number"])
    key = f"link-c{spoken.comment_id or 'body'}-{command.line}"
    word = targets[0].config.command
    if command.verb == "help":
        await _reply(ctx, repo, number, key, command, _help(word))
        return False
    if command.verb == "status":
        return False
    if command.verb not in LINK_VERBS:
        text = (
            f"`{quote_user_text(command.verb, 40)}` applies to proposal pull requests. This is "
            f"an implementation pull request: use `/{word} link <ref>` or `/{word} unlink <ref>`."
        )
        await _reply(ctx, repo, number, key, command, text)
        return True
    references = argument_references(command.args, targets[0].config)
    if not references:
        example = f"{targets[0].config.implementations.prefix}-1234"
        text = f"Name the proposal: `/{word} {command.verb} <ref>`, e.g. `{example}`."
        await _reply(ctx, repo, number, key, command, text)
        return True
    links = Links(targets)
    refused = False
    for index, reference in enumerate(references):
        result = await _first(ctx, links, targets, reference)
        where = f"{key}-{index}"
        if not isinstance(result, Found):
            refused = True
            why = result or "it names none of the proposals repositories this one links to"
            text = f"Not linked: {quote_user_text(reference.text, 120)} names no proposal: {why}."
            await _reply(ctx, repo, number, where, command, text)
            continue
        grant = await may_link(ctx, pull, spoken.login, result)
        if not grant.granted:
            refused = True
            who = await who_can(
                ctx.directory,
                ctx.gh,
                repo=result.target.repo,
                default_branch=result.target.default_branch,
                role=APPROVER,
                rule=rule_for(result.target.config, APPROVER),
                metadata={n: result.proposal.list_of(n) for n in ROLE_FIELDS}
                if result.pull is None
                else {},
                path=result.path,
            )
            text = (
                f"Not applied: {grant.reason}. The pull request's author and the approvers of "
                f"{result.label} may {command.verb} it. {who}"
            )
            await _reply(ctx, repo, number, where, command, text)
    return refused


async def _commands(
    ctx: HandlerContext,
    repo: dict[str, Any],
    pull: dict[str, Any],
    spoken: Spoken,
    found: list[tuple[Command, list[Target]]],
    *,
    claim_first: bool,
) -> None:
    name = str(repo["full_name"])
    target = {"comment_id": spoken.comment_id} if spoken.comment_id else {"number": pull["number"]}
    if claim_first and not await claim(ctx.gh, name, **target):
        log.info("link commands of %s already handled elsewhere", target)
        return
    refused = False
    for command, targets in found:
        refused = await run_command(ctx, name, pull, spoken, command, targets) or refused
    await react(ctx.gh, name, content="-1" if refused else "+1", **target)
    await refresh_pull(ctx, repo, pull)


def _parse(
    targets: list[Target], body: str, before: str | None
) -> list[tuple[Command, list[Target]]]:
    by_word: dict[str, list[Target]] = {}
    for target in targets:
        by_word.setdefault(target.config.command, []).append(target)
    found = []
    for word, chosen in by_word.items():
        parsed = (
            new_commands(before, body, word) if before is not None else parse_commands(body, word)
        )
        found += [(command, chosen) for command in parsed]
    return sorted(found, key=lambda item: item[0].line)


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: HandlerContext) -> None:
    data = event.data
    issue, comment, repo = data["issue"], data["comment"], data["repository"]
    if not issue.get("pull_request") or (comment.get("user") or {}).get("type") == "Bot":
        return
    targets = await targets_for(ctx, repo)
    if not targets:
        return
    before = None
    if data["action"] == "edited":
        before = ((data.get("changes") or {}).get("body") or {}).get("from") or ""
    found = _parse(targets, comment.get("body") or "", before)
    if not found or not await is_implementation_pull(ctx, repo, int(issue["number"])):
        return
    pull = await ctx.gh.getitem(f"/repos/{repo['full_name']}/pulls/{issue['number']}")
    commands = tuple(command for command, _ in found)
    spoken = Spoken(str(comment["user"]["login"]), commands, int(comment["id"]))
    await _commands(ctx, repo, pull, spoken, found, claim_first=data["action"] == "created")


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="edited")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="closed")
async def on_pull_request(event: sansio.Event, ctx: HandlerContext) -> None:
    """Implementation PRs: links, label, comment, check, tracking. Merged proposal PRs:
    their implementation PRs are refreshed."""
    data = event.data
    pull, repo, number = data["pull_request"], data["repository"], int(data["number"])
    own = await _own_target(ctx, repo)
    if own is not None and await _touches_proposals(ctx, own, number):
        if data["action"] == "closed" and pull.get("merged"):
            await refresh_linked(ctx, repo, number)
        return
    targets = await targets_for(ctx, repo)
    if not targets:
        return
    if data["action"] == "opened" and (pull.get("user") or {}).get("type") != "Bot":
        found = _parse(targets, pull.get("body") or "", None)
        if found:
            spoken = Spoken(str(pull["user"]["login"]), tuple(c for c, _ in found), None)
            await _commands(ctx, repo, pull, spoken, found, claim_first=True)
            return
    await refresh_pull(ctx, repo, pull)
