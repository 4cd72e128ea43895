"""How a decision reads in replies, the status comment and the check summary: a comment
period, the votes of a quorum, and the step a waiting proposal needs.

This module owns those texts; who may act, and so what they say, is decided in
`bot.handlers.permissions`.
"""

from __future__ import annotations

import datetime

from bot.engine.authorize import Replay, RunningPeriod, quorum_for
from bot.engine.config import Config, Transition
from bot.engine.periods import open_concerns, remaining
from bot.engine.roles import normalize
from bot.engine.verbs import FCP
from bot.github.comments import code_span


def when(moment: datetime.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def who(login: str) -> str:
    return code_span("@" + normalize(login))


def length(transition: Transition) -> str:
    period = transition.period
    assert period is not None
    unit = "business days" if period.business_days else "days"
    return f"{period.days:g} {unit}"


def needs_period(config: Config, verb: str, transition: Transition) -> str:
    """The refusal of a verb whose transition only a comment period makes."""
    return (
        f"`{verb}` moves a proposal to {code_span(transition.to)} only after a comment "
        f"period of {length(transition)}: `/{config.command} {FCP} {verb}` starts it."
    )


def period_text(running: RunningPeriod, replayed: Replay, now: datetime.datetime) -> str:
    """Where a running period stands: when it ends, or which concerns pause it."""
    move = f"comment period for {code_span(running.transition.to)}"
    since = f"started by {who(running.starter.login)} {when(running.started_at)}"
    concerns = open_concerns(replayed.concerns)
    if concerns:
        period = running.transition.period
        assert period is not None
        left = remaining(
            running.started_at,
            period.days,
            replayed.concerns,
            now,
            business_days=period.business_days,
        )
        named = ", ".join(f"{code_span(c.name)} (by {who(c.raised_by)})" for c in concerns)
        hours = left.total_seconds() / 3600
        return (
            f"The {move} ({since}) is paused by open concerns: {named}; "
            f"{hours:.0f} hours will remain once they are resolved."
        )
    end = running.ends_at(replayed.concerns)
    assert end is not None
    return f"The {move} ({since}) ends {when(end)} unless a concern is raised."


def concerns_text(replayed: Replay) -> str:
    """The open concerns when no period is under way (they will pause the next one)."""
    concerns = open_concerns(replayed.concerns)
    if not concerns:
        return ""
    named = ", ".join(f"{code_span(c.name)} (by {who(c.raised_by)})" for c in concerns)
    return f"Open concerns: {named}."


def period_status(replayed: Replay, now: datetime.datetime) -> str:
    """The running period, or the open concerns, of a replayed proposal ("" for neither)."""
    if replayed.period is not None:
        return period_text(replayed.period, replayed, now)
    return concerns_text(replayed)


UNREACHABLE = "its status cannot be reached from the one the commands authorised"


def votes_text(transition: Transition, approvers: list[str], replayed: Replay) -> str:
    """Who has and who has not yet given `transition`'s verb, for a quorum beyond one
    ("" for a quorum of one); `approvers` are the proposal's listed approvers."""
    quorum = quorum_for(transition, approvers)
    if quorum.needed <= 1:
        return ""
    votes = replayed.votes.get(transition.to, [])
    given = ", ".join(code_span(login) for login in votes) or "nobody yet"
    text = f"Quorum {len(votes)} of {quorum.needed}: given by {given}"
    if quorum.named:
        missing = ", ".join(code_span(login) for login in quorum.missing(votes))
        text += f"; still needed from {missing}"
    return text + "."


def step_text(
    config: Config, transition: Transition, status: str | None, head: str, who: str, votes: str
) -> str:
    """The command that takes a proposal from `status` (None: new) by `transition` on its way
    to `head`, then `who` can give it and the quorum's `votes`."""
    verb = (transition.verbs or [transition.to])[0]
    if transition.period is not None:
        verb = f"{FCP} {verb}"
    toward = "" if transition.to == head else f" (on the way to {code_span(head)})"
    step = f"{code_span(status or 'new')} → {code_span(transition.to)}{toward}"
    text = f"{step} needs `/{config.command} {verb}`. {who}"
    return f"{text} {votes}" if votes else text
