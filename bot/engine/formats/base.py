"""The contract every metadata format implements: parse with line numbers, edit minimally."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# A metadata value as the engine sees it: scalars stay the exact text of the file
# (Kubernetes' Go code reads `0000` and `1.20` as strings), null/empty is None,
# sequences are lists and mappings are dicts of Field.
Value = str | None | list["Value"] | dict[str, "Field"]


class FormatError(ValueError):
    """The metadata cannot be read. `line` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Field:
    """One key of a metadata block: its value and the 1-based line the key stands on."""

    key: str
    value: Value
    line: int


@dataclass
class Metadata:
    """The parsed metadata of one proposal file.

    `fields` holds the top-level keys in file order (the first occurrence wins);
    `duplicates` the later occurrences of a repeated key, at any depth.
    `end_line` is the last line of the metadata block (for "add a key" edits and
    annotations on a missing key).
    """

    fields: dict[str, Field] = field(default_factory=dict)
    duplicates: list[Field] = field(default_factory=list)
    end_line: int = 1

    def get(self, key: str) -> Value:
        found = self.fields.get(key)
        return found.value if found else None

    def line_of(self, key: str) -> int:
        found = self.fields.get(key)
        return found.line if found else self.end_line


# What `set_value` accepts: a scalar string, None (written as an empty value), or a list of strings.
NewValue = str | None | list[str]


class MetadataFormat(Protocol):
    """A way of storing proposal metadata in a file."""

    name: str

    def parse(self, text: str) -> Metadata:
        """Read the metadata; raise FormatError (with a line) when it cannot be read."""
        ...

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        """Return `text` with top-level `key` set to `value`, changing only that key's line(s).

        A scalar change rewrites exactly one line, keeping the key's quoting style,
        indentation and trailing comment; an absent key is added as one new line
        (a list as a block) at the end of the metadata block. Every other byte,
        including line endings and the presence or absence of a final newline,
        stays the same.
        """
        ...


# Line helpers shared by the formats. A "line" is what GitHub numbers: text up to
# and including "\n" (so "\r\n" endings stay attached to their line).


def split_lines(text: str) -> list[str]:
    """Split `text` after every "\\n", keeping the endings; "".join() gives `text` back."""
    lines = text.split("\n")
    last = lines.pop()
    result = [line + "\n" for line in lines]
    if last:
        result.append(last)
    return result


def newline_of(text: str) -> str:
    """The line ending a file uses: that of its first line, "\\n" when it has none."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def line_body(line: str) -> tuple[str, str]:
    """Split one line into its content and its ending ("\\r\\n", "\\n" or "")."""
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""


def insert_line(lines: list[str], index: int, content: str, newline: str) -> None:
    """Insert `content` as line `index` (0-based) of `lines`, in place.

    Appending after a last line that has no ending gives that line the ending and
    leaves the new line without one, so the file keeps "no final newline".
    """
    if index == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
        lines.append(content)
    else:
        lines.insert(index, content + newline)


def single_line_value(value: NewValue) -> str:
    """The trimmed one-line text the markdown formats store ("" for None; lists joined by ", ")."""
    text = ", ".join(value) if isinstance(value, list) else (value or "")
    if "\n" in text or "\r" in text:
        raise ValueError(f"{text!r}: this format can only hold a single line of text")
    return text.strip(" \t")
