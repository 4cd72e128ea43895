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
decision and replay ignores it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.process import find_transition, reachable
from bot.engine.roles import Grant, normalize
from bot.engine.verbs import resolve

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

    @property
    def applied(self) -> bool:
        granted = self.transition is not None and self.grant is not None and self.grant.granted
        return granted and not self.waiting


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
