"""Comment periods in a replay: `fcp`, `fcp cancel`, `concern` and `resolve`.

A transition with a comment period is not made by its verb: `fcp <verb>` votes for it, and
once its quorum has voted the period starts (at the vote's comment, or its last edit, so an
edit cannot backdate it). Before each later comment, and at `now`, replay asks whether the
period has run out (see bot.engine.periods); if so the transition applies there, as a step
of whoever started the period. `concern NAME` (by anyone holding a role of the process)
pauses it until `resolve NAME` (by the raiser or an approver); `fcp cancel` (by the starter
or an approver) ends it. A new status ends any running period and its votes.

This module owns those commands' effect on a `Replay` and the check whether a running
period has ended (`settle`); the replay loop that calls them is bot.engine.authorize's.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

from bot.engine.commands import Command
from bot.engine.config import Config, Transition
from bot.engine.periods import Concern, find_open
from bot.engine.process import transition_for
from bot.engine.replay_steps import Replay, ReplayContext, RunningPeriod, Spoken, Step
from bot.engine.replay_votes import by_or_approver, vote
from bot.engine.roles import AUTHOR, Grant, normalize
from bot.engine.verbs import CONCERN, FCP_CANCEL, RESOLVE

CONCERN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")


def concern_roles(config: Config) -> Transition:
    """The roles that may raise a concern, as a transition `can` understands: every role of
    the process except the proposal's authors."""
    roles = [role for role in config.roles if role != AUTHOR] or ["approver"]
    return Transition.model_validate({"to": "concern", "roles": roles})


async def period_command(
    result: Replay, context: ReplayContext, spoken: Spoken, command: Command
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
    step = await vote(result, context, spoken, command, transition, "fcp")
    if step.granted and not step.waiting:
        started = spoken.latest or when
        period = RunningPeriod(transition, started, spoken, command)
        result.period = period
        result.steps[-1] = dataclasses.replace(step, period=period)


async def _cancel(result: Replay, context: ReplayContext, spoken: Spoken, command: Command) -> None:
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


def settle(result: Replay, at: datetime.datetime | None) -> None:
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
