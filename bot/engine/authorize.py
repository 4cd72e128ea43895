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

The bot's own comments are no commands, with one exception: a comment the bot posts for a
check-run button click (see bot.handlers.buttons) stands for the clicker's command. Only
the App receives `requested_action` for its own check runs and only the bot can author its
comments, and replay still asks `can` about the clicker, so such a comment grants nothing
the clicker could not have done by writing the command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.process import find_transition, reachable
from bot.engine.roles import Grant, normalize
from bot.engine.verbs import UNDO, resolve

DRY_RUN = "--dry-run"


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


# Does `login` hold a role of `transition` for the proposal at `path`?
Can = Callable[[str, Transition, str], Awaitable[Grant]]


@dataclass(frozen=True)
class Step:
    """One command's effect on one proposal."""

    spoken: Spoken
    command: Command
    before: str | None
    transition: Transition | None
    grant: Grant | None
    waiting: bool = False  # an authorised vote that has not reached the quorum yet
    undo: bool = False  # an `undo` of an earlier step (`transition`: the one undone)

    @property
    def applied(self) -> bool:
        granted = self.transition is not None and self.grant is not None and self.grant.granted
        return granted and not self.waiting and not self.undo


def undoable(steps: Sequence[Step]) -> Step | None:
    """The latest applied step that no authorised `undo` among `steps` has cancelled."""
    stack: list[Step] = []
    for step in steps:
        if step.applied:
            stack.append(step)
        elif step.undo and step.grant is not None and step.grant.granted and stack:
            stack.pop()
    return stack[-1] if stack else None


async def may_undo(can: Can, login: str, step: Step, path: str) -> Grant:
    """Whether `login` may undo `step`: its author may, and so may an approver."""
    assert step.transition is not None
    if normalize(login) == normalize(step.spoken.login):
        return Grant("author", True, f"`{normalize(login)}` gave the undone command")
    as_approver = step.transition.model_copy(update={"roles": ["approver"]})
    return await can(login, as_approver, path)


@dataclass
class Replay:
    """A proposal's status as the PR's authorised commands have moved it."""

    path: str
    base: str | None
    status: str | None
    steps: list[Step] = field(default_factory=list)
    # Authorised votes per transition target since the proposal reached `status`.
    votes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def moved(self) -> bool:
        return self.status != self.base


Verdict = Literal["unchanged", "authorised", "waiting", "illegal"]


def transition_for(config: Config, verb: str, current: str | None) -> Transition | None:
    """The transition `verb` asks for from `current` (None: a new proposal), if legal."""
    for candidate in resolve(config, verb, current):
        legal = find_transition(config, current, candidate.to)
        if legal is not None and legal == candidate:
            return candidate
    return None


async def replay(
    config: Config,
    path: str,
    base: str | None,
    history: Sequence[Spoken],
    can: Can,
    approvers: Sequence[str] = (),
) -> Replay:
    """Apply every authorised transition command of `history` to the base status;
    `approvers` are those the proposal lists on the default branch (for `quorum: all`)."""
    result = Replay(path, base, base)
    for spoken in history:
        for command in spoken.commands:
            if is_dry_run(command):
                continue
            if command.verb == UNDO:
                await _undo(result, spoken, command, can, path)
                continue
            transition = transition_for(config, command.verb, result.status)
            if transition is None:
                if resolve(config, command.verb, result.status):
                    result.steps.append(Step(spoken, command, result.status, None, None))
                continue
            grant = await can(spoken.login, transition, path)
            waiting = False
            if grant.granted:
                votes = result.votes.setdefault(transition.to, [])
                if normalize(spoken.login) not in votes:
                    votes.append(normalize(spoken.login))
                waiting = not quorum_for(transition, approvers).met(votes)
            step = Step(spoken, command, result.status, transition, grant, waiting)
            result.steps.append(step)
            if step.applied:
                result.status = transition.to
                result.votes = {}
    return result


async def _undo(result: Replay, spoken: Spoken, command: Command, can: Can, path: str) -> None:
    """Apply an `undo` to `result`: back to the status before the latest applied step."""
    target = undoable(result.steps)
    if target is None or target.transition is None:
        return
    grant = await may_undo(can, spoken.login, target, path)
    result.steps.append(Step(spoken, command, result.status, target.transition, grant, undo=True))
    if grant.granted:
        result.status = target.before
        result.votes = {}


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
