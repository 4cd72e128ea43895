"""YAML metadata: reading it as Kubernetes' Go code does, and editing it one key at a time.

This module owns the `yaml` format (a whole file of YAML: Kubernetes `kep.yaml`, Gateway
API GEP `metadata.yaml`) and the YAML machinery front matter reuses (`read_yaml`,
`edit_yaml`). Reading keeps every scalar as its exact source text (`0000`, `1.20` and
`true` stay strings; only a plain `null`, `~` or empty value is None), reports
duplicate keys, and refuses untrusted input that could hurt: more than 1 MiB, nesting
deeper than 50 levels, anchors and aliases. Editing rewrites only the span of the one
top-level key it changes, keeping indentation, quoting style, trailing comments and
line endings; every edit is read back before it is returned.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.events import ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from .base import Field, FormatError, Metadata, NewValue, Value, newline_of

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
ANCHORS_REFUSED = "anchors and aliases are not allowed in proposal metadata"

# Plain scalars Go's yaml.v3 (and YAML 1.1/1.2) read as null.
_NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
# Characters that cannot start a plain scalar (or would change its meaning there).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_SPECIAL = frozenset(",[]{}:")
_DOUBLE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\x07": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_DEFAULT_LIST_INDENT = 2
_UNTAGGED = "?"
_NULL_TAG = "tag:yaml.org,2002:null"


# --- Loading -------------------------------------------------------------------------


class _Refusal(Exception):
    """Raised inside the composer for input the bot will not read; carries the mark."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _GuardedComposer(Composer):
    """PyYAML's composer, refusing anchors, aliases and deep nesting before they build.

    The checks run on each event before its node is composed, so an alias bomb or a
    megabyte of `[` is refused after at most MAX_DEPTH levels. (libyaml's own C
    composer recurses without a limit and crashes the process on deep nesting, so only
    its parser is used.)
    """

    def __init__(self) -> None:
        Composer.__init__(self)  # not super(): the parser half's __init__ needs the text
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # Replaces Composer.compose_node: the same dispatch, minus alias handling and
        # path resolvers, plus the limits. Untagged scalars get YAML's "?" tag.
        event = self._peek()
        if getattr(event, "anchor", None) is not None:  # alias events always have one
            raise _Refusal(ANCHORS_REFUSED, event.start_mark)
        if isinstance(event, ScalarEvent):
            return _scalar_node(self._next())
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refusal(f"metadata is nested deeper than {MAX_DEPTH} levels", event.start_mark)
        node: Node
        if isinstance(event, SequenceStartEvent):
            node = self.compose_sequence_node(None)  # type: ignore[arg-type]
        else:
            node = self.compose_mapping_node(None)  # type: ignore[arg-type]
        self._depth -= 1
        return node

    # The parser half of the loader (libyaml's or PyYAML's) provides the events.
    def _peek(self) -> Any:
        return self.peek_event()  # type: ignore[attr-defined]

    def _next(self) -> Any:
        return self.get_event()  # type: ignore[attr-defined]


def _scalar_node(event: Any) -> ScalarNode:
    tag = _UNTAGGED if event.tag in (None, "!") else event.tag
    return ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)


class _PureLoader(_GuardedComposer, yaml.SafeLoader):
    """Pure-Python fallback: SafeLoader's reader, scanner and parser under the guard."""

    def __init__(self, text: str) -> None:
        yaml.SafeLoader.__init__(self, text)
        _GuardedComposer.__init__(self)


class _LoaderLike(Protocol):
    def get_single_node(self) -> Node | None: ...

    def dispose(self) -> None: ...


