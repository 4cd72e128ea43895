"""Where things are in YAML source text, for edits that touch only the lines they must.

This module owns the position arithmetic the reader and the editor share: where a line
starts and where its content ends, the last line a value occupies (block collections and
block scalars included), the colon after a key, columns, trailing comments and line
endings.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .base import FormatError
from .yaml_load import Source


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_content_end(text: str, index: int) -> int:
    """Where the line holding `index` ends, before its "\\n" or "\\r\\n"."""
    end = text.find("\n", index)
    if end == -1:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def _last_leaf(node: Node) -> Node:
    """The node that ends `node` in the text: itself, or its block collections' last value."""
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node


def last_line_end(node: Node, src: Source) -> int:
    """The end of the content of the last line a value occupies.

    Block collections end (per PyYAML) where the next token starts, after any blank
    lines and comments, so the last leaf is used instead.
    """
    node = _last_leaf(node)
    text = src.text
    end = src.index(node.end_mark)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        start = src.index(node.start_mark)
        header = text[start : line_content_end(text, start)].split("#", 1)[0]
        if "+" in header and end > start and text[end - 1] == "\n":
            return line_content_end(text, end - 1)  # "keep" chomping owns trailing blanks
        end = len(text[start:end].rstrip()) + start
    return line_content_end(text, end)


def colon_after(text: str, key_end: int, key: str) -> int:
    colon = key_end
    while colon < len(text) and text[colon] in " \t":
        colon += 1
    if colon >= len(text) or text[colon] != ":":
        raise FormatError(
            f"cannot edit {key!r}: only `key: value` entries can be edited",
            text.count("\n", 0, key_end) + 1,
        )
    return colon


def column(text: str, index: int) -> int:
    return index - line_start(text, index)


def comment_after(text: str, index: int) -> str:
    rest = text[index : line_content_end(text, index)].strip(" \t")
    return " " + rest if rest.startswith("#") else ""


def ending_at(text: str, index: int) -> str:
    if text.startswith("\r\n", index):
        return "\r\n"
    return "\n" if text.startswith("\n", index) else ""


def ends_in_block_scalar(node: Node, src: Source) -> bool:
    """Whether the last leaf of `node` is a block scalar whose value keeps its last break."""
    node = _last_leaf(node)
    if not isinstance(node, ScalarNode) or node.style not in ("|", ">"):
        return False
    start = src.index(node.start_mark)
    header = src.text[start : line_content_end(src.text, start)].split("#", 1)[0]
    return "-" not in header
