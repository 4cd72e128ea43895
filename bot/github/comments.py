"""The bot's comments and reactions on pull requests and issues.

Comments the bot keeps (the status comment, a refusal reply) carry a hidden marker,
`<!-- kepbot:{marker} -->`, and only comments written by the bot itself count as carrying it,
so a person quoting the marker cannot take a comment over. `upsert_comment` edits the one
comment in place (PATCH only when the text changed); `post_once` writes a comment only if
none with its marker exists. `quote_user_text` makes text from users safe to echo.

`read_thread` reads an issue's or PR's comments incrementally: the client keeps each thread
as last read (`bot.github.read_cache`), and the next read asks only for the comments
updated since (`since`), merged by id, with a full read whenever the count GitHub gives
for the issue shows that the merged list is not the thread any more (a deletion).

Reactions double as a lock: GitHub answers 201 to the first reaction of a user with a given
content and 200 to every repeat, so `claim` tells exactly one of several concurrent bot
instances or redeliveries that it is first to handle a command (docs/design.md I2).
"""

from __future__ import annotations

import contextlib
import datetime
import re
import unicodedata
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import aiohttp
from gidgethub import BadRequest, GitHubBroken, sansio
from gidgethub.abc import GitHubAPI

from bot.github.read_cache import KeptThread, read_cache
from bot.github.retry import patch, post
from bot.github.shapes import Comment, login_of
from bot.github.urls import Query, repo_url

__all__ = [
    "MAX_BODY",
    "bot_reacted",
    "claim",
    "find_comment",
    "marker_tag",
    "post_once",
    "quote_user_text",
    "react",
    "read_thread",
    "upsert_comment",
]

MAX_BODY = 65536  # GitHub refuses longer comment bodies (422)
TRUNCATED = "\n\n… (truncated)"
_MARKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$")
ZWJ = "\u200d"  # after `@` or `#`: GitHub no longer sees a mention or an issue reference
_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKSLASHED = set("\\`*_[]|~")
_LINE_START = set("#-+=/!")  # would start a heading, list, command... at the start of a line
_MENTION = re.compile(r"([@#])(?=[A-Za-z0-9])")


CLAIM_ATTEMPTS = 3
# How far before the newest comment kept the next incremental read starts: GitHub's
# timestamps have one-second steps and a comment may become visible a little after a later
# one; a comment missed anyway shows as a count that does not match, and a full read.
THREAD_OVERLAP = datetime.timedelta(seconds=120)


def marker_tag(marker: str) -> str:
    """The hidden HTML comment that identifies a kept comment, e.g. `<!-- kepbot:status -->`."""
    if not _MARKER.match(marker) or "--" in marker:
        raise ValueError(f"invalid comment marker {marker!r}")
    return f"<!-- kepbot:{marker} -->"


def _with_tag(tag: str, body: str) -> str:
    text = body if tag in body else f"{tag}\n{body}"
    if len(text) > MAX_BODY:
        text = text[: MAX_BODY - len(TRUNCATED)] + TRUNCATED
    return text


async def _bot_comments(
    gh: GitHubAPI, repo: str, number: int, bot_login: str
) -> AsyncIterator[Comment]:
    url = repo_url(repo, "issues", number, "comments", query={"per_page": 100})
    me = bot_login.lower()
    comment: Comment
    async for comment in gh.getiter(url):
        if login_of(comment.get("user")).lower() == me:
            yield comment


# The comments of an issue or PR already read by the caller: passing it saves listing them
# again, and comments the bot writes are added to it.
Thread = list[Comment]


def _since(comments: dict[int, Comment]) -> str | None:
    """Where the next incremental read of a thread starts (None: read it in full)."""
    times = []
    for comment in comments.values():
        try:
            moment = datetime.datetime.fromisoformat(str(comment.get("updated_at")))
        except ValueError:
            return None
        times.append(moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC))
    if not times:
        return None
    start = max(times).astimezone(datetime.UTC) - THREAD_OVERLAP
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


# What the bot reads of a comment in a thread; the rest (reactions, a dozen URLs, the
# author's whole profile) is dropped when a thread is read, so a kept thread weighs about
# its bodies.
COMMENT_FIELDS = (
    "id",
    "body",
    "created_at",
    "updated_at",
    "html_url",
    "issue_url",
    "author_association",
)
USER_FIELDS = ("login", "id", "type")