def _loader_class() -> Callable[[str], _LoaderLike]:
    if not yaml.__with_libyaml__:
        return _PureLoader  # pragma: no cover - libyaml is present where tests run
    from yaml._yaml import CParser

    class _FastLoader(_GuardedComposer, CParser, BaseResolver):
        """libyaml's parser (about 15x faster) feeding the guarded Python composer."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            BaseResolver.__init__(self)
            _GuardedComposer.__init__(self)

    return _FastLoader


_Loader = _loader_class()


class _Source:
    """The text being read and the mapping from PyYAML marks to GitHub line numbers.

    A leading BOM is cut before parsing (libyaml does not count it in mark indexes),
    so `index` adds it back. YAML also breaks lines at a lone "\\r", NEL, LS and PS;
    when the text holds any of those, lines are counted by "\\n" only, as GitHub does.
    """

    def __init__(self, text: str, line_offset: int) -> None:
        self.text = text
        self.bom = 1 if text.startswith("\ufeff") else 0
        self.line_offset = line_offset
        self._breaks: list[int] | None = None
        if not _yaml_breaks_match_github(text):
            self._breaks = [match.start() for match in re.finditer("\n", text)]

    def index(self, mark: Any) -> int:
        return int(mark.index) + self.bom

    def line(self, mark: Any) -> int:
        if self._breaks is None:
            return int(mark.line) + 1 + self.line_offset
        return self.line_at(self.index(mark))

    def line_at(self, index: int) -> int:
        if self._breaks is None:
            return self.text.count("\n", 0, index) + 1 + self.line_offset
        return bisect.bisect_left(self._breaks, index) + 1 + self.line_offset


def _yaml_breaks_match_github(text: str) -> bool:
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return False
    return text.count("\r") == text.count("\r\n")


@dataclass
class _Document:
    src: _Source
    root: MappingNode | None


def _load(text: str, line_offset: int) -> _Document:
    """Compose `text` under the safety limits; the top level must be a mapping."""
    src = _Source(text, line_offset)
    if len(text) > MAX_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise FormatError("metadata is larger than 1 MiB", 1 + line_offset)
    root = _compose(src)
    if root is None or _is_empty_scalar(root):
        return _Document(src, None)
    if not isinstance(root, MappingNode):
        raise FormatError(
            "the top level must be a mapping of keys to values", src.line(root.start_mark)
        )
    return _Document(src, root)


def _compose(src: _Source) -> Node | None:
    loader: _LoaderLike | None = None
    try:
        loader = _Loader(src.text[src.bom :])  # libyaml encodes the text here
        return loader.get_single_node()
    except _Refusal as refusal:
        raise FormatError(refusal.message, src.line(refusal.mark)) from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, src) from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(error, src) from None
    except yaml.YAMLError as error:
        raise FormatError(f"invalid YAML: {error}", src.line_offset + 1) from None
    except UnicodeError:
        raise FormatError(
            "the metadata is not valid Unicode text", _first_surrogate_line(src)
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _syntax_error(error: yaml.MarkedYAMLError, src: _Source) -> FormatError:
    mark = error.problem_mark or error.context_mark
    detail = ": ".join(part for part in (error.context, error.problem) if part)
    message = f"invalid YAML: {detail or 'unreadable'}"
    return FormatError(message, src.line(mark) if mark else src.line_offset + 1)


def _reader_error(error: yaml.reader.ReaderError, src: _Source) -> FormatError:
    # The position is a byte offset for libyaml and a character index otherwise; the
    # first occurrence of the offending character is the same place either way.
    char = error.character if isinstance(error.character, str) else chr(error.character)
    found = src.text.find(char)
    line = src.line_at(found) if found >= 0 else src.line_offset + 1
    return FormatError(f"invalid YAML: {error.reason} (character {ord(char):#x})", line)


def _first_surrogate_line(src: _Source) -> int:
    match = re.search("[\ud800-\udfff]", src.text)
    return src.line_at(match.start()) if match else src.line_offset + 1


def _is_empty_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and _is_null(node) and node.value == ""


def _is_null(node: ScalarNode) -> bool:
    implicit_null = node.tag == _UNTAGGED and _is_plain(node) and node.value in _NULL_WORDS
    return implicit_null or node.tag == _NULL_TAG


def _is_plain(node: ScalarNode) -> bool:
    return node.style in (None, "")


# --- Reading -------------------------------------------------------------------------


def read_yaml(text: str, line_offset: int = 0) -> Metadata:
    """Read a YAML mapping; line numbers are shifted by `line_offset` (front matter)."""
    doc = _load(text, line_offset)
    if doc.root is None:
        return Metadata(end_line=line_offset + 1)
    duplicates: list[Field] = []
    fields = _build_mapping(doc.root, doc.src, duplicates)
    duplicates.sort(key=lambda field: field.line)
    end_line = doc.src.line_at(_last_line_end(doc.root, doc.src))
    return Metadata(fields=fields, duplicates=duplicates, end_line=end_line)


def _build(node: Node, src: _Source, duplicates: list[Field]) -> Value:
    if isinstance(node, ScalarNode):
        return None if _is_null(node) else str(node.value)
    if isinstance(node, SequenceNode):
        return [_build(item, src, duplicates) for item in node.value]
    assert isinstance(node, MappingNode)
    return _build_mapping(node, src, duplicates)


def _build_mapping(node: MappingNode, src: _Source, duplicates: list[Field]) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for key_node, value_node in node.value:
        key = _key_text(key_node, src)
        field = Field(key, _build(value_node, src, duplicates), src.line(key_node.start_mark))
        if key in fields:
            duplicates.append(field)
        else:
            fields[key] = field
    return fields


def _key_text(node: Node, src: _Source) -> str:
    if not isinstance(node, ScalarNode):
        raise FormatError(
            "a mapping key must be a string, not a list or mapping", src.line(node.start_mark)
        )
    return str(node.value)


# --- Spans ---------------------------------------------------------------------------


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_content_end(text: str, index: int) -> int:
    """Where the line holding `index` ends, before its "\\n" or "\\r\\n"."""
    end = text.find("\n", index)
    if end == -1:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def _last_line_end(node: Node, src: _Source) -> int:
    """The end of the content of the last line a value occupies.

    Block collections end (per PyYAML) where the next token starts, after any blank
    lines and comments, so the last leaf is used instead.
    """
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    text = src.text
    end = src.index(node.end_mark)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        start = src.index(node.start_mark)
        header = text[start : _line_content_end(text, start)].split("#", 1)[0]
        if "+" in header and end > start and text[end - 1] == "\n":
            return _line_content_end(text, end - 1)  # "keep" chomping owns trailing blanks
        end = len(text[start:end].rstrip()) + start
    return _line_content_end(text, end)


def _colon_after(text: str, key_end: int, key: str) -> int:
    colon = key_end
    while colon < len(text) and text[colon] in " \t":
        colon += 1
    if colon >= len(text) or text[colon] != ":":
        raise FormatError(
            f"cannot edit {key!r}: only `key: value` entries can be edited",
            text.count("\n", 0, key_end) + 1,
        )
    return colon


def _column(text: str, index: int) -> int:
    return index - _line_start(text, index)


# --- Rendering scalars ---------------------------------------------------------------


def _printable_inline(char: str) -> bool:
    """YAML-printable and not a line break (NEL, LS, PS break lines in YAML)."""
    return (
        char == "\t"
        or " " <= char <= "~"
        or ("\xa0" <= char <= "\ud7ff" and char not in "\u2028\u2029")
        or ("\ue000" <= char <= "\ufffd" and char != "\ufeff")
        or char >= "\U00010000"
    )


def plain_ok(value: str, in_flow: bool = False) -> bool:
    """Whether `value` reads back as exactly this string when written plain."""
    if value in _NULL_WORDS or value != value.strip(" \t"):
        return False
    if value[0] in _INDICATORS or value.startswith("..."):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    if in_flow and any(char in _FLOW_SPECIAL for char in value):
        return False
    return all(char != "\t" and _printable_inline(char) for char in value)


def double_quoted(value: str) -> str:
    parts = []
    for char in value:
        if char in _DOUBLE_ESCAPES:
            parts.append(_DOUBLE_ESCAPES[char])
        elif _printable_inline(char):
            parts.append(char)
        elif char <= "\xff":
            parts.append(f"\\x{ord(char):02x}")
        elif char <= "\uffff":
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    return '"' + "".join(parts) + '"'


def _single_quoted(value: str) -> str | None:
    if not all(_printable_inline(char) for char in value):
        return None
    return "'" + value.replace("'", "''") + "'"


def render_scalar(value: str, style: str | None = None, in_flow: bool = False) -> str:
    """Write `value` in the old value's quoting style when that style can hold it."""
    if style == "'":
        single = _single_quoted(value)
        if single is not None:
            return single
    elif style != '"' and plain_ok(value, in_flow):
        return value
    return double_quoted(value)


