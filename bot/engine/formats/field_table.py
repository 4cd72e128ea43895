"""Field table: the `| Field | Value |` markdown table under a proposal's `# Title` (kplane KPEPs).

This module owns that format. The table is the first one after the first `# ` heading
(before any other heading); each row below the `|---|---|` line is one field. The key
is the first cell with `**` removed, the value the second cell with a trailing
`<!-- comment -->` set aside, one pair of surrounding backticks removed and `\\|`
unescaped; an empty cell reads as None (so setting "" is the same as setting None).
Editing rewrites only the value cell of the key's row, keeping its backticks, comment
and padding (an aligned cell stays as wide when the new text fits); an absent key
becomes a new row after the last one, styled like it. A list is written joined by ", ".
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

EXPECTED_TITLE = "expected a `# KPEP-NNNN: Title` heading followed by a `| Field | Value |` table"
EXPECTED_TABLE = "expected a `| Field | Value |` table under the `# Title` heading"
_TITLE = re.compile(r" {0,3}#[ \t]")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
# Rows come from untrusted pull requests, so no pattern here may backtrack; the
# separator line and trailing comments are taken apart by hand.
_SEPARATOR_CELL = re.compile(r":?-+:?")
_CODE = re.compile(r"`(?P<inner>[^`]+)`")


@dataclass(frozen=True)
class _Row:
    """One table line: its 0-based index, text without ending, and the cells' spans."""

    index: int
    body: str
    cells: list[tuple[int, int]]

    def raw(self, column: int) -> str:
        start, end = self.cells[column]
        return self.body[start:end]

    @property
    def key(self) -> str:
        return self.raw(0).strip(" \t").replace("**", "").strip(" \t")

    @property
    def value(self) -> str | None:
        return _decode(self.raw(1))

    def with_cells(self, raws: list[str]) -> str:
        return self.body[: self.cells[0][0]] + "|".join(raws) + self.body[self.cells[-1][1] :]


def _split_cells(body: str) -> list[tuple[int, int]]:
    """Spans of the cells between unescaped pipes (a missing closing pipe is allowed)."""
    pipes = [i for i, char in enumerate(body) if char == "|" and body[i - 1 : i] != "\\"]
    spans = list(zip([p + 1 for p in pipes], pipes[1:], strict=False))
    if pipes and body[pipes[-1] + 1 :].strip(" \t"):
        spans.append((pipes[-1] + 1, len(body)))
    return spans


def _is_separator(body: str) -> bool:
    cells = body.strip(" \t").removeprefix("|").removesuffix("|").split("|")
    return all(_SEPARATOR_CELL.fullmatch(cell.strip(" \t")) for cell in cells)


def _split_value(content: str) -> tuple[str, str, bool]:
    """Cell content -> (text, trailing `<!-- -->` comment, whether the text was a code span)."""
    opening = content.find("<!--")
    if content.endswith("-->") and opening >= 0 and len(content) - opening >= len("<!---->"):
        cut = len(content[:opening].rstrip(" \t"))
        text, comment = content[:cut], content[cut:]
    else:
        text, comment = content, ""
    code = _CODE.fullmatch(text)
    return (code["inner"].strip(" \t"), comment, True) if code else (text, comment, False)


def _decode(raw: str) -> str | None:
    text = _split_value(raw.strip(" \t"))[0].replace("\\|", "|")
    return text or None


def _encode(value: str, backticks: bool) -> str:
    escaped = value.replace("|", "\\|")
    return f"`{escaped}`" if backticks and value and "`" not in value else escaped


def _padded(raw: str, content: str, aligned: bool) -> str:
    """`content` in the padding of the old cell `raw`; an aligned table keeps its width."""
    stripped = raw.strip(" \t")
    lead = raw[: len(raw) - len(raw.lstrip(" \t"))] if stripped else raw[:1]
    trail = raw[len(lead) + len(stripped) :] if stripped else raw[1:] or raw[:1]
    if aligned:  # keep the column width when the new text fits
        trail = " " * max(1, len(raw) - len(lead) - len(content))
    return lead + content + trail


