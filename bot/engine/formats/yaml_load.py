"""Loading YAML safely, keeping where every node came from.

This module owns the guarded loader the `yaml` and front-matter formats read with: it
refuses input that could hurt (more than 1 MiB, nesting deeper than 50 levels, anchors
and aliases) before building it, keeps every scalar's exact source text and tag, maps
PyYAML's marks to the line numbers GitHub shows (`Source`), and turns every YAML error
into a FormatError on the right line.
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
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import BaseResolver

from .base import FormatError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
ANCHORS_REFUSED = "anchors and aliases are not allowed in proposal metadata"

# Plain scalars Go's yaml.v3 (and YAML 1.1/1.2) read as null.
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
_UNTAGGED = "?"
_NULL_TAG = "tag:yaml.org,2002:null"


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


class Source:
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
class Document:
    src: Source
    root: MappingNode | None


def load_document(text: str, line_offset: int) -> Document:
    """Compose `text` under the safety limits; the top level must be a mapping."""
    src = Source(text, line_offset)
    if len(text) > MAX_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise FormatError("metadata is larger than 1 MiB", 1 + line_offset)
    root = _compose(src)
    if root is None or _is_empty_scalar(root):
        return Document(src, None)
    if not isinstance(root, MappingNode):
        raise FormatError(
            "the top level must be a mapping of keys to values", src.line(root.start_mark)
        )
    return Document(src, root)


def _compose(src: Source) -> Node | None:
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


def _syntax_error(error: yaml.MarkedYAMLError, src: Source) -> FormatError:
    mark = error.problem_mark or error.context_mark
    detail = ": ".join(part for part in (error.context, error.problem) if part)
    message = f"invalid YAML: {detail or 'unreadable'}"
    return FormatError(message, src.line(mark) if mark else src.line_offset + 1)


def _reader_error(error: yaml.reader.ReaderError, src: Source) -> FormatError:
    # The position is a byte offset for libyaml and a character index otherwise; the
    # first occurrence of the offending character is the same place either way.
    char = error.character if isinstance(error.character, str) else chr(error.character)
    found = src.text.find(char)
    line = src.line_at(found) if found >= 0 else src.line_offset + 1
    return FormatError(f"invalid YAML: {error.reason} (character {ord(char):#x})", line)


def _first_surrogate_line(src: Source) -> int:
    match = re.search("[\ud800-\udfff]", src.text)
    return src.line_at(match.start()) if match else src.line_offset + 1


def _is_empty_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and is_null(node) and node.value == ""


def is_null(node: ScalarNode) -> bool:
    implicit_null = node.tag == _UNTAGGED and _is_plain(node) and node.value in NULL_WORDS
    return implicit_null or node.tag == _NULL_TAG


def _is_plain(node: ScalarNode) -> bool:
    return node.style in (None, "")
