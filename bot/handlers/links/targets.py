"""Which proposals repositories a pull request can link to, and which PRs are implementation PRs.

A proposals repository is a repository of the installation that holds proposals (its
configuration's proposals folder, `keps/`, `geps/`..., exists on its default branch); it
accepts links from the repositories its `implementations.repositories` names (or the one
`implementations.proposals` names is used outright). A PR of a proposals repository that
changes files under its proposals folder is a proposal PR, not an implementation PR;
everything else can be one.

Private stays private. What is in one repository is written into another (a proposal's
title, status, path or existence into an implementation PR's link comment, label, check
and replies; an implementation PR's repository, number, title and state into a
proposal's tracking comment, which the pipeline page shows) only when `shows` allows it:

- from a public repository into any repository, and within one repository;
- from a private repository into another private repository of the same owner, and into
  nothing else.

A private proposals repository is therefore no target of a public repository's pull
requests (nor of one of another owner): they cannot link its proposals, and a reference
to it is answered exactly as a reference to a repository that does not exist: nothing on
the public side tells an existing proposal, or repository, from a missing one. A private
pull request may link a public proposal (its link comment shows the public proposal), but
the public proposal's tracking comment does not list it, so the `require-merged` gate
does not wait for it. Within one owner, an installation's private repositories may link
to each other: they are one organization's (or one user's) private work, and the
proposals repository's `implementations.repositories` (on its default branch, written by
people with write access to it) narrows which of them may link, for an owner whose
private repositories have different readers. A repository whose `private` flag is
missing counts as private.

Cost: the discovery of the proposals repositories is kept for minutes per installation
client, configurations come from the shared configuration cache, and whether a PR is a
proposal PR is kept per (installation, repository, PR, head commit) for a short time, and
whether it is an implementation PR for the event (both comment handlers ask).
`is_implementation_pull` runs before every PR comment is parsed: given the comment, it
answers a comment without a command of any configured word at once, without a request.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from gidgethub import BadRequest

from bot.engine.commands import parse_commands
from bot.engine.config import Config
from bot.engine.proposal import is_proposal_path
from bot.engine.references import repo_matches, static_folder
from bot.github.pull_request import PullFiles, pull_at
from bot.github.repo_config import ConfigResult
from bot.github.shapes import Pull, Repository
from bot.github.urls import UnsafeUrl
from bot.handlers.context import HandlerContext
from bot.handlers.memory import Holder, client_memory, event_memo
from bot.handlers.pr_state import load_config

__all__ = [
    "Target",
    "config_of",
    "fetch_pull",
    "is_implementation_pull",
    "is_private",
    "is_proposal_pull",
    "may_hold_command",
    "own_target",
    "proposal_holders",
    "pull_files_once",
    "repo_info",
    "repo_target",
    "repo_target_info",
    "shows",
    "take_pull",
    "targets_for",
]

PROBES = 8  # repositories probed at once when discovering proposals repositories
# Where a command of any word could start: a line's first non-space (at most three) is `/`.
_COMMAND_START = re.compile(r"(?:\A|[\r\n]) {0,3}/[^\s/]")


@dataclass(frozen=True)
class Target:
    """A proposals repository an implementation PR can link to, with its configuration."""

    repo: str
    default_branch: str
    html_url: str
    config: Config
    private: bool = True


def is_private(repo: Repository) -> bool:
    """A repository's `private` flag as GitHub gives it (missing: private)."""
    return repo.get("private", True) is not False


def repo_info(repo: Repository) -> Holder:
    """(full name, default branch, html_url, private) of a repository as GitHub describes it."""
    name, branch = str(repo["full_name"]), str(repo["default_branch"])
    return name, branch, str(repo.get("html_url") or ""), is_private(repo)


def _owner(full_name: str) -> str:
    return full_name.partition("/")[0].lower()


def shows(source: str, source_private: bool, into: str, into_private: bool) -> bool:
    """Whether what is in repository `source` may be written into repository `into` (the
    module's rule: public into anything; within one repository; private into private of
    the same owner)."""
    if not source_private or source.lower() == into.lower():
        return True
    return into_private and _owner(source) == _owner(into)