@dataclass(frozen=True)
class _Table:
    last_index: int  # 0-based index of the last table line
    template: _Row  # the last data row (or the header row), for styling an added row
    rows: list[_Row]
    aligned: bool  # every line has its pipes in the same columns


def _find_table(lines: list[str]) -> _Table:
    bodies = [line_body(line)[0] for line in lines]
    if bodies:
        bodies[0] = bodies[0].removeprefix("\ufeff")  # line 1 is never a table row
    title = next((i for i, body in enumerate(bodies) if _TITLE.match(body)), None)
    if title is None:
        raise FormatError(EXPECTED_TITLE, 1)
    start = _table_start(bodies, title)
    if start + 1 >= len(bodies) or not _is_separator(bodies[start + 1]):
        raise FormatError("expected a `|---|---|` line under the table's header row", start + 2)
    rows: list[_Row] = []
    index = start + 2
    while index < len(bodies) and bodies[index].lstrip().startswith("|"):
        row = _Row(index, bodies[index], _split_cells(bodies[index]))
        if len(row.cells) < 2:
            raise FormatError("expected a `| **Key** | value |` row", index + 1)
        rows.append(row)
        index += 1
    header = _Row(start, bodies[start], _split_cells(bodies[start]))
    if len(header.cells) < 2:
        raise FormatError(EXPECTED_TABLE, start + 1)
    lines_cells = [header.cells, _split_cells(bodies[start + 1])] + [row.cells for row in rows]
    aligned = len({tuple(end - begin for begin, end in cells) for cells in lines_cells}) == 1
    return _Table(index - 1, rows[-1] if rows else header, rows, aligned)


def _table_start(bodies: list[str], title: int) -> int:
    """The first table line after the title, skipping prose and `<!-- -->` comments."""
    in_comment = False
    for index in range(title + 1, len(bodies)):
        body = bodies[index].strip()
        if in_comment or body.startswith("<!--"):
            in_comment = not body.endswith("-->")
            continue
        if body.startswith("|"):
            return index
        if _HEADING.match(bodies[index]):
            break
    raise FormatError(EXPECTED_TABLE, title + 1)


class FieldTable:
    """Markdown whose metadata is a two-column field table under the title."""

    name = "field-table"

    def parse(self, text: str) -> Metadata:
        table = _find_table(split_lines(text))
        metadata = Metadata(end_line=table.last_index + 1)
        for row in table.rows:
            field = Field(row.key, row.value, row.index + 1)
            if row.key in metadata.fields:
                metadata.duplicates.append(field)
            else:
                metadata.fields[row.key] = field
        return metadata

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        lines = split_lines(text)
        table = _find_table(lines)
        new_value = single_line_value(value)
        row = next((row for row in table.rows if row.key == key), None)
        if row is None:
            body = _new_row(table, key, new_value)
            _check(body, key, new_value)
            insert_line(lines, table.last_index + 1, body, newline_of(text))
            return "".join(lines)
        _, comment, backticks = _split_value(row.raw(1).strip(" \t"))
        content = (_encode(new_value, backticks) + comment) if new_value else comment.lstrip()
        raws = [row.raw(i) for i in range(len(row.cells))]
        raws[1] = _padded(raws[1], content, table.aligned)
        body = row.with_cells(raws)
        _check(body, key, new_value)
        lines[row.index] = body + line_body(lines[row.index])[1]
        return "".join(lines)


def _new_row(table: _Table, key: str, value: str) -> str:
    template = table.template
    bold = template.raw(0).strip().startswith("**") or not table.rows
    contents = [f"**{key}**" if bold else key, _encode(value, backticks=False)]
    contents += [""] * (len(template.cells) - 2)
    return template.with_cells(
        [_padded(template.raw(i), content, table.aligned) for i, content in enumerate(contents)]
    )


def _check(body: str, key: str, value: str) -> None:
    cells = _split_cells(body)
    row = _Row(0, body, cells)
    if len(cells) < 2 or row.key != key or row.value != (value or None):
        raise ValueError(f"{key}: {value!r} cannot be written as a field-table row")
