"""YAML front matter: the metadata block between two `---` lines at the top of a markdown file.

This module owns finding that block (the first line must be `---`, the block ends at
the next `---` line) and hands the YAML in between to the `yaml` format's reader
(`yaml_read`) and editor (`yaml_edit`) with a line offset, so line numbers, duplicates,
safety limits and the minimal-diff edits are exactly those of a YAML file. The markdown
around the block is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import FormatError, Metadata, NewValue, line_body, newline_of, split_lines
from .yaml_edit import add_list_item, edit_yaml
from .yaml_read import read_yaml

FENCE = "---"
EXPECTED = (
    "expected YAML front matter: a `---` line at the top of the file, "
    "the metadata as YAML, then a closing `---` line"
)


@dataclass(frozen=True)
class _Parts:
    """The file cut around the YAML: `head` is the opening fence line, `tail` the rest."""

    head: str
    yaml: str
    tail: str


def _is_fence(line: str) -> bool:
    return line_body(line)[0].rstrip(" \t") == FENCE


def _split(text: str) -> _Parts:
    lines = split_lines(text)
    if not lines or not _is_fence(lines[0].removeprefix("\ufeff")):
        raise FormatError(EXPECTED, 1)
    for index in range(1, len(lines)):
        if _is_fence(lines[index]):
            return _Parts(lines[0], "".join(lines[1:index]), "".join(lines[index:]))
    raise FormatError("the front matter opened on line 1 is never closed by a `---` line", 1)


class FrontMatter:
    """Markdown with YAML front matter."""

    name = "front-matter"

    def parse(self, text: str) -> Metadata:
        return read_yaml(_split(text).yaml, line_offset=1)

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        parts = _split(text)
        edited = edit_yaml(parts.yaml, key, value, newline=newline_of(text))
        return parts.head + edited + parts.tail

    def add_list_item(self, text: str, keys: tuple[str, ...], item: dict[str, str]) -> str:
        """Append `item` to the list at the nested `keys`, adding lines only (yaml_edit)."""
        parts = _split(text)
        edited = add_list_item(parts.yaml, keys, item, newline=newline_of(text))
        return parts.head + edited + parts.tail
