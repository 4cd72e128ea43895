"""Markdown as GitHub reads it: which lines of a text are prose, and a proposal's headings.

This module owns the engine's one Markdown scanner. `Blocks` reads a text line by line
and says which block each line belongs to, following CommonMark and GitHub's Markdown;
`prose_lines` and `prose_paragraphs` add the inline pass. The command parser
(`bot/engine/commands.py`, docs/design.md B2, I8), the references of implementation pull
requests (`bot/engine/references.py`, B6) and the proposal checks (headings and
sections, B1) all read a text through it, so a fence or a comment means the same to each.

Lines end at `\\n`, `\\r\\n` or `\\r`, Markdown's line endings (a form feed or U+2028 is a
character of its line). A line is not prose, and never a heading, when it lies in:

- a fenced code block (``` or ~~~, three or more, any info string, though a backtick
  fence's info string holds no backtick; closed only by a fence of the same character at
  least as long, with nothing after it, indented at most three columns; a fence opened
  after list markers, `- ```, ends with its list item too; an unclosed fence runs to the
  end of the text),
- an indented code block (four columns of indentation, tabs stopping every four, after a
  blank line, a heading, a closed block or at the start),
- a block quote: a line whose first non-space character is `>`, and the plain lines
  that continue a quoted paragraph (CommonMark's lazy continuation, which GitHub shows
  inside the quote: `> question` then `/kep approve` is all quoted); a blank line, a
  quoted fence or another block ends it,
- an HTML comment block, from a line starting with `<!--` to the line holding `-->` (or
  the end of the text), and `<pre>`, `<script>`, `<style>` and `<textarea>` blocks.

Inline, a code span or an HTML comment may run over the lines of a paragraph: a line
that starts inside one is not prose (`prose_lines`). A comment ends at the first `-->`
after its `<!--`; `<!-->` and `<!--->` are whole (empty) comments.

Headings are ATX headings (`#` to `######`, then a space, a tab or the end of the line)
on the lines the scanner shows: a section runs from its heading to the next heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

LINE_BREAK = re.compile(r"\r\n|\r|\n")
_OTHER_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")  # str.splitlines' others
# Each repetition of `(marker spaces)+` starts with a non-space marker character, so
# this cannot backtrack badly on untrusted input.
_LIST_MARKERS = re.compile(r" {0,3}(?:(?:[-+*]|\d{1,9}[.)])[ ]{1,4})+")
_LIST_MARKER = re.compile(r"(?:[-+*]|\d{1,9}[.)])[ ]{1,4}")
# Characters that open nothing at the start of a line (with letters): the fast path.
_PLAIN_START = frozenset("!\"$%&'(),./:;?@[\\]^{|}")
_ITEM_OR_INDENT = frozenset(" -+*")
_FENCE = re.compile(r"(?P<run>`{3,}|~{3,})(?P<info>.*)")
_FENCE_STARTS = frozenset({"```", "~~~"})
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_HEADING_TEXT = re.compile(r" {0,3}(#{1,6})(?:[ \t](.*))?")
_BREAK = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$")
_RAW_HTML_START = re.compile(r" {0,3}<(?:pre|script|style|textarea)(?:[\s>]|$)", re.I)
_RAW_HTML_END = re.compile(r"</(?:pre|script|style|textarea)>", re.I)
_COMMENT_END = re.compile("-->")
_INLINE_MARK = re.compile(r"\\|`+|<!--")
_BACKTICKS = re.compile(r"`+")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_REQUIRED_IN = re.compile(r"^\[required_in\]:\s*#\s*\((?P<status>\w+) status and above\)", re.I)
_STATUS_BULLET = re.compile(r"^\s*[*-]\s+Status:\s*(?P<status>.+?)\s*$")


def split_lines(text: str) -> list[str]:
    """The lines of `text`, ended by Markdown's line endings (a final one ends the last line)."""
    if _OTHER_BREAKS.search(text) is None:
        return text.splitlines()  # the same lines, faster
    lines = LINE_BREAK.split(text)
    return lines[:-1] if not lines[-1] else lines


# Blocks, line by line.


class Kind(Enum):
    """What a line is to a reader."""

    HIDDEN = "hidden"  # code, an HTML comment, a raw HTML block
    QUOTE = "quote"  # a block quote line, or a plain line that continues a quoted paragraph
    BLANK = "blank"
    TEXT = "text"  # continues the current paragraph (or starts one)
    START = "start"  # starts a new paragraph (a list item)
    HEADING = "heading"  # an ATX heading: a paragraph of its own
    BREAK = "break"  # a thematic break or a setext underline: a paragraph of its own


