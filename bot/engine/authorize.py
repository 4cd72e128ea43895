"""Who moved a proposal where: the status history re-derived from a PR's commands.

Nothing is remembered between events. Every check run and every command replays the
commands of the pull request (its body, then its comments, in order) from the status on
the default branch: a command moves the proposal when its verb names a transition that is
legal from the status reached so far and its author holds one of the transition's roles.
Whether a person holds a role is asked of `can`, so this module stays free of network I/O
and runs the same on any instance after any restart (SPEC invariant 10).

A transition with a quorum applies only once enough distinct authorised people have given
its verb while the proposal sits in the source status; until then each grant is a vote.
A command with `--dry-run` among its arguments only shows what it would do: it is no
decision and replay ignores it. An authorised `undo` cancels the latest applied step not
yet undone: the proposal goes back to the status before it. `undo` is authorised for the
person who gave the undone command and for an approver of the proposal.

A transition with a comment period is not made by its verb: `fcp <verb>` votes for it, and
once its quorum has voted the period starts (at the vote's comment, or its last edit, so an
edit cannot backdate it). Before each later comment, and at `now`, replay asks whether the
period has run out (see bot.engine.periods); if so the transition applies there, as a step
of whoever started the period. `concern NAME` (by anyone holding a role of the process)
pauses it until `resolve NAME` (by the raiser or an approver); `fcp cancel` (by the starter
or an approver) ends it. A new status ends any running period and its votes.

The bot's own comments are no commands, with one exception: a comment the bot posts for a
check-run button click (see bot.handlers.buttons) stands for the clicker's command. Only
the App receives `requested_action` for its own check runs and only the bot can author its
comments, and replay still asks `can` about the clicker, so such a comment grants nothing
the clicker could not have done by writing the command.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.periods import Concern, ends_at, find_open
from bot.engine.process import find_transition, reachable
from bot.engine.roles import AUTHOR, Grant, normalize
from bot.engine.verbs import CONCERN, FCP, FCP_CANCEL, RESOLVE, UNDO, resolve

DRY_RUN = "--dry-run"
CONCERN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")


def is_dry_run(command: Command) -> bool:
    """Whether `command` asks only to show what it would change."""
    return DRY_RUN in (arg.lower() for arg in command.args)


@dataclass(frozen=True)
class Quorum:
    """Whose votes a transition needs: `named` people all, or else `needed` distinct ones."""

    needed: int
    named: tuple[str, ...] = ()

    def met(self, votes: Sequence[str]) -> bool:
        given = {normalize(login) for login in votes}
        if self.named:
            return set(self.named) <= given
        return len(given) >= self.needed

    def missing(self, votes: Sequence[str]) -> list[str]:
        """The named people who have not voted yet (empty for a numeric quorum)."""
        given = {normalize(login) for login in votes}
        return [login for login in self.named if login not in given]


def quorum_for(transition: Transition, approvers: Sequence[str]) -> Quorum:
    """The quorum of `transition` for a proposal listing `approvers` on the default branch;
    `all` with no approvers listed (a new proposal) falls back to `any`."""
    if transition.quorum == "all" and approvers:
        named = tuple(dict.fromkeys(normalize(login) for login in approvers))
        return Quorum(len(named), named)
    if isinstance(transition.quorum, int):
        return Quorum(transition.quorum)
    return Quorum(1)


@dataclass(frozen=True)
class Spoken:
    """Commands one person wrote in one place (the PR body or a comment)."""

    login: str
    commands: tuple[Command, ...]
    comment_id: int | None = None  # None: the pull request's body
    at: datetime.datetime | None = None  # when it was written
    edited_at: datetime.datetime | None = None  # its last edit, if any

    @property
    def latest(self) -> datetime.datetime | None:
        """The latest moment its commands can have been written (for starts and resolves,
        so editing an old comment cannot backdate them)."""
        return self.edited_at or self.at


# Does `login` hold a role of `transition` for the proposal at `path`?
Can = Callable[[str, Transition, str], Awaitable[Grant]]


# What a step does: `move` the proposal; `undo` an earlier step (`transition`: the one
# undone); vote with `fcp` (the vote that meets the quorum starts the period); `needs-period`:
# the verb of a transition that only a comment period makes; `period-end`: the period ran
# out and the transition applies; `cancel` a running period.
Action = Literal["move", "undo", "fcp", "needs-period", "period-end", "cancel"]


@dataclass(frozen=True)
class RunningPeriod:
    """A comment period under way: which transition it leads to, since when, started by."""

    transition: Transition
    started_at: datetime.datetime
    starter: Spoken
    command: Command

    def ends_at(self, concerns: Sequence[Concern]) -> datetime.datetime | None:
        """When it ends given `concerns`; None while one of them is open."""
        period = self.transition.period
        assert period is not None
        return ends_at(self.started_at, period.days, concerns, business_days=period.business_days)


@dataclass(frozen=True)
class Step:
    """One command's effect on one proposal."""

    spoken: Spoken
    command: Command
    before: str | None
    transition: Transition | None
    grant: Grant | None
    waiting: bool = False  # an authorised vote that has not reached the quorum yet
    action: Action = "move"
    period: RunningPeriod | None = None  # the period an `fcp` started or a `period-end` ended

    @property
    def granted(self) -> bool:
        return self.grant is not None and self.grant.granted

    @property
    def applied(self) -> bool:
        moves = self.action in ("move", "period-end")
        return moves and self.transition is not None and self.granted and not self.waiting


