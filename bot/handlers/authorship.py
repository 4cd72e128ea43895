"""Whose commands a comment, or a pull request's description, holds: a command is the act of
the person who wrote it.

GitHub lets anyone with write access edit other people's comments and a pull request's
description. The `edited` delivery names the editor as its sender, but the REST API shows
only the author (`user`) and when the text last changed (`updated_at`), never who changed
it. Replay (every check run, every command, every reconcile pass, on any instance) must
reach the same answer as the delivery did, from GitHub alone, so:

- A comment not edited since it was written (`updated_at` at most EDIT_TOLERANCE after
  `created_at`) holds its author's commands.
- When the bot sees an edit, the comment's commands that count from then on are those that
  counted before it and are still there, plus those the edit added when the editor is the
  author. An edit by anyone else adds nothing, runs nothing, and gets one reply naming the
  editor and the author. When what counts differs from what the rules below would read
  from GitHub without it, the bot records it in a comment of its own (`edit:` marker).
- A comment edited after it was written counts through its latest record only: the
  recorded commands it still holds. An edit the bot did not see (a missed delivery, no
  instance running) adds nothing, and a comment edited with no record counts for nothing.
- A pull request's description counts only through the record the bot makes when it sees
  the pull request opened (by its author, by definition): the recorded commands it still
  holds. Later edits of the description, by anyone, add nothing.

Only the bot can author its comments, but people with write access can edit them too, so
a record (like a check-run click record) counts only while it is unedited. Before an
edit the bot can only trust the text the delivery says the comment had when that text
was counted: by an earlier record, or, with none, when the bot had claimed the comment's
commands (its 👀) while it was unedited.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gidgethub import BadRequest

from bot.engine.commands import Command, new_commands, parse_commands
from bot.engine.roles import normalize
from bot.github.comments import code_span, marker_tag
from bot.github.shapes import Comment, Pull, login_of
from bot.handlers.context import HandlerContext, moment
from bot.handlers.memory import event_thread
from bot.handlers.reply_budget import addressed

__all__ = [
    "EDIT_TOLERANCE",
    "Edit",
    "Recorded",
    "body_commands",
    "comment_commands",
    "edit_digest",
    "record_body",
    "records",
    "see_body_edit",
    "see_comment_edit",
    "was_edited",
]

log = logging.getLogger(__name__)

# GitHub's timestamps are whole seconds; an unedited comment has `updated_at` equal to
# `created_at`. A comment whose `updated_at` is later by more than this was edited.
EDIT_TOLERANCE = datetime.timedelta(seconds=1)
BODY = "body"  # the record target of a pull request's description
_RECORD = re.compile(
    r"<!-- kepbot:edit:(body|[0-9]{1,20}):[0-9a-f]{12} -->\n"
    r"<!-- kepbot:counts:(none|[0-9a-f]{16}(?:\.[0-9a-f]{16}){0,199}) -->"
)
SHOWN = 10  # commands listed by name in a record or a reply


def was_edited(item: Comment | Pull) -> bool:
    """Whether a comment was edited after it was written (unknown times: taken as edited)."""
    created, updated = moment(item.get("created_at")), moment(item.get("updated_at"))
    if created is None or updated is None:
        return True
    return updated - created > EDIT_TOLERANCE


def _key(word: str, command: Command) -> str:
    """What identifies a command in a record: its word, verb and arguments, hashed."""
    text = " ".join(["/" + word.lower(), command.verb, *command.args])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _take(commands: Iterable[Command], word: str, keys: Iterable[str]) -> list[Command]:
    """The commands of `commands` that `keys` list (each key counts once), in order."""
    left = Counter(keys)
    kept = []
    for command in commands:
        key = _key(word, command)
        if left[key] > 0:
            left[key] -= 1
            kept.append(command)
    return kept


@dataclass(frozen=True)
class Recorded:
    """A record of the bot: the commands of one comment (or the description) that count."""

    target: str  # a comment id, or BODY
    keys: tuple[str, ...]


def records(thread: Sequence[Comment], bot_login: str) -> dict[str, Recorded]:
    """The latest valid record per comment (and for the description) in `thread`: a comment
    by the bot, unedited, that starts with the record's two tags."""
    me, found = bot_login.lower(), {}
    for comment in sorted(thread, key=lambda c: int(c.get("id") or 0)):
        if login_of(comment.get("user")).lower() != me:
            continue
        matched = _RECORD.match(str(comment.get("body") or ""))
        if matched is None or was_edited(comment):
            continue
        counts = matched.group(2)
        keys = () if counts == "none" else tuple(counts.split("."))
        found[matched.group(1)] = Recorded(matched.group(1), keys)
    return found