PROSE = frozenset({Kind.TEXT, Kind.START, Kind.HEADING, Kind.BREAK})


@dataclass(frozen=True)
class _Fence:
    char: str
    length: int
    column: int  # where the fence's content column is (0 outside list items)


def _indent(line: str) -> int:
    """The column of the first non-blank character, tabs stopping every four columns."""
    rest = line.lstrip(" ")
    if not rest.startswith("\t"):
        return len(line) - len(rest)
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def _plain_item(line: str) -> int | None:
    """The content column of a line that is a bullet (`-`, `+`, `*`), one space and a letter
    or plain punctuation, indented at most three spaces (None for any other line)."""
    body = line.lstrip(" ")
    indent = len(line) - len(body)
    if indent > 3 or body[:1] not in ("-", "+", "*") or body[1:2] != " ":
        return None
    first = body[2:3]
    return indent + 2 if first.isalpha() or first in _PLAIN_START else None


class Blocks:
    """Says which block each line of a text belongs to; one instance per text, fed in order."""

    def __init__(self) -> None:
        self.fence: _Fence | None = None
        self.html_end: re.Pattern[str] | None = None  # the end marker of an open HTML block
        self.in_paragraph = False
        # A paragraph inside a block quote takes plain lines after it into the quote
        # (CommonMark's lazy continuation): `> question` then `/kep approve` is all quoted.
        self.quote_open = False
        self.quote_fence = False  # inside a fenced block that is itself quoted
        self.items: list[int] = []  # content columns of the open list items, outermost first

    def scan(self, lines: list[str]) -> list[Kind]:
        """What each of `lines` is: `classify` of each in turn, with its fast paths inline."""
        kinds: list[Kind] = []
        append, items = kinds.append, self.items
        text, blank, hidden, quote = Kind.TEXT, Kind.BLANK, Kind.HIDDEN, Kind.QUOTE
        for line in lines:
            if self.html_end is not None:
                if self.html_end.search(line):
                    self.html_end = None
                append(hidden)
                continue
            fence = self.fence
            first = line[:1]
            if fence is not None:
                if not fence.column and line.strip()[:1] != fence.char:
                    append(hidden)  # neither a closing fence nor the end of a list item
                    continue
            elif not first:
                self.in_paragraph = self.quote_open = self.quote_fence = False
                append(blank)
                continue
            elif first.isalpha() or first in _PLAIN_START:
                # Most lines of a proposal start with a letter: they open and close nothing.
                if not self.in_paragraph:
                    items.clear()  # a paragraph at column 0 ends every list item
                self.quote_fence = False
                if self.quote_open:
                    self.in_paragraph = False
                    append(quote)  # lazy continuation of the quoted paragraph
                else:
                    self.in_paragraph = True
                    append(text)
                continue
            elif first == "#" and _HEADING.match(line):
                self.in_paragraph = self.quote_open = self.quote_fence = False
                items.clear()  # a heading at column 0 ends every list item
                append(Kind.HEADING)
                continue
            elif first in _ITEM_OR_INDENT:
                if line.startswith("    ") and not line.isspace():
                    # Four columns in: the next line of a paragraph, or indented code.
                    self.quote_fence = False
                    if self.quote_open:
                        self.in_paragraph = False
                        append(quote)
                    elif self.in_paragraph:
                        append(text)
                    else:
                        append(hidden)
                    continue
                item = _plain_item(line)
                if item is not None:
                    # A bullet item of plain text, `- text`: it opens its list item alone.
                    while items and items[-1] > item - 2:
                        items.pop()
                    items.append(item)
                    self.in_paragraph, self.quote_open, self.quote_fence = True, False, False
                    append(Kind.START)
                    continue
            append(self.classify(line))
        return kinds

    def classify(self, line: str) -> Kind:
        """What `line`, the next line of the text, is."""
        if self.fence is not None and self._in_fence(line):
            return Kind.HIDDEN
        if self.html_end is not None:
            if self.html_end.search(line):
                self.html_end = None
            return Kind.HIDDEN
        kind = self._kind(line)
        if kind is not Kind.QUOTE:
            self.quote_fence = False
            if kind is Kind.TEXT and self.quote_open:
                kind = Kind.QUOTE  # lazy continuation of the quoted paragraph
            else:
                self.quote_open = False
        self.in_paragraph = kind is Kind.TEXT or kind is Kind.START
        return kind

    def _in_fence(self, line: str) -> bool:
        """Whether `line` belongs to the open fence (closing it when it is the closing fence)."""
        assert self.fence is not None
        fence, body = self.fence, line.strip()
        if not fence.column and body[:1] != fence.char:
            return True  # neither a closing fence nor the end of a list item
        indent = _indent(line)
        if fence.column and body and indent < fence.column:
            self.fence = None  # the list item, and its fence, ended
            return False
        closing = body[: fence.length] == fence.char * fence.length
        if closing and indent - fence.column <= 3 and body == fence.char * len(body):
            self.fence = None
        return True

    def _kind(self, line: str) -> Kind:
        """What `line` is outside a fence and an HTML block (before lazy continuation)."""
        indent = _indent(line)
        if not line.strip():
            return Kind.BLANK
        if indent >= 4:
            return Kind.TEXT if self.in_paragraph or self.quote_open else Kind.HIDDEN
        body = line[indent:]  # under four columns of indentation are spaces alone
        first = body[0]
        if first == ">":
            content = body.lstrip("> \t")
            fence = content.startswith(("```", "~~~"))
            if fence:
                self.quote_fence = not self.quote_fence
            # A quoted paragraph takes the plain lines after it; a quoted fence does not.
            self.quote_open = bool(content) and not fence and not self.quote_fence
            return Kind.QUOTE
        markers = _LIST_MARKERS.match(line) if first in "-+*" or first.isdecimal() else None
        if first == "<" and self._opens_html(line, body, indent):
            return Kind.HIDDEN
        start = markers.end() if markers else indent
        opens = line[start : start + 3] in _FENCE_STARTS
        if opens and self._opens_fence(line, indent, start, markers):
            return Kind.HIDDEN
        if first == "#" and _HEADING.match(line):
            kind = Kind.HEADING
        elif first in "-*_=" and body.rstrip(" \t").endswith(first) and _BREAK.match(line):
            kind = Kind.BREAK
        else:
            kind = Kind.START if markers else Kind.TEXT
        if kind is not Kind.TEXT or not self.in_paragraph:  # not a lazy continuation line
            self._enter(line, indent, markers if kind is Kind.START else None)
        return kind

    def _opens_html(self, line: str, body: str, indent: int) -> bool:
        """Whether `line` opens an HTML comment or a raw HTML block (and opens it)."""
        if body.startswith("<!--"):
            self.html_end = None if "-->" in body else _COMMENT_END
        elif _RAW_HTML_START.match(line):
            self.html_end = None if _RAW_HTML_END.search(line) else _RAW_HTML_END
        else:
            return False
        self._enter(line, indent, None)
        return True

    def _opens_fence(
        self, line: str, indent: int, start: int, markers: re.Match[str] | None
    ) -> bool:
        """Whether `line` opens a fenced code block at `start` (and opens it)."""
        fence = _FENCE.match(line, start)
        if fence is None or (fence["run"][0] == "`" and "`" in fence["info"]):
            return False
        self._enter(line, indent, markers)
        # A fence belongs to the innermost list item it is indented into: its closing
        # fence is indented from that item's content column, and a line indented less
        # ends the item and the fence (list markers are written with spaces only).
        column = start if markers else (self.items[-1] if self.items else 0)
        self.fence = _Fence(fence["run"][0], len(fence["run"]), column)
        return True

    def _enter(self, line: str, indent: int, markers: re.Match[str] | None) -> None:
        """End the list items that `line`, indented `indent`, is not in; open its own."""
        while self.items and self.items[-1] > indent:
            self.items.pop()
        if markers is None:
            return
        if " " not in line[indent : markers.end()].rstrip(" "):
            self.items.append(markers.end())  # one marker, the usual case
            return
        position = indent
        while (marker := _LIST_MARKER.match(line, position)) is not None:
            position = marker.end()
            self.items.append(position)


