"""The decisions under way on a proposal, as the status comment shows them (docs/design.md B2).

Like rfcbot's one comment with a box per member: for each transition a proposal waits for,
has votes for, or runs a comment period towards, every voter its quorum requires with
their vote (approved, not yet, objected: an open concern of theirs), the concerns raised on
it with who raised them (resolved ones struck through, with who resolved them), and when
the comment period ends. Everything comes from the replay (bot.engine.authorize), so the
text is the same on any instance and changes only when a decision does; the comment is
edited only then (bot.github.comments.upsert_comment).

The boxes are characters, not markdown task items: ticking a task item edits the bot's
comment and would look like a vote without being one. Logins and concern names come from
outside and go out as code spans; an approver entry of the default branch's metadata that
is no GitHub login (it can never vote) goes out quoted, with no HTML and no marker of the
bot's comments in it (docs/security.md).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.engine.authorize import Replay, quorum_for
from bot.engine.config import Config, Transition
from bot.engine.periods import open_concerns
from bot.engine.process import find_transition, first_step
from bot.engine.roles import normalize
from bot.engine.verbs import FCP
from bot.github.comments import code_span, quote_user_text
from bot.handlers.period_text import period_text, who

APPROVED, NOT_YET, OBJECTED = "☑", "☐", "☒"
LOGIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38})")  # a GitHub login, as `normalize` leaves it


def voter(login: str) -> str:
    """A voter as shown: a login as a code span, anything else quoted and marked."""
    if LOGIN.fullmatch(login):
        return who(login)
    return f"{quote_user_text(login, 80)} (not a GitHub login)"


@dataclass(frozen=True)
class Pending:
    """A transition a proposal's decision is under way for, from its status so far."""

    path: str
    transition: Transition
    start: str | None  # the status it leaves (None: a new proposal)


def pending(
    config: Config, path: str, replayed: Replay, head: str | None, waiting: bool
) -> list[Pending]:
    """The transitions whose decision is under way: the one the head waits for, the one a
    comment period runs towards, and those someone has voted for (in that order, once)."""
    found: list[Transition] = []
    if waiting and head is not None:
        step = first_step(config, replayed.status, head)
        if step is not None:
            found.append(step)
    if replayed.period is not None:
        found.append(replayed.period.transition)
    for target, votes in replayed.votes.items():
        voted = find_transition(config, replayed.status, target) if votes else None
        if voted is not None:
            found.append(voted)
    unique = {transition.to: transition for transition in reversed(found)}
    ordered = list(dict.fromkeys(transition.to for transition in found))
    return [Pending(path, unique[to], replayed.status) for to in ordered]


def _command(config: Config, transition: Transition) -> str:
    verb = (transition.verbs or [transition.to])[0]
    prefix = f"{FCP} " if transition.period is not None else ""
    return f"`/{config.command} {prefix}{verb}`"


def voter_lines(
    config: Config, item: Pending, replayed: Replay, approvers: Sequence[str], anyone: str
) -> list[str]:
    """The header and one line per voter of `item`'s transition. `anyone` names who may
    give the votes a numeric quorum still needs (its required voters are not named)."""
    transition = item.transition
    quorum = quorum_for(transition, approvers)
    votes = [normalize(login) for login in replayed.votes.get(transition.to, [])]
    objecting: dict[str, list[str]] = {}
    for concern in open_concerns(replayed.concerns):
        objecting.setdefault(normalize(concern.raised_by), []).append(concern.name)

    def line(login: str, voted: bool) -> str:
        if login in objecting:
            named = ", ".join(code_span(name) for name in objecting[login])
            return f"- {OBJECTED} {voter(login)}: objected (concern {named})"
        if voted:
            return f"- {APPROVED} {voter(login)}: approved"
        return f"- {NOT_YET} {voter(login)}: not yet"

    if quorum.named:
        given = len([login for login in quorum.named if login in votes])
        lines = [line(login, login in votes) for login in quorum.named]
        lines += [line(login, True) for login in votes if login not in quorum.named]
    else:
        given = min(len(votes), quorum.needed)
        lines = [line(login, True) for login in votes]
        missing = quorum.needed - len(votes)
        if missing > 0:
            more = "1 more vote" if missing == 1 else f"{missing} more votes"
            lines.append(f"- {NOT_YET} not yet: {more}. {anyone}".rstrip())
    start = code_span(item.start) if item.start else "new"
    noun = "vote" if quorum.needed == 1 else "votes"
    header = (
        f"{start} → {code_span(transition.to)} ({_command(config, transition)}): "
        f"{given} of {quorum.needed} {noun}"
    )
    return [header, "", *lines]


def concern_lines(replayed: Replay) -> list[str]:
    """Every concern raised on the proposal: open ones, then resolved ones struck through."""
    lines = []
    for concern in replayed.concerns:
        raised = f"raised by {who(concern.raised_by)}"
        if concern.open:
            lines.append(f"- {OBJECTED} {code_span(concern.name)} {raised}: open")
        else:
            resolver = who(concern.resolved_by) if concern.resolved_by else "its raiser"
            lines.append(
                f"- {APPROVED} ~~{code_span(concern.name)}~~ {raised}: resolved by {resolver}"
            )
    return ["Concerns:", "", *lines] if lines else []


def decision_lines(
    config: Config,
    items: Sequence[Pending],
    replayed: Replay,
    approvers: Sequence[str],
    now: datetime.datetime,
    anyone: Mapping[str, str],
) -> list[str]:
    """The status comment's section about one proposal: its decisions under way, its
    concerns and its comment period ([] when none of them). `anyone` maps a transition's
    target to who may vote for it (see `voter_lines`)."""
    blocks: list[list[str]] = []
    for item in items:
        to = item.transition.to
        blocks.append(voter_lines(config, item, replayed, approvers, anyone.get(to, "")))
    concerns = concern_lines(replayed)
    if concerns:
        blocks.append(concerns)
    if replayed.period is not None:
        blocks.append([f"Comment period: {period_text(replayed.period, replayed, now)}"])
    if not blocks:
        return []
    path = items[0].path if items else replayed.path
    lines = [f"{code_span(path)}:"]
    for block in blocks:
        lines += ["", *block]
    return lines
