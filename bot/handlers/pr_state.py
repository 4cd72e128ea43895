"""Everything a decision about a proposal pull request needs, read fresh from GitHub.

This module owns `PullState`, plain data: the configuration (default branch), the
proposals the PR touches in their base and head versions, the PR's comments and its
command history, and reading them (`load_pull_state`, `command_history`). Check runs and
commands both start from here, so both see GitHub the same way. What the bot writes to
the branch while handling a delivery is recorded with `record_write`. Who may act on the
state, and the replay of its commands, are `bot.handlers.permissions`.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from bot.engine.authorize import Spoken
from bot.engine.commands import Command
from bot.engine.config import Config
from bot.engine.proposal import Proposal, document_path, load_proposal
from bot.engine.roles import normalize
from bot.github.pull_request import ChangeTrees
from bot.github.repo import Listing
from bot.github.repo_config import ConfigResult
from bot.github.shapes import Comment, Issue, Pull, Repository, login_of
from bot.handlers.authorship import body_commands, comment_commands, records, was_edited
from bot.handlers.context import HandlerContext, moment
from bot.handlers.memory import event_memo, event_thread

ROLE_FIELDS = ("approvers", "reviewers", "authors")
# The hidden marker of the bot's comment recording a check-run button click (its clicker,
# verb and check run); see bot.handlers.buttons and, for why replay trusts it,
# bot.engine.authorize.
BUTTON = re.compile(r"<!-- kepbot:button:([A-Za-z0-9-]{1,39}):([a-z0-9-]{1,15}):([0-9]+) -->")


def button_marker(login: str, verb: str, run_id: int) -> str:
    """The `post_once` marker of `login`'s click on `verb` of check run `run_id`."""
    return f"button:{normalize(login)}:{verb}:{run_id}"


def button_command(word: str, verb: str) -> Command:
    """The command a click on the button for `verb` stands for."""
    return Command(verb, (), 1, f"/{word} {verb}")


@dataclass
class ProposalPair:
    path: str
    base: Proposal | None  # the default branch's version; None for a new proposal
    head: Proposal | None  # None when the PR deletes it

    @property
    def base_status(self) -> str | None:
        return self.base.status if self.base is not None else None

    @property
    def head_status(self) -> str | None:
        return self.head.status if self.head is not None else None

    def approvers(self) -> list[str]:
        """The approvers the default branch's version lists (none for a new proposal)."""
        return [normalize(login) for login in self.role_metadata().get("approvers", [])]

    def role_metadata(self, fields: tuple[str, ...] = ROLE_FIELDS) -> dict[str, list[str]]:
        """The people of `fields` (`role_fields(config)`) as the default branch lists them."""
        if self.base is None:
            return {}
        return {name: self.base.list_of(name) for name in fields}


@dataclass
class PullState:
    """One proposal pull request as this delivery read it: data, and nothing that decides."""

    ctx: HandlerContext
    repo: str
    default_branch: str
    pull: Pull
    config: Config
    trees: ChangeTrees
    pairs: list[ProposalPair]
    history: list[Spoken] = field(default_factory=list)
    thread: list[Comment] = field(default_factory=list)  # the PR's comments, as read
    # The webhook's repository ({} when not given).
    repository: Repository = field(default_factory=lambda: cast(Repository, {}))
    stale: bool = False  # the branch changed in ways only a fresh read shows (a renumber)
    # The PR's label names as read from GitHub in this delivery (None: list them before
    # syncing; an event's payload may be older than the labels).
    labels: list[str] | None = None
    # While one comment's commands run: what to answer, by reply key, gathered into the one
    # reply that comment gets (bot.handlers.status_edit); None: each reply is posted.
    answers: dict[str, str] | None = None

    @property
    def number(self) -> int:
        return int(self.pull["number"])

    @property
    def author(self) -> str:
        return normalize(str(self.pull["user"]["login"]))


def proposal_pair(state: PullState, path: str) -> ProposalPair:
    """The proposal of `state` at `path` (one the PR touches)."""
    return next(p for p in state.pairs if p.path == path)


def record_write(state: PullState, path: str, text: str, commit: str | None) -> None:
    """The bot wrote `text` to `path` on the head branch (in `commit`): `state` shows it."""
    state.trees.written(path, text)
    if commit is not None:
        state.pull["head"]["sha"] = commit
        state.ctx.github.made_head(state.repo, commit)  # its check run needs no look-up
    for pair in state.pairs:  # the metadata file or its document changed: read it again
        if path in (pair.path, document_path(state.config.proposals, pair.path)):
            pair.head = load_proposal(state.config, state.trees.head, pair.path)


