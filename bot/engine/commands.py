"""Slash commands in comments: the one parser that decides what a person asked the bot to do.

This module owns finding `/<word> <verb> [args...]` commands in a comment or a
pull-request body. A command is a line that starts (after at most three spaces) with
`/` and the repository's command word, followed by whitespace or the end of the line;
the word and the verb are matched case-insensitively and the verb is lower-cased, the
arguments are split on whitespace and kept as written. `/<word>` alone is `help`.

Only text a reader sees as prose counts (docs/design.md B2, I8). A line never counts
when it lies in:

- a fenced code block (``` or ~~~, three or more, any info string; closed only by a
  fence of the same character at least as long; a fence opened after list markers,
  `- ```, ends with its list item too),
- an indented code block (four columns of indentation after a blank line, a heading
  or at the start; such a line can never be a command anyway),
- a block quote: a line whose first non-space character is `>`, and the plain lines
  that continue a quoted paragraph (CommonMark's lazy continuation, which GitHub shows
  inside the quote: `> question` then `/kep approve` is all quoted); a blank line, a
  quoted fence or another block ends it,
- an HTML comment: a block from a line starting with `<!--` to the line holding
  `-->`, or an inline `<!-- ... -->` that spans lines of a paragraph, and
  `<pre>`, `<script>`, `<style>` and `<textarea>` blocks,
- an inline code span that spans lines of a paragraph (a line that merely starts
  with a backtick is not a command either).

Parts of a command line inside a one-line `<!-- ... -->` are not arguments, and
nothing after an unclosed `<!--` is.

Limits, for untrusted input: only the first 64 KiB (UTF-8) of a text are read (a line
cut by that limit is dropped), at most 20 commands are returned (the first ones), and
the work is linear in the length of the text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

MAX_BYTES = 64 * 1024
MAX_COMMANDS = 20
HELP = "help"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Each repetition of `(marker spaces)+` starts with a non-space marker character, so
# this cannot backtrack badly on untrusted input.
_LIST_MARKERS = re.compile(r" {0,3}(?:(?:[-+*]|\d{1,9}[.)])[ ]{1,4})+")
_FENCE = re.compile(r"(?P<run>`{3,}|~{3,})(?P<info>.*)")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_BREAK = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$")
_RAW_HTML_START = re.compile(r" {0,3}<(?:pre|script|style|textarea)(?:[\s>]|$)", re.I)
_RAW_HTML_END = re.compile(r"</(?:pre|script|style|textarea)>", re.I)
_COMMENT_END = re.compile("-->")
_INLINE_MARK = re.compile(r"\\|`+|<!--")
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


@dataclass(frozen=True)
class Command:
    """One command: its lower-cased verb, its arguments as written, and where it stands."""

    verb: str
    args: tuple[str, ...]
    line: int  # 1-based line of the text
    raw: str  # the command line as written, without surrounding whitespace


def parse_commands(text: str, word: str) -> list[Command]:
    """The commands `/<word> ...` of `text`, in order (at most MAX_COMMANDS)."""
    lines = _split_lines(text)
    commands: list[Command] = []
    for index in _visible_lines(lines):
        command = _command_of(lines[index], word, index + 1)
        if command is not None:
            commands.append(command)
            if len(commands) == MAX_COMMANDS:
                break
    return commands


def new_commands(before: str, after: str, word: str) -> list[Command]:
    """The commands of an edited comment (`after`) that its previous text did not have.

    Commands compare by verb and arguments, counted: a second identical command added
    by the edit is new. The result keeps `after`'s order and line numbers. Both texts
    are read with parse_commands' limits, so a command past the 20th is never new.
    """
    seen = Counter((c.verb, c.args) for c in parse_commands(before, word))
    fresh = []
    for command in parse_commands(after, word):
        key = (command.verb, command.args)
        if seen[key]:
            seen[key] -= 1
        else:
            fresh.append(command)
    return fresh


def _split_lines(text: str) -> list[str]:
    """The lines of the first MAX_BYTES of `text` (a line cut by the limit is dropped)."""
    head = text[:MAX_BYTES]  # a character is at least one byte
    encoded = head.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_BYTES and len(head) == len(text):
        return _LINE_BREAK.split(text)
    kept = encoded[:MAX_BYTES].decode("utf-8", "ignore")
    return _LINE_BREAK.split(kept)[:-1]


@lru_cache(maxsize=64)
def _command_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf" {{0,3}}/{re.escape(word)}(?=\s|$)(?P<rest>.*)", re.I | re.S)


def _command_of(line: str, word: str, number: int) -> Command | None:
    match = _command_pattern(word).match(line)
    if match is None:
        return None
    words = _without_comments(match["rest"]).split()
    verb = words[0].lower() if words else HELP
    return Command(verb, tuple(words[1:]), number, line.strip())


def _without_comments(rest: str) -> str:
    """`rest` without its `<!-- ... -->` parts and whatever follows an unclosed `<!--`."""
    kept, position = [], 0
    while (opening := rest.find("<!--", position)) >= 0:
        kept.append(rest[position:opening])
        closing = rest.find("-->", opening + 2)  # `<!-->` is a whole comment
        if closing < 0:
            return " ".join(kept)
        position = closing + 3
    kept.append(rest[position:])
    return " ".join(kept)


# Block structure, line by line.


class _Kind(Enum):
    HIDDEN = "hidden"  # code, HTML comment: never a command
    QUOTE = "quote"  # a block quote line: never a command, and later plain lines may join it
    BLANK = "blank"
    TEXT = "text"  # continues the current paragraph (or starts one)
    START = "start"  # starts a new paragraph (a list item)
    SINGLE = "single"  # a paragraph of its own (a heading, a thematic break)


@dataclass(frozen=True)
class _Fence:
    char: str
    length: int
    column: int  # where the fence's content column is (0 outside list items)


def _indent(line: str) -> int:
    """The column of the first non-blank character, tabs stopping every four columns."""
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            break
    return column


class _Blocks:
    """Classifies each line by the block it belongs to; one instance per text."""

    def __init__(self) -> None:
        self.fence: _Fence | None = None
        self.html_end: re.Pattern[str] | None = None  # the end marker of an open HTML block
        self.in_paragraph = False
        # A paragraph inside a block quote takes plain lines after it into the quote
        # (CommonMark's lazy continuation): `> question` then `/kep approve` is all quoted.
        self.quote_open = False
        self.quote_fence = False  # inside a fenced block that is itself quoted

    def classify(self, line: str) -> _Kind:
        if self.fence is not None and self._in_fence(line):
            return _Kind.HIDDEN
        if self.html_end is not None:
            if self.html_end.search(line):
                self.html_end = None
            return _Kind.HIDDEN
        kind = self._open(line)
        self.in_paragraph = kind in (_Kind.TEXT, _Kind.START)
        return _Kind.HIDDEN if kind is _Kind.QUOTE else kind

    def _in_fence(self, line: str) -> bool:
        """Whether `line` belongs to the open fence (closing it when it is the closing fence)."""
        assert self.fence is not None
        fence, indent = self.fence, _indent(line)
        if fence.column and line.strip() and indent < fence.column:
            self.fence = None  # the list item, and its fence, ended
            return False
        body = line.strip()
        closing = body[: fence.length] == fence.char * fence.length
        if closing and indent - fence.column <= 3 and body == fence.char * len(body):
            self.fence = None
        return True

    def _open(self, line: str) -> _Kind:
        kind = self._kind(line)
        if kind is _Kind.QUOTE:
            return kind
        self.quote_fence = False
        if kind is _Kind.TEXT and self.quote_open:
            return _Kind.HIDDEN
        self.quote_open = False
        return kind

    def _kind(self, line: str) -> _Kind:
        indent = _indent(line)
        if not line.strip():
            return _Kind.BLANK
        if indent >= 4:
            return _Kind.TEXT if self.in_paragraph or self.quote_open else _Kind.HIDDEN
        body = line.lstrip(" ")
        if body.startswith(">"):
            content = body.lstrip("> \t")
            fence = content.startswith(("```", "~~~"))
            if fence:
                self.quote_fence = not self.quote_fence
            # A quoted paragraph takes the plain lines after it; a quoted fence does not.
            self.quote_open = bool(content) and not fence and not self.quote_fence
            return _Kind.QUOTE
        if self._opens_block(line, body):
            return _Kind.HIDDEN
        if _HEADING.match(line) or _BREAK.match(line):
            return _Kind.SINGLE
        return _Kind.START if _LIST_MARKERS.match(line) else _Kind.TEXT

    def _opens_block(self, line: str, body: str) -> bool:
        if body.startswith("<!--"):
            self.html_end = None if "-->" in body else _COMMENT_END
            return True
        if _RAW_HTML_START.match(line):
            self.html_end = None if _RAW_HTML_END.search(line) else _RAW_HTML_END
            return True
        markers = _LIST_MARKERS.match(line)
        start = markers.end() if markers else len(line) - len(body)
        fence = _FENCE.match(line, start)
        if fence is None or (fence["run"][0] == "`" and "`" in fence["info"]):
            return False
        column = start if markers else 0  # list markers are written with spaces only
        self.fence = _Fence(fence["run"][0], len(fence["run"]), column)
        return True


def _paragraphs(lines: list[str]) -> Iterator[list[int]]:
    """The visible lines, grouped by paragraph (for the inline pass)."""
    blocks = _Blocks()
    current: list[int] = []
    for index, line in enumerate(lines):
        kind = blocks.classify(line)
        if kind is not _Kind.TEXT and current:
            yield current
            current = []
        if kind in (_Kind.TEXT, _Kind.START):
            current.append(index)
        elif kind is _Kind.SINGLE:
            yield [index]
    if current:
        yield current


def _visible_lines(lines: list[str]) -> Iterator[int]:
    """Indices of the lines whose start a reader sees as prose."""
    for paragraph in _paragraphs(lines):
        yield paragraph[0]
        if len(paragraph) > 1:
            hidden = _lines_inside_spans([lines[i] for i in paragraph])
            yield from (index for k, index in enumerate(paragraph[1:], 1) if k not in hidden)


# Inline spans of a paragraph: code spans and HTML comments may run over several lines.


class _Runs:
    """The backtick runs of a paragraph, to find a closing run of a given length."""

    def __init__(self, text: str) -> None:
        self.starts: dict[int, list[int]] = {}
        for match in _BACKTICKS.finditer(text):
            self.starts.setdefault(len(match[0]), []).append(match.start())
        self.cursor: dict[int, int] = {}

    def next(self, length: int, position: int) -> int | None:
        """The first run of exactly `length` starting at or after `position`.

        The positions asked for only grow, so each list is walked once.
        """
        starts = self.starts.get(length, [])
        cursor = self.cursor.get(length, 0)
        while cursor < len(starts) and starts[cursor] < position:
            cursor += 1
        self.cursor[length] = cursor
        return starts[cursor] if cursor < len(starts) else None


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) offsets of the code spans and HTML comments of `text`, in order."""
    runs = _Runs(text)
    comments_left = True
    position = 0
    while (mark := _INLINE_MARK.search(text, position)) is not None:
        start, position = mark.start(), mark.end()
        if mark[0] == "\\":
            if text[position : position + 1] in _PUNCTUATION:
                position += 1  # an escaped character opens nothing
        elif mark[0][0] == "`":
            closer = runs.next(len(mark[0]), position)
            if closer is not None:
                position = closer + len(mark[0])
                yield start, position
        elif comments_left:
            end = _comment_end(text, start)
            if end is None:
                comments_left = False  # no `-->` is left, so no later `<!--` closes
            else:
                position = end
                yield start, end


def _comment_end(text: str, start: int) -> int | None:
    for short in ("<!-->", "<!--->"):
        if text.startswith(short, start):
            return start + len(short)
    close = text.find("-->", start + 4)
    return None if close < 0 else close + 3


def _lines_inside_spans(lines: list[str]) -> set[int]:
    """Which of a paragraph's lines (by position) start inside a span."""
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    hidden: set[int] = set()
    k = 1
    for begin, end in _spans("\n".join(lines)):
        while k < len(starts) and starts[k] <= begin:
            k += 1
        while k < len(starts) and starts[k] < end:
            hidden.add(k)
            k += 1
    return hidden