def kinds(lines: list[str]) -> list[Kind]:
    """What each of `lines` is, in order."""
    return Blocks().scan(lines)


def _paragraphs(lines: list[str]) -> Iterator[list[int]]:
    """The prose lines, grouped by paragraph (for the inline pass)."""
    current: list[int] = []
    for index, kind in enumerate(kinds(lines)):
        if kind is not Kind.TEXT and current:
            yield current
            current = []
        if kind in (Kind.TEXT, Kind.START):
            current.append(index)
        elif kind in PROSE:
            yield [index]
    if current:
        yield current


def prose_lines(lines: list[str]) -> Iterator[int]:
    """Indices of the lines whose start a reader sees as prose, in order."""
    for paragraph in _paragraphs(lines):
        yield paragraph[0]
        if len(paragraph) > 1:
            hidden = _lines_inside_spans([lines[i] for i in paragraph])
            yield from (index for k, index in enumerate(paragraph[1:], 1) if k not in hidden)


def prose_paragraphs(lines: list[str]) -> Iterator[str]:
    """The text of each paragraph of `lines`, in order: the prose alone, without code,
    quotes or HTML comments; a code span or comment inside a paragraph becomes a space."""
    for group in _paragraphs(lines):
        joined = "\n".join(lines[index] for index in group)
        kept, position = [], 0
        for start, end in _spans(joined):
            kept.append(joined[position:start])
            position = end
        kept.append(joined[position:])
        yield " ".join(kept)


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
            end = comment_end(text, start)
            if end is None:
                comments_left = False  # no `-->` is left, so no later `<!--` closes
            else:
                position = end
                yield start, end


