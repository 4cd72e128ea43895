"""Writing a proposal's new status to a pull request's branch, and the bot's replies there.

A status edit is one commit: the metadata file alone through the Contents API (conditional
on its blob), or, where the process repeats the status in the document (Gateway API's
`* Status:`), both files through the Git Data API (conditional on the branch head). Where
the bot cannot push (a fork, a protected branch), it replies with the change as a diff to
apply by hand. Every reply is posted once per marker, however often a command is handled;
while a comment's commands run, their answers are gathered into that comment's one reply.
"""

from __future__ import annotations

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
from bot.github.comments import code_span, fenced, post_once, quote_user_text
from bot.github.repo import (
    BranchProtected,
    RepoConflict,
    Snapshot,
    UpdateResult,
    commit_files,
    update_file,
)
from bot.handlers.pr_state import PullState
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
    await post_once(state.ctx.gh, state.repo, state.number, key, body, state.ctx.bot_login)


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
    return await post_once(ctx.gh, state.repo, state.number, key, body, ctx.bot_login, state.thread)


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


async def write_status(
    state: PullState, path: str, status: str, argument: str | None, command: Command, key: str
) -> bool:
    """Edit the proposal's metadata on the PR's head branch; on a fork, suggest it instead.

    One commit: the metadata file alone through the Contents API (conditional on its blob),
    or, where the process repeats the status in the document (Gateway API's `* Status:`),
    both files through the Git Data API (conditional on the branch head).
    """
    config = state.config
    edit = editor(config, status, argument, state.ctx.clock().date())
    head = state.pull["head"]
    head_repo = (head.get("repo") or {}).get("full_name") or state.repo
    message = (
        f"{config.kind}: {path} → {status}\n\nRequested with `{command.raw}` on #{state.number}."
    )
    document = document_path(config.proposals, path)
    also_document = config.validation.status_bullet and document != path

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        changes: dict[str, str | None] = {}
        text = await snapshot.read(path) or ""
        edited = edit(text)
        if edited is not None and edited != text:
            changes[path] = edited
        page = await snapshot.read(document)
        if page is not None and set_status_bullet(page, status) != page:
            changes[document] = set_status_bullet(page, status)
        return changes or None

    gh, branch = state.ctx.gh, head["ref"]
    result: UpdateResult
    try:
        if also_document:
            result = await commit_files(gh, head_repo, branch, plan, message)
        else:
            known = state.trees.versions.get(path)
            result = await update_file(gh, head_repo, branch, path, edit, message, known=known)
    except (BranchProtected, RepoConflict, BadRequest) as error:
        log.info("cannot write %s on %s:%s (%s); suggesting", path, head_repo, branch, error)
        await suggest(state, path, edit, command, key)
        return False
    if result.unchanged:
        return False
    text = state.trees.head.read(path) or ""
    after = edit(text)
    if after is not None:
        state.written(path, after, result.commit)
    page = state.trees.head.read(document) if also_document else None
    if page is not None:
        state.written(document, set_status_bullet(page, status), result.commit)
    return True


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
