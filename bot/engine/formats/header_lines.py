"""Header lines: `Key: value<br/>` lines at the top of a markdown file, above its `# Title`.

This module owns the format of the Kubernetes Agentic Networking proposals. Every
non-blank line above the first `# ` heading must be a `Key: value` line (normally
ending in `<br/>` so markdown renders one per line); the value is the text between
`Key: ` and `<br/>`, trimmed, and an empty value reads as None (so setting "" is the
same as setting None). Editing rewrites only the value part of the key's line,
keeping its `<br/>` and spacing; an absent key becomes one new line after the last
header line (before the title when there are none). A list is written joined by ", ".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import (
    Field,
    FormatError,
    Metadata,
    NewValue,
    insert_line,
    line_body,
    newline_of,
    single_line_value,
    split_lines,
)

EXPECTED = "expected `Key: value<br/>` header lines followed by a `# Title` heading"
_TITLE = re.compile(r" {0,3}#(?:[ \t]|$)")
# Lines come from untrusted pull requests, so no pattern here may backtrack: the key
# runs greedily to the first colon and the `<br/>` tail is cut off by hand.
_KEY = re.compile(r"(?P<key>[^\s:#<>|][^:<>|]*):(?P<gap>[ \t]*)")
_BREAK = re.compile(r"<br[ \t]*/?>")
_DEFAULT_TAIL = "<br/>"


@dataclass(frozen=True)
class _Line:
    """A header line cut into pieces; `head + gap + value + tail` is the line."""

    head: str  # the key as written and its colon
    gap: str
    value: str
    tail: str  # trailing spaces and the `<br/>`, if any

    @property
    def key(self) -> str:
        return self.head[:-1].rstrip(" \t")


@dataclass(frozen=True)
class _Header:
    index: int  # 0-based line index
    line: _Line


def _read_line(body: str) -> _Line | None:
    match = _KEY.match(body)
    if match is None:
        return None
    rest = body[match.end() :]
    trimmed = rest.rstrip(" \t")
    tag = trimmed.rfind("<br")
    if tag >= 0 and _BREAK.fullmatch(trimmed, tag):
        trimmed = trimmed[:tag].rstrip(" \t")
    value, tail = rest[: len(trimmed)], rest[len(trimmed) :]
    if value and not match["gap"]:
        return None  # "https://..." is not `Key: value`
    return _Line(body[: match.start("gap")], match["gap"], value, tail)


def _scan(lines: list[str]) -> list[_Header]:
    """The header lines above the title; anything else there is a FormatError."""
    headers: list[_Header] = []
    for index, line in enumerate(lines):
        body = line_body(line)[0].removeprefix("\ufeff") if index == 0 else line_body(line)[0]
        if _TITLE.match(body):
            return headers
        if not body.strip():
            continue
        header = _read_line(body)
        if header is None:
            raise FormatError(
                "expected a `Key: value<br/>` header line (all lines above the `# Title` "
                "must be header lines)",
                index + 1,
            )
        headers.append(_Header(index, header))
    raise FormatError(EXPECTED, 1)


class HeaderLines:
    """Markdown whose metadata is `Key: value<br/>` lines above the title."""

    name = "header-lines"

    def parse(self, text: str) -> Metadata:
        metadata = Metadata()
        for header in _scan(split_lines(text)):
            key = header.line.key
            field = Field(key, header.line.value or None, header.index + 1)
            if key in metadata.fields:
                metadata.duplicates.append(field)
            else:
                metadata.fields[key] = field
            metadata.end_line = header.index + 1
        return metadata

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        lines = split_lines(text)
        headers = _scan(lines)
        new_value = single_line_value(value)
        existing = next((header for header in headers if header.line.key == key), None)
        if existing is None:
            index = headers[-1].index + 1 if headers else 0
            insert_line(lines, index, _new_line(headers, key, new_value), newline_of(text))
        else:
            body, ending = line_body(lines[existing.index])
            lines[existing.index] = _edited_line(body, existing.line, key, new_value) + ending
        return "".join(lines)


def _new_line(headers: list[_Header], key: str, value: str) -> str:
    """`Key: value<br/>`, ending like the last header line when that has a `<br>`."""
    tail = headers[-1].line.tail.strip(" \t") if headers else ""
    body = f"{key}: {value}{tail or _DEFAULT_TAIL}"
    _check(body, key, value)
    return body


def _edited_line(body: str, old: _Line, key: str, value: str) -> str:
    """`body` (which may start with a BOM) with only its value replaced.

    A value that itself ends in `<br/>` needs a `<br/>` after it to read back, so a
    line without one gets one in that case.
    """
    bom = body[: len(body) - len(old.head + old.gap + old.value + old.tail)]
    head = old.head + (old.gap or (" " if value else "")) + value
    edited = head + old.tail
    if _read_back(edited) != (key, value or None) and not old.tail.strip(" \t"):
        edited = head + _DEFAULT_TAIL + old.tail
    _check(edited, key, value)
    return bom + edited


def _read_back(body: str) -> tuple[str, str | None] | None:
    line = _read_line(body)
    return None if line is None else (line.key, line.value or None)


def _check(body: str, key: str, value: str) -> None:
    if _read_back(body) != (key, value or None):
        raise ValueError(f"{key}: {value!r} cannot be written as a header line")