def comment_end(text: str, start: int) -> int | None:
    """Where the HTML comment opened by the `<!--` at `start` ends (None: it does not)."""
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


# Headings and sections of a proposal.


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 1-based
    body: str  # the section's own text up to the next heading of any level
    required_in: str | None  # GEP marker: the status from which this section is required


def headings(text: str) -> list[Heading]:
    lines = split_lines(text)
    found: list[tuple[int, str, int]] = []
    heading = Kind.HEADING
    for index in [i for i, kind in enumerate(kinds(lines)) if kind is heading]:
        match = _HEADING_TEXT.match(lines[index])
        assert match is not None  # a line the scanner calls a heading
        title = (match[2] or "").rstrip(" \t#").strip()  # without a closing run of `#`
        found.append((len(match[1]), title, index + 1))
    result = []
    for index, (level, title, line_no) in enumerate(found):
        end = found[index + 1][2] - 1 if index + 1 < len(found) else len(lines)
        body = "\n".join(lines[line_no:end])
        marker = None
        if "[required_in]" in body:
            marker = next(
                (m.group("status") for m in map(_REQUIRED_IN.match, body.splitlines()) if m), None
            )
        result.append(Heading(level, title, line_no, body, marker))
    return result


def normalise(title: str) -> str:
    """Compare headings loosely: case, punctuation, emphasis and "(Optional)" do not matter."""
    title = re.sub(r"\(optional\)", "", title, flags=re.I)
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def has_content(body: str) -> bool:
    """A section counts as written when it has text other than markers and comments."""
    text = _without_comments(body)
    return any(line.strip() and not _REQUIRED_IN.match(line.strip()) for line in text.splitlines())


def _without_comments(text: str) -> str:
    """`text` without its complete HTML comments (an unclosed `<!--` is text)."""
    kept, position = [], 0
    while (opening := text.find("<!--", position)) >= 0:
        closing = comment_end(text, opening)
        if closing is None:
            break
        kept.append(text[position:opening])
        position = closing
    kept.append(text[position:])
    return "".join(kept)


def first_h1(text: str) -> Heading | None:
    return next((h for h in headings(text) if h.level == 1), None)


def status_bullet(text: str) -> tuple[str, int] | None:
    """Gateway API's `* Status: X` line near the top of index.md, with its line."""
    for number, line in enumerate(text.splitlines()[:40], start=1):
        match = _STATUS_BULLET.match(line)
        if match:
            return match.group("status"), number
    return None


def set_status_bullet(text: str, status: str) -> str:
    """`text` with its `* Status:` line saying `status` (unchanged when it has none)."""
    found = status_bullet(text)
    if found is None or found[0] == status:
        return text
    lines = text.splitlines(keepends=True)
    index = found[1] - 1
    old = lines[index]
    ending = old[len(old.rstrip("\r\n")) :]
    prefix = old[: old.index("Status:") + len("Status:")]
    lines[index] = f"{prefix} {status}{ending}"
    return "".join(lines)