def undoable(steps: Sequence[Step]) -> Step | None:
    """The latest applied step that no authorised `undo` among `steps` has cancelled."""
    stack: list[Step] = []
    for step in steps:
        if step.applied:
            stack.append(step)
        elif step.action == "undo" and step.granted and stack:
            stack.pop()
    return stack[-1] if stack else None


async def by_or_approver(
    can: Can, login: str, owner: str, transition: Transition, path: str, what: str
) -> Grant:
    """Whether `login` may act on something `owner` did (`what`): `owner` may, and so may
    whoever holds the approver role for `transition`'s proposal."""
    if normalize(login) == normalize(owner):
        return Grant("author", True, f"`{normalize(login)}` {what}")
    as_approver = transition.model_copy(update={"roles": ["approver"]})
    return await can(login, as_approver, path)


async def may_undo(can: Can, login: str, step: Step, path: str) -> Grant:
    """Whether `login` may undo `step`: its author may, and so may an approver."""
    assert step.transition is not None
    owner = step.spoken.login
    return await by_or_approver(can, login, owner, step.transition, path, "gave the undone command")


def concern_roles(config: Config) -> Transition:
    """The roles that may raise a concern, as a transition `can` understands: every role of
    the process except the proposal's authors."""
    roles = [role for role in config.roles if role != AUTHOR] or ["approver"]
    return Transition.model_validate({"to": "concern", "roles": roles})


@dataclass
class Replay:
    """A proposal's status as the PR's authorised commands have moved it."""

    path: str
    base: str | None
    status: str | None
    steps: list[Step] = field(default_factory=list)
    # Authorised votes per transition target since the proposal reached `status`.
    votes: dict[str, list[str]] = field(default_factory=dict)
    period: RunningPeriod | None = None  # the comment period under way, if any
    concerns: list[Concern] = field(default_factory=list)  # every one raised, in order

    @property
    def moved(self) -> bool:
        return self.status != self.base

    def apply(self, status: str | None) -> None:
        """The proposal reaches `status`: votes and any running period belong to the old one."""
        self.status = status
        self.votes = {}
        self.period = None


Verdict = Literal["unchanged", "authorised", "waiting", "illegal"]


def transition_for(config: Config, verb: str, current: str | None) -> Transition | None:
    """The transition `verb` asks for from `current` (None: a new proposal), if legal."""
    for candidate in resolve(config, verb, current):
        legal = find_transition(config, current, candidate.to)
        if legal is not None and legal == candidate:
            return candidate
    return None


@dataclass(frozen=True)
class _Context:
    config: Config
    path: str
    can: Can
    approvers: Sequence[str]
    now: datetime.datetime | None


async def replay(
    config: Config,
    path: str,
    base: str | None,
    history: Sequence[Spoken],
    can: Can,
    approvers: Sequence[str] = (),
    now: datetime.datetime | None = None,
) -> Replay:
    """Apply every authorised transition command of `history` to the base status;
    `approvers` are those the proposal lists on the default branch (for `quorum: all`);
    `now` (None: never) is when to ask last whether a comment period has run out."""
    result = Replay(path, base, base)
    context = _Context(config, path, can, approvers, now)
    for spoken in history:
        _settle(result, spoken.at)
        for command in spoken.commands:
            if not is_dry_run(command):
                await _one(result, context, spoken, command)
    _settle(result, now)
    return result


async def _one(result: Replay, context: _Context, spoken: Spoken, command: Command) -> None:
    if command.verb == UNDO:
        await _undo(result, spoken, command, context.can, context.path)
        return
    if command.verb in (FCP, CONCERN, RESOLVE):
        await _period_command(result, context, spoken, command)
        return
    transition = transition_for(context.config, command.verb, result.status)
    if transition is None:
        if resolve(context.config, command.verb, result.status):
            result.steps.append(Step(spoken, command, result.status, None, None))
        return
    if transition.period is not None:
        step = Step(spoken, command, result.status, transition, None, action="needs-period")
        result.steps.append(step)
        return
    await _vote(result, context, spoken, command, transition, "move")