async def config_of(ctx: HandlerContext, repo: str, branch: str) -> ConfigResult:
    return await ctx.github.config(repo, branch, cache=ctx.config_cache)


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
        await ctx.github.contents(repo, folder, branch)
    except UnsafeUrl:
        return False  # a folder no repository can hold
    except BadRequest as error:
        if error.status_code == 404:
            return False
        raise
    return True


async def _holding(ctx: HandlerContext, repos: Sequence[Holder]) -> tuple[Holder, ...]:
    gate = asyncio.Semaphore(PROBES)

    async def probe(info: Holder) -> bool:
        async with gate:
            return await _holds_proposals(ctx, info[0], info[1], await config_of(ctx, *info[:2]))

    held = await asyncio.gather(*(probe(info) for info in repos))
    return tuple(info for info, yes in zip(repos, held, strict=True) if yes)


async def proposal_holders(ctx: HandlerContext, fallback: Repository) -> tuple[Holder, ...]:
    """The installation's repositories that hold proposals (cached for a few minutes).

    A bot running with a personal token has no installation listing; it sees `fallback`
    (the event's repository) only.
    """
    memory = client_memory(ctx)
    fresh = memory.fresh_holders()
    if fresh is not None:
        return fresh
    if not memory.listing_refused:
        try:
            listed = [repo_info(r) async for r in ctx.github.installation_repositories()]
        except BadRequest as error:
            if error.status_code not in (401, 403, 404):
                raise
            memory.listing_refused = True  # token mode: it stays so for the client's life
        else:
            found = await _holding(ctx, listed)
            memory.remember_holders(found)
            return found
    # Not kept across events: it varies with the event's repository.
    name = str(fallback["full_name"]).lower()
    return await event_memo(ctx).get(
        ("holding", name), lambda: _holding(ctx, [repo_info(fallback)])
    )


async def targets_for(ctx: HandlerContext, repo: Repository) -> list[Target]:
    """The proposals repositories that PRs of `repo` may link to, the repository itself first."""
    key = ("targets", str(repo["full_name"]).lower())
    return list(await event_memo(ctx).get(key, lambda: _targets_for(ctx, repo)))


async def _targets_for(ctx: HandlerContext, repo: Repository) -> list[Target]:
    name = str(repo["full_name"])
    own = await load_config(ctx, repo)
    explicit = own.config.implementations.proposals if own.config else None
    if isinstance(explicit, str) and explicit:
        holders: Iterable[Holder] = [await repo_target_info(ctx, explicit)]
    else:
        holders = await proposal_holders(ctx, repo)
    targets, private = [], is_private(repo)
    for full_name, branch, html_url, held_private in holders:
        if not shows(full_name, held_private, name, private):
            continue  # a private proposal may not be shown in this repository
        result = await config_of(ctx, full_name, branch)
        config = result.config
        if config is not None and repo_matches(config.implementations.repositories, name):
            targets.append(Target(full_name, branch, html_url, config, held_private))
    targets.sort(key=lambda t: (t.repo.lower() != name.lower(), t.repo.lower()))
    return targets


async def repo_target_info(ctx: HandlerContext, name: str) -> Holder:
    """`name`'s (full name, default branch, html_url): from the discovery when it is recent,
    else read once per event."""
    for holder in client_memory(ctx).fresh_holders() or ():
        if holder[0].lower() == name.lower():
            return holder

    async def read() -> Holder:
        return repo_info(await ctx.github.repository(name))

    return await event_memo(ctx).get(("repo", name.lower()), read)


async def repo_target(ctx: HandlerContext, name: str) -> Target | None:
    """The proposals repository `name` with its configuration (None: the config is broken)."""
    full_name, branch, html_url, private = await repo_target_info(ctx, name)
    result = await config_of(ctx, full_name, branch)
    if result.config is None:
        return None
    return Target(full_name, branch, html_url, result.config, private)


async def own_target(ctx: HandlerContext, repo: Repository) -> Target | None:
    """`repo` itself as a proposals repository, when it holds proposals."""
    name, branch, html_url, private = repo_info(repo)
    holders = await proposal_holders(ctx, repo)
    result = await load_config(ctx, repo)
    if result.config is None or all(h[0].lower() != name.lower() for h in holders):
        return None
    return Target(name, branch, html_url, result.config, private)


