"""Everything a decision about a proposal pull request needs, read fresh from GitHub.

A `PullState` holds the configuration (default branch), the proposals the PR touches in
their base and head versions, and the PR's command history; `can` answers whether a person
may perform a transition, from the default branch's facts only (docs/design.md I5). Check
runs and commands both start from here, so both see GitHub the same way.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from bot.engine.authorize import Replay, Spoken, Verdict, quorum_for, replay, verdict
from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.process import first_step
from bot.engine.proposal import Proposal, document_path, load_proposal
from bot.engine.roles import Grant, normalize, role_fields, rule_for
from bot.engine.verbs import FCP
from bot.github.comments import code_span
from bot.github.pull_request import ChangeTrees
from bot.github.repo import Listing
from bot.github.repo_config import ConfigResult
from bot.handlers.authorship import body_commands, comment_commands, records, was_edited
from bot.handlers.context import HandlerContext, moment
from bot.handlers.memory import event_memo, event_thread
from bot.handlers.period_text import period_text

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
    ctx: HandlerContext
    repo: str
    default_branch: str
    pull: dict[str, Any]
    config: Config
    trees: ChangeTrees
    pairs: list[ProposalPair]
    history: list[Spoken] = field(default_factory=list)
    thread: list[dict[str, Any]] = field(default_factory=list)  # the PR's comments, as read
    repository: dict[str, Any] = field(default_factory=dict)  # the webhook's repository
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

    def written(self, path: str, text: str, commit: str | None) -> None:
        """The bot wrote `text` to `path` on the head branch (in `commit`)."""
        self.trees.written(path, text)
        if commit is not None:
            self.pull["head"]["sha"] = commit
            self.ctx.github.made_head(self.repo, commit)  # its check run needs no look-up
        for pair in self.pairs:  # the metadata file or its document changed: read it again
            if path in (pair.path, document_path(self.config.proposals, pair.path)):
                pair.head = load_proposal(self.config, self.trees.head, pair.path)

    def pair(self, path: str) -> ProposalPair:
        return next(p for p in self.pairs if p.path == path)

    async def can(self, login: str, transition: Transition, path: str) -> Grant:
        """Whether `login` may perform `transition` on the proposal at `path`, and why."""
        who = normalize(login)
        pair = self.pair(path)
        if (
            who == self.author
            and not self.config.self_approval
            and "author" not in transition.roles
        ):
            return Grant(
                transition.roles[0],
                False,
                f"`{who}` wrote this pull request, and this repository does not allow "
                "approving one's own proposal (`self-approval: false`)",
            )
        reasons = []
        for role in transition.roles:
            if role == "author" and pair.base is None and who == self.author:
                return Grant(role, True, f"`{who}` opened this pull request with the proposal")
            grant = await self.ctx.github.holds(
                self.ctx.directory,
                repo=self.repo,
                default_branch=self.default_branch,
                login=who,
                role=role,
                rule=rule_for(self.config, role),
                metadata=pair.role_metadata(role_fields(self.config)),
                path=path,
            )
            if grant.granted:
                return grant
            reasons.append(grant.reason)
        return Grant(transition.roles[0] if transition.roles else "", False, "; ".join(reasons))

    async def who_can(self, transition: Transition, path: str) -> str:
        pair = self.pair(path)
        sentences = []
        for role in transition.roles:
            sentences.append(
                await self.ctx.github.who_can(
                    self.ctx.directory,
                    repo=self.repo,
                    default_branch=self.default_branch,
                    role=role,
                    rule=rule_for(self.config, role),
                    metadata=pair.role_metadata(role_fields(self.config)),
                    path=path,
                )
            )
        return " ".join(sentences)

    async def replay(self, path: str, history: list[Spoken] | None = None) -> Replay:
        pair = self.pair(path)
        return await replay(
            self.config,
            path,
            pair.base_status,
            self.history if history is None else history,
            self.can,
            pair.approvers(),
            self.ctx.clock(),
        )

    def votes_text(self, transition: Transition, path: str, replayed: Replay) -> str:
        """Who has and who has not yet given `transition`'s verb, for a quorum beyond one."""
        quorum = quorum_for(transition, self.pair(path).approvers())
        if quorum.needed <= 1:
            return ""
        votes = replayed.votes.get(transition.to, [])
        given = ", ".join(code_span(login) for login in votes) or "nobody yet"
        text = f"Quorum {len(votes)} of {quorum.needed}: given by {given}"
        if quorum.named:
            missing = ", ".join(code_span(login) for login in quorum.missing(votes))
            text += f"; still needed from {missing}"
        return text + "."

    async def next_step(self, path: str, replayed: Replay) -> str:
        """For a proposal waiting on a decision: the command to give and who can give it."""
        head = self.pair(path).head_status
        transition = first_step(self.config, replayed.status, head) if head else None
        if transition is None:
            return "its status cannot be reached from the one the commands authorised"
        verb = (transition.verbs or [transition.to])[0]
        if transition.period is not None:
            running = replayed.period
            if running is not None and running.transition == transition:
                return period_text(running, replayed, self.ctx.clock())
            verb = f"{FCP} {verb}"
        start = replayed.status or "new"
        who = await self.who_can(transition, path)
        toward = "" if transition.to == head else f" (on the way to {code_span(head or '')})"
        step = f"{code_span(start)} → {code_span(transition.to)}{toward}"
        votes = self.votes_text(transition, path, replayed)
        text = f"{step} needs `/{self.config.command} {verb}`. {who}"
        return f"{text} {votes}" if votes else text

    async def verdicts(self) -> list[tuple[ProposalPair, Verdict, Replay]]:
        found: list[tuple[ProposalPair, Verdict, Replay]] = []
        for pair in self.pairs:
            if pair.head is None:
                continue
            replayed = await self.replay(pair.path)
            found.append((pair, verdict(self.config, replayed, pair.head_status), replayed))
        return found


async def read_thread(
    ctx: HandlerContext, repo: str, number: int, count: int | None = None
) -> list[dict[str, Any]]:
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
        ("listing", repo.lower(), branch), lambda: ctx.github.list_tree(repo, branch)
    )


def comment_count(item: dict[str, Any]) -> int | None:
    """The `comments` GitHub gives for an issue or PR (None: not in this payload)."""
    count = item.get("comments")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def written(item: dict[str, Any]) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """When a comment (or a PR's body) was written, and last edited if it was."""
    created, updated = moment(item.get("created_at")), moment(item.get("updated_at"))
    return created, updated if updated is not None and created != updated else None


def command_history(
    ctx: HandlerContext, pull: dict[str, Any], thread: list[dict[str, Any]], word: str
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
        user = comment.get("user") or {}
        if str(user.get("login", "")).lower() == ctx.bot_login.lower():
            click = BUTTON.match(comment.get("body") or "")
            if click is not None and not was_edited(comment):
                command = button_command(word, click.group(2))
                spoken = Spoken(click.group(1), (command,), int(comment["id"]), *written(comment))
                history.append(spoken)
            continue
        if user.get("type") == "Bot":
            continue
        commands = comment_commands(comment, word, recorded)
        if commands:
            login, number = str(user["login"]), int(comment["id"])
            history.append(Spoken(login, tuple(commands), number, *written(comment)))
    return history


async def load_config(ctx: HandlerContext, repo: dict[str, Any]) -> ConfigResult:
    return await ctx.github.load_repo_config(
        repo["full_name"], repo["default_branch"], cache=ctx.config_cache
    )


async def load_pull_state(
    ctx: HandlerContext,
    repo: dict[str, Any],
    pull: dict[str, Any],
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