# --- Editing -------------------------------------------------------------------------


def edit_yaml(text: str, key: str, value: NewValue, newline: str | None = None) -> str:
    """Set top-level `key` to `value`, changing only that key's line(s).

    `newline` is the ending for added lines when `text` has none to copy (front
    matter passes its file's). The result is read back; a mismatch is a FormatError.
    """
    doc = _load(text, 0)
    eol = newline or newline_of(text)
    if doc.root is None:
        edited = _append_to_empty(text, _entry_lines(key, value, 0, None), eol)
    else:
        edited = _edit_mapping(doc, doc.root, key, value, eol)
    _check_read_back(edited, key, value)
    return edited


def _edit_mapping(doc: _Document, root: MappingNode, key: str, value: NewValue, eol: str) -> str:
    entry = next(
        ((k, v) for k, v in root.value if isinstance(k, ScalarNode) and k.value == key), None
    )
    if entry is None:
        return _append_entry(doc, root, key, value, eol)
    key_node, value_node = entry
    if not isinstance(value, list) and _single_line_scalar(doc.src, key_node, value_node):
        return _replace_inline(doc.src, key_node, value_node, value, bool(root.flow_style))
    if root.flow_style:
        raise FormatError(
            f"cannot rewrite {key!r} inside a `{{...}}` mapping", doc.src.line(key_node.start_mark)
        )
    return _replace_entry(doc, root, key_node, value_node, value)