def _slim(comment: Mapping[str, Any]) -> Comment:
    kept = {name: comment[name] for name in COMMENT_FIELDS if name in comment}
    user = comment.get("user")
    if isinstance(user, dict):
        kept["user"] = {name: user[name] for name in USER_FIELDS if name in user}
    return cast(Comment, kept)


async def _list(gh: GitHubAPI, repo: str, number: int, since: str | None) -> Thread:
    query: dict[str, str | int] = {"per_page": 100}
    if since is not None:
        query["since"] = since
    url = repo_url(repo, "issues", number, "comments", query=query)
    return [_slim(comment) async for comment in gh.getiter(url)]


async def read_thread(gh: GitHubAPI, repo: str, number: int, count: int | None = None) -> Thread:
    """The comments of `repo#number`, oldest first (copies the caller may change).

    With `count`, the number of comments GitHub gives for the issue or PR as just read, a
    thread read before is read incrementally: only the comments updated since the newest
    one kept (less `THREAD_OVERLAP`), merged by id, so an edited comment replaces its old
    version. `since` filters by update time and never reports a deletion, so when the merged
    thread does not hold `count` comments it is read again in full; without `count` it is
    always read in full.
    """
    cache = read_cache(gh)
    kept = cache.thread(repo, number) if count is not None else None
    comments: dict[int, Comment] | None = None
    if kept is not None and kept.since is not None:
        comments = dict(kept.comments)
        for comment in await _list(gh, repo, number, kept.since):
            comments[int(comment["id"])] = comment
        if len(comments) != count:
            comments = None
    if comments is None:
        comments = {int(c["id"]): c for c in await _list(gh, repo, number, None)}
    ordered = dict(sorted(comments.items()))
    cache.keep_thread(repo, number, KeptThread(ordered, _since(ordered)))
    return [comment.copy() for comment in ordered.values()]


async def find_comment(
    gh: GitHubAPI,
    repo: str,
    number: int,
    marker: str,
    bot_login: str,
    thread: Thread | None = None,
) -> Comment | None:
    """The bot's oldest comment on `number` carrying `marker`, or None."""
    tag = marker_tag(marker)
    if thread is not None:
        me = bot_login.lower()
        mine = (c for c in thread if login_of(c.get("user")).lower() == me)
        return next((c for c in mine if tag in (c.get("body") or "")), None)
    async for comment in _bot_comments(gh, repo, number, bot_login):
        if tag in (comment.get("body") or ""):
            return comment
    return None


async def upsert_comment(
    gh: GitHubAPI,
    repo: str,
    number: int,
    marker: str,
    body: str,
    bot_login: str,
    thread: Thread | None = None,
) -> tuple[int, bool, bool]:
    """Keep one bot comment with `marker` holding `body`; return (id, created, changed).

    The marker is prepended to `body` unless it is already in it. An existing comment is
    edited only when its text differs.
    """
    text = _with_tag(marker_tag(marker), body)
    found = await find_comment(gh, repo, number, marker, bot_login, thread)
    if found is None:
        made = await gh.post(repo_url(repo, "issues", number, "comments"), data={"body": text})
        kept = await _keep_oldest(gh, repo, number, marker, bot_login, int(made["id"]))
        if thread is not None and kept == int(made["id"]):
            thread.append(made)
        return kept, kept == int(made["id"]), True
    comment_id = int(found["id"])
    if found.get("body") == text:
        return comment_id, False, False
    await patch(
        gh, repo_url(repo, "issues", "comments", comment_id), data={"body": text}, retry_safe=True
    )
    found["body"] = text
    return comment_id, False, True


async def _keep_oldest(
    gh: GitHubAPI, repo: str, number: int, marker: str, bot_login: str, made: int
) -> int:
    """After creating a kept comment: if another instance created one at the same moment,
    delete the newer ones so that one stays (both instances agree on the oldest)."""
    tag = marker_tag(marker)
    ids = sorted(
        [
            int(c["id"])
            async for c in _bot_comments(gh, repo, number, bot_login)
            if tag in (c.get("body") or "")
        ]
    )
    for extra in ids[1:]:
        if extra == made:
            with contextlib.suppress(BadRequest):  # the other instance deleted it first
                await gh.delete(repo_url(repo, "issues", "comments", extra))
    return ids[0] if ids else made


async def post_once(
    gh: GitHubAPI,
    repo: str,
    number: int,
    marker: str,
    body: str,
    bot_login: str,
    thread: Thread | None = None,
) -> bool:
    """Post `body` unless a bot comment with `marker` exists; True when it was posted.

    For replies that must not repeat, e.g. a refusal keyed by comment id and command index.
    """
    tag = marker_tag(marker)
    if await find_comment(gh, repo, number, marker, bot_login, thread) is not None:
        return False
    url = repo_url(repo, "issues", number, "comments")
    made = await gh.post(url, data={"body": _with_tag(tag, body)})
    if thread is not None:
        thread.append(made)
    return True