async def _vote(
    result: Replay,
    context: _Context,
    spoken: Spoken,
    command: Command,
    transition: Transition,
    action: Action,
) -> Step:
    grant = await context.can(spoken.login, transition, context.path)
    waiting = False
    if grant.granted:
        votes = result.votes.setdefault(transition.to, [])
        if normalize(spoken.login) not in votes:
            votes.append(normalize(spoken.login))
        waiting = not quorum_for(transition, context.approvers).met(votes)
    step = Step(spoken, command, result.status, transition, grant, waiting, action)
    result.steps.append(step)
    if step.applied:
        result.apply(transition.to)
    return step


async def _undo(result: Replay, spoken: Spoken, command: Command, can: Can, path: str) -> None:
    """Apply an `undo` to `result`: back to the status before the latest applied step."""
    target = undoable(result.steps)
    if target is None or target.transition is None:
        return
    grant = await may_undo(can, spoken.login, target, path)
    step = Step(spoken, command, result.status, target.transition, grant, action="undo")
    result.steps.append(step)
    if grant.granted:
        result.apply(target.before)


async def _period_command(
    result: Replay, context: _Context, spoken: Spoken, command: Command
) -> None:
    """`fcp <verb>`, `fcp cancel`, `concern NAME` and `resolve NAME`."""
    when = spoken.at or context.now
    if when is None or not command.args:
        return  # no moment to count from, or nothing named
    name = command.args[0]
    if command.verb == CONCERN:
        if not CONCERN_NAME.fullmatch(name) or find_open(result.concerns, name):
            return
        grant = await context.can(spoken.login, concern_roles(context.config), context.path)
        if grant.granted:
            result.concerns.append(Concern(name, normalize(spoken.login), when))
        return
    if command.verb == RESOLVE:
        concern = find_open(result.concerns, name)
        if concern is None:
            return
        grant = await by_or_approver(
            context.can,
            spoken.login,
            concern.raised_by,
            concern_roles(context.config),
            context.path,
            "raised the concern",
        )
        if grant.granted:
            concern.resolved_by = normalize(spoken.login)
            concern.resolved_at = max(spoken.latest or when, concern.raised_at)
        return
    if name.lower() == FCP_CANCEL:
        await _cancel(result, context, spoken, command)
        return
    transition = transition_for(context.config, name, result.status)
    running = result.period
    if transition is None or transition.period is None:
        return
    if running is not None and running.transition == transition:
        return  # under way already
    step = await _vote(result, context, spoken, command, transition, "fcp")
    if step.granted and not step.waiting:
        started = spoken.latest or when
        period = RunningPeriod(transition, started, spoken, command)
        result.period = period
        result.steps[-1] = dataclasses.replace(step, period=period)


async def _cancel(result: Replay, context: _Context, spoken: Spoken, command: Command) -> None:
    running = result.period
    if running is None:
        return
    grant = await by_or_approver(
        context.can,
        spoken.login,
        running.starter.login,
        running.transition,
        context.path,
        "started the comment period",
    )
    step = Step(spoken, command, result.status, running.transition, grant, action="cancel")
    result.steps.append(step)
    if grant.granted:
        result.period = None
        result.votes.pop(running.transition.to, None)


def _settle(result: Replay, at: datetime.datetime | None) -> None:
    """If the running period has ended by `at`, its transition applies."""
    running = result.period
    if running is None or at is None:
        return
    end = running.ends_at(result.concerns)
    if end is None or end > at:
        return
    grant = Grant("period", True, f"the comment period ended {end:%Y-%m-%d %H:%M} UTC")
    step = Step(
        running.starter,
        running.command,
        result.status,
        running.transition,
        grant,
        action="period-end",
        period=running,
    )
    result.steps.append(step)
    result.apply(running.transition.to)


def verdict(config: Config, replayed: Replay, head: str | None) -> Verdict:
    """How the head's status stands against what the commands authorised.

    `unchanged`: the head keeps the default branch's status (and the proposal is not new);
    `authorised`: the commands moved it exactly there; `waiting`: a legal move nobody with
    the role has asked for yet (a new proposal waits to be accepted); `illegal`: no
    transition leads from the base status to the head's.
    """
    if head is None:
        return "unchanged"
    if replayed.base is not None and head == replayed.base:
        return "unchanged"
    if replayed.status == head:
        return "authorised"
    if config.status(head) is None:
        return "illegal"
    if reachable(config, replayed.status, head):
        return "waiting"
    return "illegal"