def comment_commands(
    comment: Comment, word: str, recorded: Mapping[str, Recorded]
) -> list[Command]:
    """The commands of `comment` that count as its author's (see the module's rules)."""
    commands = parse_commands(str(comment.get("body") or ""), word)
    record = recorded.get(str(comment.get("id")))
    if record is not None:
        return _take(commands, word, record.keys)
    return [] if was_edited(comment) else commands


def body_commands(pull: Pull, word: str, recorded: Mapping[str, Recorded]) -> list[Command]:
    """The commands of the pull request's description that count as its author's."""
    record = recorded.get(BODY)
    if record is None:
        return []
    return _take(parse_commands(str(pull.get("body") or ""), word), word, record.keys)


# -- what the bot does when it sees an edit ----------------------------------------------


@dataclass(frozen=True)
class Edit:
    """An edit of a comment as a delivery told it: who made it and what it added."""

    author: str
    editor: str
    added: tuple[tuple[str, Command], ...]  # (word, command), in the order written

    @property
    def foreign(self) -> bool:
        """Made by someone other than the comment's author: it runs nothing."""
        return normalize(self.editor) != normalize(self.author)


def edit_digest(text: str) -> str:
    """A short digest of a comment's text, telling its edits apart in markers."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _who(login: str) -> str:
    return code_span("@" + normalize(login))


def _listed(commands: Sequence[Command]) -> str:
    names = [code_span(command.raw[:100]) for command in commands[:SHOWN]]
    more = len(commands) - SHOWN
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _record_tags(target: str, text: str, keys: Sequence[str]) -> str:
    """The two tags a record starts with: which text of which target, and what counts."""
    counts = ".".join(keys) or "none"
    marker = f"edit:{target}:{edit_digest(text)}"
    return f"{marker_tag(marker)}\n{marker_tag('counts:' + counts)}"


async def _thread(ctx: HandlerContext, repo: str, number: int) -> list[Comment]:
    return await ctx.github.comments(repo, number)


async def _post_once(
    ctx: HandlerContext, repo: str, number: int, text: str, thread: list[Comment]
) -> None:
    """Post `text` (starting with its marker tag) unless the bot has; when another instance
    posted the same at the same moment, the oldest stays and the others are deleted."""
    tag = text.split("\n", 1)[0]
    marker = tag.removeprefix("<!-- kepbot:").removesuffix(" -->")
    if await ctx.github.find_comment(repo, number, marker, ctx.bot_login, thread) is not None:
        return
    made = await ctx.github.comment(repo, number, text)
    thread.append(made)
    same = [
        int(c["id"])
        for c in await _thread(ctx, repo, number)
        if login_of(c.get("user")).lower() == ctx.bot_login.lower()
        and str(c.get("body") or "").startswith(tag)
    ]
    if same and min(same) != int(made["id"]):
        try:
            await ctx.github.delete_comment(repo, int(made["id"]))
        except BadRequest:  # the other instance removed it first
            log.info("duplicate record %s on %s#%d already gone", marker, repo, number)


def _link(comment: Comment, text: str) -> str:
    url = str(comment.get("html_url") or "")
    return f"[{text}]({url})" if url.startswith("https://") or url.startswith("http://") else text


async def see_comment_edit(
    ctx: HandlerContext,
    repo: str,
    number: int,
    comment: Comment,
    before: str,
    editor: str,
    words: Sequence[str],
) -> Edit:
    """What an `edited` delivery of `comment` (its text before: `before`; made by `editor`)
    adds, after recording what counts from now on and, for an edit by someone other than
    the author that adds commands, saying once that they do not run."""
    after = str(comment.get("body") or "")
    author = login_of(comment.get("user"))
    added = tuple((w, c) for w in words for c in new_commands(before, after, w))
    edit = Edit(author, editor, tuple(sorted(added, key=lambda item: item[1].line)))
    was = {w: parse_commands(before, w) for w in words}
    now = {w: parse_commands(after, w) for w in words}
    if not any(was.values()) and not any(now.values()):
        return edit
    comment_id = int(comment["id"])
    thread = await event_thread(ctx, repo, number)
    record = records(thread, ctx.bot_login).get(str(comment_id))
    if record is not None:
        counted = {w: _take(was[w], w, record.keys) for w in words}
    elif any(was.values()) and await ctx.github.bot_reacted(
        repo, comment_id, ctx.bot_login, "eyes"
    ):
        counted = was  # unedited until now, and its commands were run as the author's
    else:
        counted = {}
    keys = [_key(w, c) for w in words for c in counted.get(w, [])]
    if not edit.foreign:
        keys += [_key(w, c) for w, c in edit.added]
    counts = {w: _take(now[w], w, keys) for w in words}
    if record is not None:
        unrecorded = {w: _take(now[w], w, record.keys) for w in words}
    else:
        unrecorded = {w: [] if was_edited(comment) else now[w] for w in words}
    key_list = [_key(w, c) for w in words for c in counts[w]]
    needed = Counter(key_list) != Counter(_key(w, c) for w in words for c in unrecorded[w])
    kept = [c for w in words for c in counts[w]]
    text = _edit_text(comment, edit, kept)
    # A reply to the editor when the edit was someone else's (it counts in their budget);
    # the same marker whether or not it is also a record, so a redelivery posts nothing.
    to = f"{addressed(editor)}\n" if edit.foreign else ""
    marker = f"edit:{comment_id}:{edit_digest(after)}"
    if needed:  # replay needs the record: posted whatever the reply budget says
        full = f"{_record_tags(str(comment_id), after, key_list)}\n{to}{text}"
        await _post_once(ctx, repo, number, full, thread)
    elif edit.foreign and edit.added:
        now_at = ctx.clock()
        if ctx.replies.allow(repo, number, editor, marker, thread, ctx.bot_login, now_at):
            await _post_once(ctx, repo, number, f"{marker_tag(marker)}\n{to}{text}", thread)
        else:
            log.info("no reply to %s on %s#%d: over the reply budget", editor, repo, number)
    return edit


def _edit_text(comment: Comment, edit: Edit, kept: Sequence[Command]) -> str:
    author, editor = _who(edit.author), _who(edit.editor)
    if edit.foreign:
        lines = [f"{editor} edited {_link(comment, 'a comment')} by {author}."]
        if edit.added:
            added = [command for _, command in edit.added]
            lines[0] = lines[0][:-1] + f" and added {_listed(added)}."
            lines.append(
                f"Not run: a command counts only as written by its author, and {editor} is "
                f"not {author}. {author} can give it in a new comment."
            )
    else:
        lines = [f"{author} edited {_link(comment, 'their comment')}."]
    if kept:
        lines.append(f"Its commands that count as {author}'s: {_listed(kept)}.")
    else:
        lines.append(f"None of its commands count as {author}'s.")
    return "\n\n".join(lines)


async def record_body(
    ctx: HandlerContext, repo: str, pull: Pull, found: Sequence[tuple[str, Command]]
) -> None:
    """Record the commands (word, command) of a pull request's description as its author's,
    when the bot sees it opened; replay counts the description only through this record."""
    if not found:
        return
    number, body = int(pull["number"]), str(pull.get("body") or "")
    author = login_of(pull.get("user"))
    keys = [_key(word, command) for word, command in found]
    text = (
        f"The commands in this pull request's description count as {_who(author)}'s: "
        f"{_listed([command for _, command in found])}. Later edits of the description "
        "run nothing."
    )
    full = f"{_record_tags(BODY, body, keys)}\n{text}"
    thread = await event_thread(ctx, repo, number)
    await _post_once(ctx, repo, number, full, thread)


async def see_body_edit(
    ctx: HandlerContext,
    repo: str,
    pull: Pull,
    before: str,
    editor: str,
    words: Sequence[str],
) -> None:
    """A description edited by someone other than the pull request's author that adds
    commands: nothing runs (the description's commands run only when it is opened, and
    count only as recorded then); say so once, naming both."""
    author = login_of(pull.get("user"))
    body = str(pull.get("body") or "")
    if normalize(editor) == normalize(author):
        return
    added = [c for w in words for c in new_commands(before, body, w)]
    if not added:
        return
    number = int(pull["number"])
    thread = await event_thread(ctx, repo, number)
    marker = f"body-edit-by:{edit_digest(body)}"
    if not ctx.replies.allow(repo, number, editor, marker, thread, ctx.bot_login, ctx.clock()):
        log.info("no reply to %s on %s#%d: over the reply budget", editor, repo, number)
        return
    text = (
        f"{_who(editor)} edited the description of this pull request by {_who(author)} and "
        f"added {_listed(added)}. Not run: a command counts only as written by its author, "
        "and the description's commands run only when the pull request is opened."
    )
    full = f"{marker_tag(marker)}\n{addressed(editor)}\n{text}"
    await _post_once(ctx, repo, number, full, thread)