def _clean(text: str) -> str:
    """One line of printable text: control, format (bidi, zero-width) characters dropped."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\r\n" or category == "Zs":
            kept.append(" ")
        elif category[0] != "C":
            kept.append(char)
    return " ".join("".join(kept).split())


def quote_user_text(text: str, limit: int = 200) -> str:
    """`text` from a user made safe to echo inside a bot comment (also in a table cell).

    One line, at most `limit` characters of the input (then `…`); no @-mentions or issue
    references (a zero-width joiner follows `@` and `#`); `&`, `<`, `>` as entities so no
    HTML (nor a forged `<!-- kepbot:... -->` marker) gets through; markdown punctuation that
    could form links, code, emphasis or table cells backslash-escaped; a first character
    that could start a heading, a list or a slash command escaped too.
    """
    line = _clean(text)
    if len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    out: list[str] = []
    for index, char in enumerate(line):
        if char in _ESCAPED:
            out.append(_ESCAPED[char])
        elif char in _BACKSLASHED or (index == 0 and char in _LINE_START):
            out.append("\\" + char)
        else:
            out.append(char)
    return _MENTION.sub(lambda match: match.group(1) + ZWJ, "".join(out))


def _reactions_url(
    repo: str, comment_id: int | None, number: int | None, query: Query | None = None
) -> str:
    if comment_id is not None:
        return repo_url(repo, "issues", "comments", comment_id, "reactions", query=query)
    if number is not None:
        return repo_url(repo, "issues", number, "reactions", query=query)
    raise ValueError("give comment_id or number")


async def claim(
    gh: GitHubAPI,
    repo: str,
    *,
    comment_id: int | None = None,
    number: int | None = None,
    content: str = "eyes",
) -> bool:
    """React with `content` on the comment (or the issue/PR body); True if this was first.

    GitHub answers 201 when it creates the reaction and 200 when the bot had already left
    it, so among concurrent callers exactly one gets True. When an attempt gets no answer
    (a timeout, a 5xx) it may still have landed, so a 200 on the retry may be our own
    reaction: the claim is then taken as ours. At worst two instances both run a command,
    which every effect tolerates (edits are no-ops at the target, replies go by marker);
    concluding it was someone else's could lose the command.
    """
    url = _reactions_url(repo, comment_id, number)
    unanswered = False
    for _ in range(CLAIM_ATTEMPTS):
        try:
            # gidgethub's post() hides the status code; _make_request is what getstatus() uses.
            _, _, status = await gh._make_request(
                "POST", url, {}, {"content": content}, sansio.accept_format()
            )
        except (TimeoutError, aiohttp.ClientError, GitHubBroken):
            unanswered = True
            continue
        return int(status) == 201 or unanswered
    raise TimeoutError(f"no answer claiming {url} after {CLAIM_ATTEMPTS} attempts")


async def react(
    gh: GitHubAPI,
    repo: str,
    *,
    comment_id: int | None = None,
    number: int | None = None,
    content: str,
) -> None:
    """Leave the reaction `content` (`+1`, `-1`, `confused`...); a repeat is harmless."""
    url = _reactions_url(repo, comment_id, number)
    await post(gh, url, data={"content": content}, retry_safe=True)


async def bot_reacted(
    gh: GitHubAPI, repo: str, comment_id: int, bot_login: str, content: str
) -> bool:
    """Whether the bot left `content` on the comment (reconcile: was this command handled?)."""
    url = _reactions_url(repo, comment_id, None, {"content": content, "per_page": 100})
    me = bot_login.lower()
    async for reaction in gh.getiter(url):
        if str((reaction.get("user") or {}).get("login", "")).lower() == me:
            return True
    return False


def code_span(text: str) -> str:
    """`text` as inline code that no backtick inside it can close (paths, verbs, logins).

    Inside a code span GitHub renders no HTML and notifies no @mention; a pipe is escaped
    so that the span can stand in a table cell.
    """
    flat = _clean(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def inert(text: str) -> str:
    """Our own sentence that quotes user values: no HTML, no @mention, no #reference."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "@\u200d").replace("#", "#\u200d")


def fenced(text: str, info: str = "") -> str:
    """`text` in a fenced block that no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