def _single_line_scalar(src: _Source, key_node: Node, value_node: Node) -> bool:
    if not isinstance(value_node, ScalarNode) or value_node.style in ("|", ">"):
        return False
    start, end = src.index(key_node.start_mark), src.index(value_node.end_mark)
    return "\n" not in src.text[start:end]


def _replace_inline(
    src: _Source, key_node: Node, value_node: ScalarNode, value: str | None, in_flow: bool
) -> str:
    """Rewrite a one-line scalar in place: only the value's characters change."""
    text = src.text
    colon = _colon_after(text, src.index(key_node.end_mark), str(key_node.value))
    start, end = src.index(value_node.start_mark), src.index(value_node.end_mark)
    if value is None and not in_flow:
        # `key:` (plus any comment) reads as None; drop the spaces before the old value.
        cut = start
        while cut > colon + 1 and text[cut - 1] in " \t":
            cut -= 1
        return text[:cut] + text[end:]
    rendered = "null" if value is None else render_scalar(value, value_node.style, in_flow)
    gap = "" if text[start - 1] in " \t" else " "
    return text[:start] + gap + rendered + text[end:]


def _replace_entry(
    doc: _Document, root: MappingNode, key_node: Node, value_node: Node, value: NewValue
) -> str:
    """Replace the key's whole span (key line to the value's last line) with new lines."""
    text, src = doc.src.text, doc.src
    key_start = src.index(key_node.start_mark)
    line_start = _line_start(text, key_start)
    indent = text[line_start:key_start]
    colon = _colon_after(text, src.index(key_node.end_mark), str(key_node.value))
    if indent.strip(" \t"):
        raise FormatError(
            f"cannot edit {key_node.value!r}: it does not start its line",
            src.line(key_node.start_mark),
        )
    stop = _last_line_end(value_node, src)
    comment = _comment_after(text, colon + 1)
    if not comment and not _is_block_collection(value_node):
        comment = _comment_after(text, src.index(value_node.end_mark))
    style = value_node.style if isinstance(value_node, ScalarNode) else None
    lines = _entry_lines(
        text[key_start:colon],
        value,
        len(indent),
        _list_prefix(doc, root, value_node),
        style,
        comment,
        quote_key=False,
    )
    eol = _ending_at(text, stop) or newline_of(text)
    return text[:line_start] + eol.join(lines) + text[stop:]


def _is_block_collection(node: Node) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style


def _comment_after(text: str, index: int) -> str:
    rest = text[index : _line_content_end(text, index)].strip(" \t")
    return " " + rest if rest.startswith("#") else ""


def _ending_at(text: str, index: int) -> str:
    if text.startswith("\r\n", index):
        return "\r\n"
    return "\n" if text.startswith("\n", index) else ""


