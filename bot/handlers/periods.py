"""Comment periods on proposal pull requests: `fcp`, `concern`, `resolve`, and the move a
period makes when it ends.

Replay (bot.engine.authorize) decides everything from the PR's comments and their times;
this module answers the commands and, from the reconcile pass or any later command, makes
the move of a period that has run out: the status edit on the branch (a no-op when it is
there already) and one comment saying so. Both are safe to repeat, so a restart, a second
instance or a late pass changes nothing twice.
"""

from __future__ import annotations

import dataclasses
import datetime

from bot.engine.authorize import (
    CONCERN_NAME,
    Replay,
    RunningPeriod,
    Spoken,
    Step,
    concern_roles,
    is_dry_run,
    transition_for,
    undoable,
    without_dry_run,
)
from bot.engine.commands import Command
from bot.engine.config import Config
from bot.engine.periods import find_open
from bot.engine.verbs import CONCERN, FCP, FCP_CANCEL, RESOLVE, registry
from bot.github.comments import code_span, quote_user_text
from bot.handlers import permissions
from bot.handlers.links.proposals import unmerged_links
from bot.handlers.period_text import period_text, when, who
from bot.handlers.pr_state import PullState, proposal_pair
from bot.handlers.status_edit import NO_PROPOSAL, Turn, reply_key, write_status

ANNOUNCED = "rocket"  # the bot's reaction on the comment whose period ended and moved
# A proposal moved by an ended period: its path, the period, and when the period ended.
Move = tuple[str, RunningPeriod, datetime.datetime | None]


async def run_period_command(turn: Turn) -> None:
    """Answer `fcp`, `concern` or `resolve` for each proposal of the PR (replay records them)."""
    state, command = turn.state, turn.command
    real = without_dry_run(command)
    if not real.args or (command.verb != FCP and not CONCERN_NAME.fullmatch(real.args[0])):
        usage = "<verb>" if command.verb == FCP else "<name>"
        text = f"Usage: `/{state.config.command} {command.verb} {usage}` ({usage[1:-1]}: "
        await turn.refuse(text + "letters, digits, `.`, `_` or `-`).")
        return
    if not state.pairs:
        await turn.refuse(NO_PROPOSAL)
        return
    dry = "Dry run, nothing was recorded: " if is_dry_run(command) else ""
    tried = dataclasses.replace(turn.spoken, commands=(real,))
    for pair in state.pairs:
        if pair.head is None:
            continue
        before = await permissions.replay(state, pair.path, turn.earlier)
        after = await permissions.replay(state, pair.path, [*turn.earlier, tried])
        asked = Asked(state, pair.path, turn.spoken, real, before, after)
        text, refused = await _answer(asked)
        where = reply_key(turn.key, pair.path)
        if refused:
            await turn.refuse(dry + text, where)
        elif text:
            await turn.say(dry + text, where)


@dataclasses.dataclass(frozen=True)
class Asked:
    """One period command about one proposal, with the replays before and after it."""

    state: PullState
    path: str
    spoken: Spoken
    command: Command  # without --dry-run
    before: Replay
    after: Replay


async def _answer(asked: Asked) -> tuple[str, bool]:
    """What to reply about the command on the proposal, and whether it was refused."""
    state, path, spoken, before, after = (
        asked.state,
        asked.path,
        asked.spoken,
        asked.before,
        asked.after,
    )
    name = asked.command.args[0]
    where = code_span(path)
    if asked.command.verb == CONCERN:
        if find_open(before.concerns, name) is not None:
            return f"A concern {code_span(name)} is open already.", False
        if find_open(after.concerns, name) is not None:
            return "", False  # recorded: the status comment lists it
        grant = await permissions.can(state, spoken.login, concern_roles(state.config), path)
        return f"Not raised on {where}: {grant.reason}.", True
    if asked.command.verb == RESOLVE:
        concern = find_open(before.concerns, name)
        if concern is None:
            return f"No open concern is called {code_span(name)}.", True
        if find_open(after.concerns, name) is None:
            return "", False
        return (
            f"Not resolved: only {who(concern.raised_by)}, who raised it, or an approver "
            "may resolve it.",
            True,
        )
    return await _fcp_answer(asked)