async def fetch_pull(ctx: HandlerContext, repo: str, number: int) -> Pull:
    """The pull request as GitHub has it, read once per event."""

    async def read() -> Pull:
        pull: Pull = await ctx.github.pull(repo, number)
        return pull

    return await event_memo(ctx).get(("pull", repo.lower(), number), read)


async def take_pull(ctx: HandlerContext, repo: str, number: int) -> Pull:
    """The pull request as read earlier in this event (or now), for a handler about to write
    to it: a copy it may update, and the event's memo forgets it, so a later `fetch_pull`
    of the event reads the PR as those writes left it."""
    pull = event_memo(ctx).take(("pull", repo.lower(), number))
    if pull is None:
        pull = await ctx.github.pull(repo, number)
    return cast(Pull, copy.deepcopy(dict(pull)))


async def pull_files_once(
    ctx: HandlerContext, repo: str, number: int, at: tuple[str, str] | None = None
) -> PullFiles:
    """The PR's file list, read once per event (with `at`, its head sha and base branch,
    shared with the check's read of the same head: see `bot.github.read_cache`)."""
    key = ("files", repo.lower(), number)
    return await event_memo(ctx).get(key, lambda: ctx.github.files(repo, number, at))


async def is_proposal_pull(
    ctx: HandlerContext,
    target: Target,
    number: int,
    head_sha: str | None = None,
    base: str | None = None,
) -> bool:
    """Whether PR `number` of the proposals repository `target` changes its proposals.

    Kept per (installation, repository, PR, head commit) for a short time; without
    `head_sha`, the PR is read (once per event) to learn it. With `base` too (the PR's base
    branch), its file list is the one the check reads (`bot.github.read_cache`).
    """
    at: tuple[str, str] | None
    if head_sha:
        sha, at = head_sha, ((head_sha, base) if base else None)
    else:
        at = pull_at(await fetch_pull(ctx, target.repo, number))
        sha = at[0]
    installation = ctx.github.installation_id
    key = (installation, target.repo.lower(), number, sha)
    memory = client_memory(ctx)
    known = memory.proposal_pulls.get(key)
    if known is not None:
        return known
    layout, folder = target.config.proposals, static_folder(target.config)
    files = await pull_files_once(ctx, target.repo, number, at)
    answer = any(
        is_proposal_path(layout, path) or bool(folder and path.startswith(folder + "/"))
        for path in files.changed
    )
    memory.proposal_pulls[key] = answer
    return answer


def may_hold_command(body: str) -> bool:
    """Whether some line of `body` could be a command of some word (a cheap first test)."""
    return _COMMAND_START.search(body) is not None


async def is_implementation_pull(
    ctx: HandlerContext,
    repo: Repository,
    number: int,
    body: str | None = None,
    *,
    head_sha: str | None = None,
) -> bool:
    """Whether PR `number` of `repo` is an implementation PR (bot.handlers.links runs its
    commands).

    True when some proposals repository accepts links from `repo` and the PR is not a
    proposal PR (one that changes files under `repo`'s own proposals folder). With `body`
    (a comment, or the PR's description): False at once when it holds no command of any
    word configured for `repo` or its proposals repositories, so neither handler has
    anything to run; that costs no request. `head_sha`, when the caller has it, saves
    reading the PR to learn it.
    """
    if body is not None and not may_hold_command(body):
        return False
    targets = await targets_for(ctx, repo)
    if not targets:
        return False
    if body is not None:
        own_config = (await load_config(ctx, repo)).config
        words = {target.config.command for target in targets}
        if own_config is not None:
            words.add(own_config.command)
        if not any(parse_commands(body, word) for word in sorted(words)):
            return False
    return await event_memo(ctx).get(
        ("implementation", str(repo["full_name"]).lower(), number),
        lambda: _not_a_proposal_pull(ctx, repo, number, head_sha),
    )


async def _not_a_proposal_pull(
    ctx: HandlerContext, repo: Repository, number: int, head_sha: str | None
) -> bool:
    """The PR-level half of `is_implementation_pull` (kept per event by it: a command's
    edit never makes a proposal PR stop being one)."""
    own = await own_target(ctx, repo)
    return own is None or not await is_proposal_pull(ctx, own, number, head_sha)
