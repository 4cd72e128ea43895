"""Who moved a proposal where: the status history re-derived from a PR's commands.

Nothing is remembered between events. Every check run and every command replays the
commands of the pull request (its body, then its comments, in order) from the status on
the default branch: a command moves the proposal when its verb names a transition that is
legal from the status reached so far and its author holds one of the transition's roles.
Whether a person holds a role is asked of `can`, so this module stays free of network I/O
and runs the same on any instance after any restart (docs/design.md I10).

A transition with a quorum applies only once enough distinct authorised people have given
its verb while the proposal sits in the source status; until then each grant is a vote.
A command with `--dry-run` among its arguments only shows what it would do: it is no
decision and replay ignores it. An authorised `undo` cancels the latest applied step not
yet undone: the proposal goes back to the status before it. `undo` is authorised for the
person who gave the undone command and for an approver of the proposal.

A transition with a comment period is not made by its verb but by `fcp <verb>` votes and
the period that follows; bot.engine.period_replay owns that part of replay.

The bot's own comments are no commands, with one exception: a comment the bot posts for a
check-run button click (see bot.handlers.buttons) stands for the clicker's command. Only
the App receives `requested_action` for its own check runs and only the bot can author its
comments, and replay still asks `can` about the clicker, so such a comment grants nothing
the clicker could not have done by writing the command. People with write access can edit
the bot's comments, so such a comment counts only while unedited.

`history` holds only commands that count as their `Spoken.login`'s: the caller drops those
that an edit by someone else put in a comment or a pull request's description (the rule is
bot.handlers.authorship's, as only the caller reads GitHub).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Literal

from bot.engine.commands import Command
from bot.engine.config import Config
from bot.engine.period_replay import CONCERN_NAME, concern_roles, period_command, settle
from bot.engine.process import free_move, reachable, transition_for
from bot.engine.replay_steps import Can, Replay, ReplayContext, RunningPeriod, Spoken, Step
from bot.engine.replay_votes import Quorum, by_or_approver, quorum_for, vote
from bot.engine.roles import Grant
from bot.engine.verbs import CONCERN, FCP, RESOLVE, UNDO, resolve

__all__ = [
    "CONCERN_NAME",
    "DRY_RUN",
    "Quorum",
    "Replay",
    "RunningPeriod",
    "Spoken",
    "Step",
    "Verdict",
    "concern_roles",
    "is_dry_run",
    "may_undo",
    "quorum_for",
    "replay",
    "transition_for",
    "undoable",
    "verdict",
    "without_dry_run",
]

DRY_RUN = "--dry-run"


def is_dry_run(command: Command) -> bool:
    """Whether `command` asks only to show what it would change."""
    return DRY_RUN in (arg.lower() for arg in command.args)


def without_dry_run(command: Command) -> Command:
    """`command` as it would run for real (what a dry run shows)."""
    args = tuple(arg for arg in command.args if arg.lower() != DRY_RUN)
    return Command(command.verb, args, 0, "")


def undoable(steps: Sequence[Step]) -> Step | None:
    """The latest applied step that no authorised `undo` among `steps` has cancelled."""
    stack: list[Step] = []
    for step in steps:
        if step.applied:
            stack.append(step)
        elif step.action == "undo" and step.granted and stack:
            stack.pop()
    return stack[-1] if stack else None


async def may_undo(can: Can, login: str, step: Step, path: str) -> Grant:
    """Whether `login` may undo `step`: its author may, and so may an approver."""
    assert step.transition is not None
    owner = step.spoken.login
    return await by_or_approver(can, login, owner, step.transition, path, "gave the undone command")


Verdict = Literal["unchanged", "authorised", "waiting", "illegal"]


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
    context = ReplayContext(config, path, can, approvers, now)
    for spoken in history:
        settle(result, spoken.at)
        for command in spoken.commands:
            if not is_dry_run(command):
                await _one(result, context, spoken, command)
    settle(result, now)
    return result


async def _one(result: Replay, context: ReplayContext, spoken: Spoken, command: Command) -> None:
    if command.verb == UNDO:
        await _undo(result, spoken, command, context.can, context.path)
        return
    if command.verb in (FCP, CONCERN, RESOLVE):
        await period_command(result, context, spoken, command)
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
    await vote(result, context, spoken, command, transition, "move")


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
    if replayed.status == head or free_move(config, replayed.status, head):
        return "authorised"  # or a step that needs no command (`decision: false`)
    if config.status(head) is None:
        return "illegal"
    if reachable(config, replayed.status, head):
        return "waiting"
    return "illegal"
