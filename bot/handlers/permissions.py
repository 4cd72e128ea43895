"""Who may move a proposal on a pull request, and what the pull request's commands therefore
authorised (docs/design.md I5, I6).

This module owns the permission policy of proposal pull requests: `can` says whether a
person may perform a transition on a proposal and why (the grant or the refusal a reply
quotes, with its texts here), from the default branch's facts only (the roles, CODEOWNERS
and the proposal's listed approvers as the default branch has them); `who_can` names who
holds a transition's roles. The replay of a pull request's commands runs through `can`
(`replay`, `verdicts`), and `next_step` says what a proposal waiting on a decision needs.
The state they read is `bot.handlers.pr_state.PullState`; how a decision reads is
`bot.handlers.period_text`.
"""

from __future__ import annotations

from functools import partial

from bot.engine import authorize
from bot.engine.authorize import Replay, Spoken, Verdict, verdict
from bot.engine.config import Transition
from bot.engine.process import first_step
from bot.engine.replay_steps import Can
from bot.engine.roles import Grant, normalize, role_fields, rule_for
from bot.handlers.period_text import UNREACHABLE, period_text, step_text, votes_text
from bot.handlers.pr_state import ProposalPair, PullState, proposal_pair


def self_approval_refused(login: str) -> str:
    """Why the pull request's author may not take a transition of their own proposal."""
    return (
        f"`{login}` wrote this pull request, and this repository does not allow "
        "approving one's own proposal (`self-approval: false`)"
    )


def opened_with_the_proposal(login: str) -> str:
    """Why the author may take an `author` transition of a proposal their PR adds."""
    return f"`{login}` opened this pull request with the proposal"


async def can(state: PullState, login: str, transition: Transition, path: str) -> Grant:
    """Whether `login` may perform `transition` on the proposal at `path`, and why."""
    who = normalize(login)
    pair = proposal_pair(state, path)
    config = state.config
    if who == state.author and not config.self_approval and "author" not in transition.roles:
        return Grant(transition.roles[0], False, self_approval_refused(who))
    reasons = []
    for role in transition.roles:
        if role == "author" and pair.base is None and who == state.author:
            return Grant(role, True, opened_with_the_proposal(who))
        grant = await state.ctx.github.holds(
            state.ctx.directory,
            repo=state.repo,
            default_branch=state.default_branch,
            login=who,
            role=role,
            rule=rule_for(config, role),
            metadata=pair.role_metadata(role_fields(config)),
            path=path,
        )
        if grant.granted:
            return grant
        reasons.append(grant.reason)
    return Grant(transition.roles[0] if transition.roles else "", False, "; ".join(reasons))


async def who_can(state: PullState, transition: Transition, path: str) -> str:
    """Who holds the roles of `transition` on the proposal at `path`, as a sentence each."""
    pair = proposal_pair(state, path)
    sentences = []
    for role in transition.roles:
        sentences.append(
            await state.ctx.github.who_can(
                state.ctx.directory,
                repo=state.repo,
                default_branch=state.default_branch,
                role=role,
                rule=rule_for(state.config, role),
                metadata=pair.role_metadata(role_fields(state.config)),
                path=path,
            )
        )
    return " ".join(sentences)


def checker(state: PullState) -> Can:
    """`can` on `state`, as the engine's replay asks it."""
    return partial(can, state)


async def replay(state: PullState, path: str, history: list[Spoken] | None = None) -> Replay:
    """The proposal at `path` after the PR's commands (or `history`), each checked by `can`."""
    pair = proposal_pair(state, path)
    return await authorize.replay(
        state.config,
        path,
        pair.base_status,
        state.history if history is None else history,
        checker(state),
        pair.approvers(),
        state.ctx.clock(),
    )


async def verdicts(state: PullState) -> list[tuple[ProposalPair, Verdict, Replay]]:
    """Each proposal the PR keeps, with the check's verdict on it and its replay."""
    found: list[tuple[ProposalPair, Verdict, Replay]] = []
    for pair in state.pairs:
        if pair.head is None:
            continue
        replayed = await replay(state, pair.path)
        found.append((pair, verdict(state.config, replayed, pair.head_status), replayed))
    return found


def votes(state: PullState, transition: Transition, path: str, replayed: Replay) -> str:
    """Who has and who has not yet given `transition`'s verb on the proposal at `path`."""
    return votes_text(transition, proposal_pair(state, path).approvers(), replayed)


async def next_step(state: PullState, path: str, replayed: Replay) -> str:
    """For a proposal waiting on a decision: the command to give and who can give it."""
    pair = proposal_pair(state, path)
    head = pair.head_status
    transition = first_step(state.config, replayed.status, head) if head else None
    if transition is None or head is None:
        return UNREACHABLE
    running = replayed.period
    if transition.period is not None and running is not None and running.transition == transition:
        return period_text(running, replayed, state.ctx.clock())
    who = await who_can(state, transition, path)
    quorum = votes_text(transition, pair.approvers(), replayed)
    return step_text(state.config, transition, replayed.status, head, who, quorum)