async def _fcp_answer(asked: Asked) -> tuple[str, bool]:
    state, path, before, after = asked.state, asked.path, asked.before, asked.after
    config, verb, where = state.config, asked.command.args[0].lower(), code_span(path)
    now = state.ctx.clock()
    mine = [s for s in after.steps[len(before.steps) :] if s.action in ("fcp", "cancel")]
    if verb == FCP_CANCEL:
        if before.period is None:
            return "No comment period is under way.", True
        if mine and mine[-1].granted:
            return (
                f"The comment period for {code_span(before.period.transition.to)} is stopped.",
                False,
            )
        return (
            f"Not stopped: only {who(before.period.starter.login)}, who started it, or an "
            "approver may stop it.",
            True,
        )
    if before.period is not None and after.period == before.period:
        return period_text(before.period, before, now), False
    if not mine:
        names = _period_verbs(config, before.status)
        listed = ", ".join(f"`{name}`" for name in names) or "none from its status"
        return (
            f"{where}: `{quote_user_text(verb, 40)}` is not a transition with a comment period "
            f"here. Verbs with one: {listed}.",
            True,
        )
    step = mine[-1]
    assert step.transition is not None
    if not step.granted:
        can = await permissions.who_can(state, step.transition, path)
        reason = step.grant.reason if step.grant is not None else "not allowed"
        return f"Not started: {reason}.\n\n{can}", True
    if step.waiting:
        votes = permissions.votes(state, step.transition, path, after)
        return f"Recorded {who(asked.spoken.login)}'s `{FCP} {verb}`. {votes}", False
    if after.period is not None:
        return period_text(after.period, after, now), False
    return f"The comment period for {code_span(step.transition.to)} has ended already.", False


def _period_verbs(config: Config, status: str | None) -> list[str]:
    names = []
    for verb in registry(config):
        transition = (
            transition_for(config, verb.name, status) if verb.kind == "transition" else None
        )
        if transition is not None and transition.period is not None:
            names.append(verb.name)
    return names


def ended(replayed: Replay) -> Step | None:
    """The period-end step that made the proposal's status, if a period made it."""
    top = undoable(replayed.steps)
    if top is None or top.action != "period-end" or top.transition is None:
        return None
    if replayed.status != top.transition.to:
        return None
    return top


async def complete_periods(state: PullState) -> bool:
    """Make the moves of the periods that have run out; whether the branch changed.

    Every instance may write (the edit is a no-op at the target); only the one whose 🚀 on
    the comment that started the period is first announces it, so it is said once.
    """
    changed = False
    announce: dict[int | None, list[Move]] = {}
    for pair in state.pairs:
        if pair.head is None:
            continue
        replayed = await permissions.replay(state, pair.path)
        step = ended(replayed)
        if step is None or step.period is None:
            continue
        running = step.period
        target = running.transition.to
        key = reply_key(f"period-{running.started_at:%Y%m%dT%H%M%S}", pair.path)
        if await _links_pending(state, pair.path, target, key):
            continue
        if pair.head_status != target:
            changed |= await write_status(state, pair.path, target, None, running.command, key)
        end = running.ends_at(replayed.concerns)
        announce.setdefault(running.starter.comment_id, []).append((pair.path, running, end))
    for comment_id, moves in announce.items():
        where = {"comment_id": comment_id} if comment_id else {"number": state.number}
        if await state.ctx.github.claim(state.repo, content=ANNOUNCED, **where):
            await state.ctx.github.post_once(
                state.repo,
                state.number,
                f"period-end-{comment_id or 'body'}",
                _announcement(moves),
                state.ctx.bot_login,
            )
    return changed


async def _links_pending(state: PullState, path: str, target: str, key: str) -> bool:
    """Whether `target` waits for linked implementation PRs to merge (said once if so); a
    later pass makes the move once they have."""
    head = proposal_pair(state, path).head
    if target not in state.config.implementations.require_merged or head is None:
        return False
    pending = await unmerged_links(state.ctx, state.repo, head)
    if not pending:
        return False
    listed = ", ".join(quote_user_text(p, 80) for p in pending)
    text = (
        f"The comment period has ended, but {code_span(path)} moves to {code_span(target)} "
        f"only once its implementation PRs are merged: {listed}."
    )
    await state.ctx.github.post_once(
        state.repo, state.number, f"{key}-links", text, state.ctx.bot_login
    )
    return True


def _announcement(moves: list[Move]) -> str:
    lines = []
    for path, running, end in moves:
        lines.append(
            f"The comment period that {who(running.starter.login)} started "
            f"{when(running.started_at)} with `{running.command.raw}` ended "
            f"{when(end) if end else ''} with no concern open: {code_span(path)} moves to "
            f"{code_span(running.transition.to)}."
        )
    return "\n\n".join(lines)
