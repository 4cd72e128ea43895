"""Writing a proposal's new status to a pull request's branch, and the bot's replies there.

A command's status edits are one commit (docs/design.md B3), however many proposals it
moves: one metadata file alone through the Contents API (conditional on its blob), or
several files (several proposals, or a process that repeats the status in the document,
as Gateway API's `* Status:`) through the Git Data API: one tree, one commit and a
fast-forward-only ref update on the head the files were read at, retried on a fresh read
on conflict (I3). Each edit changes only the status lines (I4). Where the bot cannot push
(a fork, a protected branch), it replies with each change as a diff to apply by hand.
Every reply is posted once per marker, however often a command is handled; while a
comment's commands run, their answers are gathered into that comment's one reply.

A commit moving several proposals names them in its message, one `path → status` line
each (`moves_of` reads them back, as undo does).
"""

from __future__ import annotations

import asyncio
import datetime
import difflib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest

from bot.engine.authorize import Spoken
from bot.engine.commands import Command
from bot.engine.config import Config
from bot.engine.edits import transition_edit
from bot.engine.formats import FormatError
from bot.engine.markdown import set_status_bullet
from bot.engine.proposal import document_path
from bot.engine.section_files import added_files
from bot.github.comments import code_span, fenced, quote_user_text
from bot.github.repo import (
    BranchProtected,
    Expected,
    RepoConflict,
    Snapshot,
)
from bot.handlers.numbering_job import Numbering
from bot.handlers.numbering_job import Outcome as NumberingOutcome
from bot.handlers.pr_state import PullState, record_write
from bot.handlers.reply_budget import addressed

log = logging.getLogger(__name__)


NO_PROPOSAL = "This pull request changes no proposal."


@dataclass
class Outcome:
    """How many of one comment's commands were refused (the comment's reply says why)."""

    refused: int = 0


@dataclass
class Turn:
    """One command being answered: the PR it is on, the commands written before it, who
    wrote it, the marker its replies hang on, and the tally of its comment's refusals."""

    state: PullState
    earlier: list[Spoken]
    spoken: Spoken
    command: Command
    key: str
    outcome: Outcome

    async def say(self, text: str, key: str | None = None) -> None:
        """Reply (once per marker: `key`, by default the command's own)."""
        await reply(self.state, key or self.key, self.command, text)

    async def refuse(self, text: str, key: str | None = None) -> None:
        self.outcome.refused += 1
        await self.say(text, key)


def quote(command: Command) -> str:
    return f"> {quote_user_text(command.raw)}"


async def reply(state: PullState, key: str, command: Command, text: str) -> None:
    """Answer `command`: into the comment's one reply while its commands run (the first
    answer per `key` stays), else in a reply of its own, once per `key`."""
    body = f"{quote(command)}\n\n{text}"
    if state.answers is not None:
        state.answers.setdefault(key, body)
        return
    await state.ctx.github.post_once(state.repo, state.number, key, body, state.ctx.bot_login)


async def post_answers(state: PullState, login: str, key: str) -> bool:
    """Post what the commands of one comment (reply marker `key`) answered to `login` as
    one reply, the same answer given once; none past `login`'s reply budget on this pull
    request (then the comment's 👍/👎 reaction is all they get). True when posted."""
    answers, state.answers = state.answers or {}, None
    sections = list(dict.fromkeys(answers.values()))
    if not sections:
        return False
    ctx = state.ctx
    if not ctx.replies.allow(
        state.repo, state.number, login, key, state.thread, ctx.bot_login, ctx.clock()
    ):
        log.info("no reply to %s on %s#%d: over the reply budget", login, state.repo, state.number)
        return False
    body = addressed(login) + "\n" + "\n\n---\n\n".join(sections)
    return await ctx.github.post_once(
        state.repo, state.number, key, body, ctx.bot_login, state.thread
    )


def reply_key(key: str, path: str) -> str:
    """The marker of a reply about one proposal: paths may hold any character, so a hash."""
    return f"{key}-{hashlib.sha1(path.encode()).hexdigest()[:12]}"


def editor(
    config: Config, status: str, argument: str | None, today: datetime.date
) -> Callable[[str], str | None]:
    """The metadata edit moving a proposal's text to `status` on `today` (None: not editable)."""

    def edit(text: str) -> str | None:
        if not text:
            return None
        try:
            return transition_edit(config, text, status=status, today=today, argument=argument)
        except (FormatError, ValueError):
            return None

    return edit


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), path, path
    )
    return "".join(lines)


@dataclass(frozen=True)
class Move:
    """One proposal a command moves: its metadata path, the status and argument to write,
    and the marker of the reply about it."""

    path: str
    status: str
    argument: str | None
    key: str


def move_message(config: Config, moves: list[Move], command: Command, number: int) -> str:
    """The commit message of `moves`: the one move on its first line, or a count there and
    one `path → status` line per proposal."""
    requested = f"Requested with `{command.raw}` on #{number}."
    if len(moves) == 1:
        return f"{config.kind}: {moves[0].path} → {moves[0].status}\n\n{requested}"
    statuses = {move.status for move in moves}
    to = f"→ {next(iter(statuses))}" if len(statuses) == 1 else "moved"
    lines = [f"{move.path} → {move.status}" for move in moves]
    return "\n".join([f"{config.kind}: {len(moves)} proposals {to}", "", *lines, "", requested])


