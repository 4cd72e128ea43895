"""The records a replay reads and builds (see bot.engine.authorize).

This module owns the data of a replay, shared by the replay loop and its comment-period
part: the commands one person wrote in one place (`Spoken`), what one command did to a
proposal (`Step`), a comment period under way (`RunningPeriod`), the proposal's state as
replay has moved it so far (`Replay`), and the fixed inputs of one replay
(`ReplayContext`).
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.periods import Concern, ends_at
from bot.engine.roles import Grant


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


@dataclass(frozen=True)
class ReplayContext:
    """The fixed inputs of one replay: the process, the proposal, and whom to ask."""

    config: Config
    path: str
    can: Can
    approvers: Sequence[str]
    now: datetime.datetime | None
