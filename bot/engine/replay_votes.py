"""Votes in a replay: how many a transition needs, and casting one.

This module owns a transition's quorum (`named` people all, or `needed` distinct ones),
the rule that the person who did something and an approver may act on it
(`by_or_approver`), and `vote`: an authorised vote is counted, and the vote that meets
the quorum applies the transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine.commands import Command
from bot.engine.config import Transition
from bot.engine.replay_steps import Action, Can, Replay, ReplayContext, Spoken, Step
from bot.engine.roles import Grant, normalize


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


async def by_or_approver(
    can: Can, login: str, owner: str, transition: Transition, path: str, what: str
) -> Grant:
    """Whether `login` may act on something `owner` did (`what`): `owner` may, and so may
    whoever holds the approver role for `transition`'s proposal."""
    if normalize(login) == normalize(owner):
        return Grant("author", True, f"`{normalize(login)}` {what}")
    as_approver = transition.model_copy(update={"roles": ["approver"]})
    return await can(login, as_approver, path)


async def vote(
    result: Replay,
    context: ReplayContext,
    spoken: Spoken,
    command: Command,
    transition: Transition,
    action: Action,
) -> Step:
    """Record `spoken`'s vote for `transition`; the vote that meets the quorum applies it."""
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