async def read_thread(
    ctx: HandlerContext, repo: str, number: int, count: int | None = None
) -> list[Comment]:
    """The comments of `repo#number`, read once per delivery and shared by its handlers
    (`bot.handlers.memory.event_thread`)."""
    return await event_thread(ctx, repo, number, count)


def committed_listing(ctx: HandlerContext, repo: str, branch: str, listing: Listing) -> None:
    """The bot committed on `branch` in this delivery: the rest of the delivery lists the
    branch as that commit left it (`branch_listing`)."""
    event_memo(ctx).put(("listing", repo.lower(), branch), listing)


async def branch_listing(ctx: HandlerContext, repo: str, branch: str) -> Listing:
    """The files of `branch` with their blob shas, read once per delivery."""
    return await event_memo(ctx).get(
        ("listing", repo.lower(), branch), lambda: ctx.github.tree(repo, branch)
    )


def comment_count(item: Pull | Issue) -> int | None:
    """The `comments` GitHub gives for an issue or PR (None: not in this payload)."""
    count = item.get("comments")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def written(item: Comment | Pull) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """When a comment (or a PR's body) was written, and last edited if it was."""
    created, updated = moment(item.get("created_at")), moment(item.get("updated_at"))
    return created, updated if updated is not None and created != updated else None


def command_history(
    ctx: HandlerContext, pull: Pull, thread: Sequence[Comment], word: str
) -> list[Spoken]:
    """The commands of the PR body and of every comment, oldest first, each only as far as it
    counts as its author's (bot.handlers.authorship: an edited comment through the bot's
    record of the edit, the body through the record made when the PR was opened); bots'
    are ignored, except this bot's unedited records of button clicks, which stand for the
    clicker's command."""
    history = []
    author = pull["user"]
    recorded = records(thread, ctx.bot_login)
    if author.get("type") != "Bot":
        body = body_commands(pull, word, recorded)
        if body:
            # Only an opened PR's body runs commands, and a PR's `updated_at` moves with every
            # push and label, so its body counts from its creation.
            opened = moment(pull.get("created_at"))
            history.append(Spoken(str(author["login"]), tuple(body), None, opened))
    for comment in thread:
        user = comment.get("user")
        if login_of(user).lower() == ctx.bot_login.lower():
            click = BUTTON.match(comment.get("body") or "")
            if click is not None and not was_edited(comment):
                command = button_command(word, click.group(2))
                spoken = Spoken(click.group(1), (command,), int(comment["id"]), *written(comment))
                history.append(spoken)
            continue
        if user is None or user.get("type") == "Bot":
            continue  # no author (a deleted account) or a bot
        commands = comment_commands(comment, word, recorded)
        if commands:
            login, number = str(user["login"]), int(comment["id"])
            history.append(Spoken(login, tuple(commands), number, *written(comment)))
    return history


async def load_config(ctx: HandlerContext, repo: Repository) -> ConfigResult:
    return await ctx.github.config(
        repo["full_name"], repo["default_branch"], cache=ctx.config_cache
    )


async def load_pull_state(
    ctx: HandlerContext,
    repo: Repository,
    pull: Pull,
    config: Config,
    *,
    thread_needed: bool = False,
) -> PullState:
    """Read the PR's proposals and, when they exist (or `thread_needed`, as for a command,
    when the comments are read alongside the files), its comment thread."""
    name = repo["full_name"]
    number = int(pull["number"])
    count = comment_count(pull)
    if thread_needed:
        trees, thread = await asyncio.gather(
            ctx.github.change_trees(name, pull, config), read_thread(ctx, name, number, count)
        )
    else:
        trees, thread = await ctx.github.change_trees(name, pull, config), []
    memo, key = event_memo(ctx), ("files", name.lower(), number)
    if trees.listed is not None and memo.peek(key) is None:
        # The rest of the delivery asks for the PR's file list through the same memo
        # (bot.handlers.links.targets.pull_files_once): it is not read twice.
        memo.put(key, trees.listed)
    pairs = [
        ProposalPair(
            path,
            load_proposal(config, trees.base, path),
            load_proposal(config, trees.head, path),
        )
        for path in trees.proposals
    ]
    if pairs and not thread_needed:
        thread = await read_thread(ctx, name, number, count)
    history = command_history(ctx, pull, thread, config.command)
    return PullState(
        ctx, name, repo["default_branch"], pull, config, trees, pairs, history, thread, repo
    )
