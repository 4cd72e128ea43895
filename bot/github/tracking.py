"""The comments that hold implementation links: the proposal's tracking comment and its data.

A proposal's tracking comment (marker `implementations`, on its tracking issue or on the
pull request that added it) lists its implementation PRs, one row each: repository,
number, title and state (open, merged, closed). The comment IS the list: each row is kept
in a hidden data block, `<!-- kepbot-data {...} -->`, next to the table people read, and
only the bot's own comment is ever read back (see `bot.github.comments`), so a person
cannot forge rows. Every implementation PR's event rewrites its own rows and nothing else.

GitHub has no conditional write for comments, so `set_rows` serialises writers of one
comment inside this process and, against another instance writing at the same moment,
reads the comment back after writing and writes again (up to WRITE_ATTEMPTS) when its
rows did not stick; a write that would change nothing costs one read of the thread. The
implementation PR's own link comment carries a data block too: the tracking comments it
has rows in, so a removed link is removed there as well.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.github.comments import Thread, find_comment, quote_user_text, upsert_comment
from bot.github.urls import repo_url

__all__ = [
    "MARKER",
    "Row",
    "data_block",
    "read_data",
    "read_rows",
    "render_rows",
    "rows_of",
    "set_rows",
]

MARKER = "implementations"
WRITE_ATTEMPTS = 3
DEFAULT_HEADING = "**Implementation pull requests** (kept up to date by kepbot)"
TITLE_LIMIT = 120
STATES = ("open", "merged", "closed")
_DATA = re.compile(r"<!-- kepbot-data (?P<json>\{.*?\}) -->", re.S)
# Nothing in the data can end the comment early, mention someone or cross-reference an issue.
_ESCAPES = {c: f"\\u{ord(c):04x}" for c in "-<>&@#"}
_locks: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class Row:
    """One implementation pull request as the tracking comment lists it."""

    repo: str
    number: int
    state: str
    title: str
    # When it merged, as GitHub says (`merged_at`); None: not merged, or a row written
    # before the bot recorded it. Not part of a row's identity.
    merged_at: str | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return self.repo.lower(), self.number

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"


def data_block(data: Mapping[str, Any]) -> str:
    """`data` as a hidden HTML comment (JSON with `-<>&@#` written as escapes)."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    return f"<!-- kepbot-data {text} -->"


def read_data(body: str | None) -> dict[str, Any]:
    """The data block of a comment the bot wrote ({} when it has none or it is damaged)."""
    match = _DATA.search(body or "")
    if match is None:
        return {}
    try:
        data = json.loads(match["json"])
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def rows_of(body: str | None) -> list[Row]:
    """The rows a tracking comment's data block holds; malformed entries are dropped."""
    rows = []
    for item in read_data(body).get("rows") or []:
        if not isinstance(item, dict):
            continue
        repo, number = item.get("repo"), item.get("number")
        state, title = item.get("state"), item.get("title")
        if isinstance(repo, str) and isinstance(number, int) and state in STATES:
            merged = item.get("merged_at")
            rows.append(
                Row(
                    repo,
                    number,
                    str(state),
                    title if isinstance(title, str) else "",
                    merged if isinstance(merged, str) and state == "merged" else None,
                )
            )
    return rows


def render_rows(heading: str, rows: Sequence[Row]) -> str:
    """The tracking comment's text: `heading`, the table, and the data block."""
    ordered = sorted(rows, key=lambda row: row.key)
    lines = [heading, ""]
    if ordered:
        lines += ["| pull request | title | state |", "|---|---|---|"]
        for row in ordered:
            title = quote_user_text(row.title, TITLE_LIMIT)
            lines.append(f"| {row.ref} | {title} | {row.state} |")
    else:
        lines.append("No implementation pull request links this proposal at the moment.")
    data = {"rows": [{k: v for k, v in row.__dict__.items() if v is not None} for row in ordered]}
    return "\n".join([*lines, "", data_block(data)])


async def read_rows(
    gh: GitHubAPI, repo: str, number: int, bot_login: str, thread: Thread | None = None
) -> list[Row]:
    """The rows of the tracking comment on `repo#number` ([] when there is none); `thread`,
    its comments as read already, saves listing them."""
    found = await find_comment(gh, repo, number, MARKER, bot_login, thread)
    return rows_of(found.get("body") if found else None)


def _lock(repo: str, number: int) -> asyncio.Lock:
    key = (repo.lower(), number)
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock


async def set_rows(
    gh: GitHubAPI,
    repo: str,
    number: int,
    bot_login: str,
    *,
    pull: tuple[str, int],
    rows: Sequence[Row],
    heading: str | None,
) -> list[Row]:
    """Make the tracking comment on `repo#number` hold `rows` for the PR `pull` (repo, number).

    The rows of other PRs are kept as they are; `heading` replaces the comment's first line
    (None keeps it). Nothing is written when no comment exists and `rows` is empty, nor
    when the text would not change. Returns all rows afterwards.
    """
    key = (pull[0].lower(), pull[1])
    async with _lock(repo, number):
        stored: list[Row] = []
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            thread = await _thread(gh, repo, number)
            found = await find_comment(gh, repo, number, MARKER, bot_login, thread)
            if found is None and not rows:
                return []
            current = rows_of(found.get("body") if found else None)
            wanted = [row for row in current if row.key != key] + list(rows)
            body = found.get("body") if found else None
            text = render_rows(heading or _first_line(body) or DEFAULT_HEADING, wanted)
            _, _, changed = await upsert_comment(
                gh, repo, number, MARKER, text, bot_login, thread
            )  # PATCH only when the text changed
            if not changed and found is not None:
                return rows_of(found.get("body"))  # already as wanted: nothing to check
            again = await find_comment(gh, repo, number, MARKER, bot_login)
            stored = rows_of(again.get("body") if again else None)
            mine = [row for row in stored if row.key == key]
            if sorted(mine, key=_order) == sorted(rows, key=_order):
                return stored
            await gh.sleep(random.uniform(0, 0.2 * attempt))
        return stored


async def _thread(gh: GitHubAPI, repo: str, number: int) -> Thread:
    """The comments of `repo#number`, read once for one attempt of a write."""
    url = repo_url(repo, "issues", number, "comments", query={"per_page": 100})
    return [comment async for comment in gh.getiter(url)]


def _first_line(body: str | None) -> str | None:
    """The heading of an existing tracking comment (the line after its marker)."""
    lines = (body or "").splitlines()
    return lines[1] if len(lines) > 1 and lines[1].strip() else None


def _order(row: Row) -> tuple[str, int, str, str]:
    return (*row.key, row.state, row.title)