def _list_prefix(doc: _Document, root: MappingNode, own: Node | None) -> tuple[int, int]:
    """How block lists are indented: (dash column relative to key, spaces after dash).

    The key's own old list wins, then the first block list among its siblings, then
    the common `  - ` style.
    """
    text, src = doc.src.text, doc.src
    candidates = ([] if own is None else [own]) + [value for _, value in root.value]
    keys = {id(value): key for key, value in root.value}
    for node in candidates:
        if not (isinstance(node, SequenceNode) and not node.flow_style and node.value):
            continue
        dash = src.index(node.start_mark)
        first = src.index(node.value[0].start_mark)
        key_column = _column(text, src.index(keys[id(node)].start_mark))
        gap = first - dash - 1 if "\n" not in text[dash:first] and first > dash + 1 else 1
        return max(_column(text, dash) - key_column, 0), gap
    return _DEFAULT_LIST_INDENT, 1


def _entry_lines(
    key_text: str,
    value: NewValue,
    indent: int,
    list_prefix: tuple[int, int] | None,
    style: str | None = None,
    comment: str = "",
    quote_key: bool = True,
) -> list[str]:
    """The lines of one `key: value` entry, without line endings."""
    head = " " * indent + (render_scalar(key_text) if quote_key else key_text) + ":"
    if value is None:
        return [head + comment]
    if isinstance(value, str):
        return [f"{head} {render_scalar(value, style)}{comment}"]
    if not value:
        return [f"{head} []{comment}"]
    offset, gap = list_prefix or (_DEFAULT_LIST_INDENT, 1)
    dash = " " * (indent + offset) + "-" + " " * gap
    return [head + comment] + [dash + render_scalar(item) for item in value]


def _append_entry(doc: _Document, root: MappingNode, key: str, value: NewValue, eol: str) -> str:
    """Add an absent key after the last line holding a value of the top-level mapping.

    Trailing comments and blank lines stay after the new entry. One exception: a
    `|`/`>` block scalar that ends the file without a final newline would gain one
    (and so a "\n" in its value), so the new entry goes before the last key instead.
    """
    src, text = doc.src, doc.src.text
    if root.flow_style:
        raise FormatError(f"cannot add {key!r} to a `{{...}}` mapping", src.line(root.start_mark))
    indent = _column(text, src.index(root.start_mark))
    lines = _entry_lines(key, value, indent, _list_prefix(doc, root, None))
    end = _last_line_end(root, src)
    if end == len(text) and _ends_in_block_scalar(root, src):
        before = _line_start(text, src.index(root.value[-1][0].start_mark))
        return text[:before] + eol.join(lines) + eol + text[before:]
    return _insert_after_line(text, end, lines, eol)


def _ends_in_block_scalar(node: Node, src: _Source) -> bool:
    """Whether the last leaf of `node` is a block scalar whose value keeps its last break."""
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    if not isinstance(node, ScalarNode) or node.style not in ("|", ">"):
        return False
    start = src.index(node.start_mark)
    header = src.text[start : _line_content_end(src.text, start)].split("#", 1)[0]
    return "-" not in header


def _insert_after_line(text: str, index: int, lines: list[str], eol: str) -> str:
    end = _line_content_end(text, index)
    ending = _ending_at(text, end)
    if not ending:  # last line without a final newline: keep it that way
        return text + eol + eol.join(lines)
    after = end + len(ending)
    return text[:after] + ending.join(lines) + ending + text[after:]


def _append_to_empty(text: str, lines: list[str], eol: str) -> str:
    block = eol.join(lines)
    if not text or text.endswith("\n"):
        return text + block + eol
    return text + eol + block


def _check_read_back(edited: str, key: str, value: NewValue) -> None:
    expected = list(value) if isinstance(value, list) else value
    if read_yaml(edited).get(key) != expected:
        raise FormatError(f"cannot write {key!r}: the edited metadata would not read back")


# --- The format ----------------------------------------------------------------------


class YamlFile:
    """A file that is one YAML mapping (`kep.yaml`, GEP `metadata.yaml`)."""

    name = "yaml"

    def parse(self, text: str) -> Metadata:
        return read_yaml(text)

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        return edit_yaml(text, key, value)