def moves_of(config: Config, message: str) -> dict[str, str]:
    """The proposals a commit of the bot's moved, by path, and the status each moved to."""
    first, _, rest = message.partition("\n")
    prefix = f"{config.kind}: "
    if not first.startswith(prefix):
        return {}
    path, arrow, status = first.removeprefix(prefix).rpartition(" → ")
    if arrow and " " not in status and not path.endswith(" proposals"):
        return {path: status}
    found = {}
    for line in rest.splitlines():
        path, arrow, status = line.rpartition(" → ")
        if arrow and path and status and " " not in status:
            found[path] = status
    return found


async def write_status(
    state: PullState, path: str, status: str, argument: str | None, command: Command, key: str
) -> bool:
    """Edit one proposal's metadata on the PR's head branch (see `write_statuses`)."""
    return bool(await write_statuses(state, [Move(path, status, argument, key)], command))


async def write_statuses(
    state: PullState, moves: list[Move], command: Command, numbering: Numbering | None = None
) -> set[str]:
    """Write each move's status to its proposal on the PR's head branch, in one commit; on a
    fork (or a branch that refuses the bot), suggest each change instead. The paths of the
    moves written (none when nothing changed or the changes were suggested).

    `numbering`, the job numbering the proposals an accept moves (`numbering.when: accept`,
    bot.handlers.merge.accept_numbering), is planned on the branch as the status edits leave
    it, into the same commit: one verb, one commit (docs/design.md B3, B4). What it reserved
    and did not use is given back; when it renamed a proposal, `state` is marked stale."""
    if not moves:
        if numbering is not None:
            await numbering.give_back(NumberingOutcome())
        return set()
    config = state.config
    now = state.ctx.clock()  # a timestamp field takes the time too (kepctl's last_updated)
    edits = {move.path: editor(config, move.status, move.argument, now) for move in moves}
    # A transition may add section files to the branch (kepctl's PLAN): then a commit of
    # several files, whatever the moves.
    adds_files = any(t.add_sections for t in config.transitions)
    head = state.pull["head"]
    fork = head.get("repo")
    head_repo = (fork["full_name"] if fork else None) or state.repo
    message = move_message(config, moves, command, state.number)
    if numbering is not None:
        moved, _, requested = message.rpartition("\n\n")
        message = (
            f"{moved}\n\nWith the proposal's number (`numbering.when: accept`).\n\n{requested}"
        )
    documents = {
        move.path: document_path(config.proposals, move.path)
        for move in moves
        if config.validation.status_bullet
        and document_path(config.proposals, move.path) != move.path
    }

    async def one(move: Move, snapshot: Snapshot) -> dict[str, str]:
        changes: dict[str, str] = {}
        text = await snapshot.read(move.path) or ""
        edited = edits[move.path](text)
        if edited is not None and edited != text:
            changes[move.path] = edited
            for name, content in added_files(config, move.path, text, edited).items():
                if await snapshot.read(name) is None:  # a file already there is kept
                    changes[name] = content
        document = documents.get(move.path)
        page = await snapshot.read(document) if document is not None else None
        if document is not None and page is not None:
            bullet = set_status_bullet(page, move.status)
            if bullet != page:
                changes[document] = bullet
        return changes

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        changes: dict[str, str | None] = {}
        if not all(snapshot.knows(move.path) for move in moves):
            await snapshot.listing()  # then files are read by blob sha, mostly kept already
        for found in await asyncio.gather(*(one(move, snapshot) for move in moves)):
            changes.update(found)
        if numbering is not None:  # renames, number fields, headings, index: on top
            changes.update(await numbering.plan(snapshot.edited(changes)) or {})
        return changes or None

    github, branch = state.ctx.github, head["ref"]
    try:
        if len(moves) == 1 and not documents and numbering is None and not adds_files:
            path = moves[0].path
            known = state.trees.versions.get(path)
            single = await github.update_file(
                head_repo, branch, path, edits[path], message, known=known
            )
            if single.unchanged:
                return set()
            state.trees.moved(single.parent, single.commit)
            after = edits[path](state.trees.head.read(path) or "")
            if after is not None:
                record_write(state, path, after, single.commit)
            return {path}
        # The files as read are the first plan's when they are the head's as it stands now
        # (not once the branch moved under an earlier write): else the branch is read.
        current = state.trees.read_at == str(head["sha"])
        expected = Expected(str(head["sha"]), state.trees.versions) if current else None
        result = await github.commit(head_repo, branch, plan, message, expected=expected)
    except (BranchProtected, RepoConflict, BadRequest) as error:
        log.info("cannot write on %s:%s (%s); suggesting", head_repo, branch, error)
        if numbering is not None:
            await numbering.give_back(NumberingOutcome())
        for move in moves:
            await suggest(state, move.path, edits[move.path], command, move.key)
        return set()
    if numbering is not None:
        outcome = numbering.outcome(result, branch)
        await numbering.give_back(outcome)
        if numbering.problems:
            log.info("%s#%s: not numbered: %s", state.repo, state.number, numbering.problems)
        state.stale = state.stale or bool(outcome.numbers)
    state.trees.moved(result.parent, result.commit)
    for name, content in result.changes.items():
        if content is not None:
            record_write(state, name, content, result.commit)
    return {
        move.path
        for move in moves
        if move.path in result.changes or documents.get(move.path) in result.changes
    }


async def suggest(state: PullState, path: str, edit: Any, command: Command, key: str) -> None:
    before = state.trees.head.read(path) or ""
    after = edit(before)
    if after is None:
        return
    diff = unified_diff(path, before, after)
    text = (
        f"The bot cannot push to this pull request's branch. Please apply this change to "
        f"{code_span(path)} (the check passes once it is on the branch):\n\n"
        f"{fenced(diff, 'diff')}"
    )
    await reply(state, f"{key}-suggest", command, text)
