"""Editing YAML metadata with the smallest diff.

This module owns `edit_yaml`: it rewrites only the span of the one key it changes (an
inline value in place, a whole entry from its key line to its value's last line, or a
new entry after the mapping's last value), keeping indentation, list style, quoting
style, trailing comments and line endings; and `add_list_item`, which appends one item
to a nested list (a GEP's `relationships.extendedBy`) by adding lines only. Every edit
is read back before it is returned.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .base import Field, FormatError, NewValue, newline_of
from .yaml_load import Document, Source, is_null, load_document
from .yaml_read import read_yaml
from .yaml_scalars import render_scalar
from .yaml_spans import (
    colon_after,
    column,
    comment_after,
    ending_at,
    ends_in_block_scalar,
    last_line_end,
    line_content_end,
    line_start,
)

_DEFAULT_LIST_INDENT = 2


def edit_yaml(text: str, key: str, value: NewValue, newline: str | None = None) -> str:
    """Set top-level `key` to `value`, changing only that key's line(s).

    `newline` is the ending for added lines when `text` has none to copy (front
    matter passes its file's). The result is read back; a mismatch is a FormatError.
    """
    doc = load_document(text, 0)
    eol = newline or newline_of(text)
    if doc.root is None:
        edited = _append_to_empty(text, _entry_lines(key, value, 0, None), eol)
    else:
        edited = _edit_mapping(doc, doc.root, key, value, eol)
    _check_read_back(edited, key, value)
    return edited


def _edit_mapping(doc: Document, root: MappingNode, key: str, value: NewValue, eol: str) -> str:
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


def _single_line_scalar(src: Source, key_node: Node, value_node: Node) -> bool:
    if not isinstance(value_node, ScalarNode) or value_node.style in ("|", ">"):
        return False
    start, end = src.index(key_node.start_mark), src.index(value_node.end_mark)
    return "\n" not in src.text[start:end]


def _replace_inline(
    src: Source, key_node: Node, value_node: ScalarNode, value: str | None, in_flow: bool
) -> str:
    """Rewrite a one-line scalar in place: only the value's characters change."""
    text = src.text
    colon = colon_after(text, src.index(key_node.end_mark), str(key_node.value))
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
    doc: Document, root: MappingNode, key_node: Node, value_node: Node, value: NewValue
) -> str:
    """Replace the key's whole span (key line to the value's last line) with new lines."""
    text, src = doc.src.text, doc.src
    key_start = src.index(key_node.start_mark)
    key_line = line_start(text, key_start)
    indent = text[key_line:key_start]
    colon = colon_after(text, src.index(key_node.end_mark), str(key_node.value))
    if indent.strip(" \t"):
        raise FormatError(
            f"cannot edit {key_node.value!r}: it does not start its line",
            src.line(key_node.start_mark),
        )
    stop = last_line_end(value_node, src)
    comment = comment_after(text, colon + 1)
    if not comment and not _is_block_collection(value_node):
        comment = comment_after(text, src.index(value_node.end_mark))
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
    eol = ending_at(text, stop) or newline_of(text)
    return text[:key_line] + eol.join(lines) + text[stop:]


def _is_block_collection(node: Node) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style


def _list_prefix(doc: Document, root: MappingNode, own: Node | None) -> tuple[int, int]:
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
        key_column = column(text, src.index(keys[id(node)].start_mark))
        gap = first - dash - 1 if "\n" not in text[dash:first] and first > dash + 1 else 1
        return max(column(text, dash) - key_column, 0), gap
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


def _append_entry(doc: Document, root: MappingNode, key: str, value: NewValue, eol: str) -> str:
    """Add an absent key after the last line holding a value of the top-level mapping.

    Trailing comments and blank lines stay after the new entry. One exception: a
    `|`/`>` block scalar that ends the file without a final newline would gain one
    (and so a "\n" in its value), so the new entry goes before the last key instead.
    """
    src, text = doc.src, doc.src.text
    if root.flow_style:
        raise FormatError(f"cannot add {key!r} to a `{{...}}` mapping", src.line(root.start_mark))
    indent = column(text, src.index(root.start_mark))
    lines = _entry_lines(key, value, indent, _list_prefix(doc, root, None))
    end = last_line_end(root, src)
    if end == len(text) and ends_in_block_scalar(root, src):
        before = line_start(text, src.index(root.value[-1][0].start_mark))
        return text[:before] + eol.join(lines) + eol + text[before:]
    return _insert_after_line(text, end, lines, eol)


def _insert_after_line(text: str, index: int, lines: list[str], eol: str) -> str:
    end = line_content_end(text, index)
    ending = ending_at(text, end)
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


# -- adding an item to a nested list --------------------------------------------------------

_MAPPING_INDENT = 2


def add_list_item(
    text: str, keys: tuple[str, ...], item: dict[str, str], newline: str | None = None
) -> str:
    """Append `item` (a mapping of strings) to the block list at `keys` (nested keys).

    Only new lines are added, after the list's last item; a key on the way that is absent
    is added after its mapping's last line, and a list or mapping written empty (`[]`,
    `{}`, nothing) loses that value and gets its lines below. Indentation and list style
    follow the file. A list or mapping written `[a, b]` / `{a: b}` with entries cannot
    be extended so (FormatError). The result is read back and must hold exactly the old
    metadata with `item` appended.
    """
    if not keys or not item:
        raise ValueError("add_list_item needs a key path and a non-empty item")
    doc = load_document(text, 0)
    eol = newline or newline_of(text)
    if doc.root is None:
        edited = _append_to_empty(text, _nested_lines(keys, item, 0, None), eol)
    else:
        edited = _add_in_mapping(doc, doc.root, keys, item, eol)
    expected = _with_item(_plain(read_yaml(text).fields), keys, item)
    if _plain(read_yaml(edited).fields) != expected:
        raise FormatError(
            f"cannot add to {'.'.join(keys)}: the edited metadata would not read back"
        )
    return edited


def _add_in_mapping(
    doc: Document, mapping: MappingNode, keys: tuple[str, ...], item: dict[str, str], eol: str
) -> str:
    text, src = doc.src.text, doc.src
    key, rest = keys[0], keys[1:]
    entry = next(
        ((k, v) for k, v in mapping.value if isinstance(k, ScalarNode) and k.value == key), None
    )
    if entry is None:
        if mapping.flow_style:
            raise FormatError(
                f"cannot add {key!r} to a `{{...}}` mapping", src.line(mapping.start_mark)
            )
        indent = column(text, src.index(mapping.start_mark))
        lines = _nested_lines(keys, item, indent, _list_prefix(doc, mapping, None))
        end = last_line_end(mapping, src)
        if end == len(text) and ends_in_block_scalar(mapping, src):
            before = line_start(text, src.index(mapping.value[-1][0].start_mark))
            return text[:before] + eol.join(lines) + eol + text[before:]
        return _insert_after_line(text, end, lines, eol)
    key_node, value_node = entry
    if rest and isinstance(value_node, MappingNode) and value_node.value:
        if value_node.flow_style:
            raise FormatError(
                f"cannot add to {key!r}: it is written as `{{...}}`", src.line(key_node.start_mark)
            )
        return _add_in_mapping(doc, value_node, rest, item, eol)
    if not rest and isinstance(value_node, SequenceNode) and value_node.value:
        if value_node.flow_style:
            raise FormatError(
                f"cannot add to {key!r}: it is written as `[...]`", src.line(key_node.start_mark)
            )
        return _append_to_sequence(doc, value_node, item, eol)
    if not _written_empty(value_node, bool(rest)):
        kind = "a mapping" if rest else "a list"
        raise FormatError(f"cannot add to {key!r}: it is not {kind}", src.line(key_node.start_mark))
    # `key: []`, `key: {}` or `key:` alone: drop the empty value, the new lines go below.
    key_column = column(text, src.index(key_node.start_mark))
    colon = colon_after(text, src.index(key_node.end_mark), str(key_node.value))
    start, end = src.index(value_node.start_mark), src.index(value_node.end_mark)
    if end > start:
        cut = start
        while cut > colon + 1 and text[cut - 1] in " \t":
            cut -= 1
        text = text[:cut] + text[end:]
    prefix = _list_prefix(doc, mapping, None)
    if rest:
        lines = _nested_lines(rest, item, key_column + _MAPPING_INDENT, prefix)
    else:
        lines = _item_lines(item, key_column + prefix[0], prefix[1])
    return _insert_after_line(text, colon, lines, eol)


def _written_empty(node: Node, mapping: bool) -> bool:
    if isinstance(node, ScalarNode):
        return is_null(node)
    expected = MappingNode if mapping else SequenceNode
    return isinstance(node, expected) and not node.value


def _append_to_sequence(
    doc: Document, sequence: SequenceNode, item: dict[str, str], eol: str
) -> str:
    text, src = doc.src.text, doc.src
    dash = src.index(sequence.start_mark)
    first = src.index(sequence.value[0].start_mark)
    gap = first - dash - 1 if "\n" not in text[dash:first] and first > dash + 1 else 1
    lines = _item_lines(item, column(text, dash), gap)
    return _insert_after_line(text, last_line_end(sequence, src), lines, eol)


def _item_lines(item: dict[str, str], dash_column: int, gap: int) -> list[str]:
    """`- key: value` and the item's other keys aligned under the first."""
    inner = " " * (dash_column + 1 + gap)
    lines = []
    for index, (key, value) in enumerate(item.items()):
        lead = " " * dash_column + "-" + " " * gap if index == 0 else inner
        lines.append(f"{lead}{render_scalar(key)}: {render_scalar(value)}")
    return lines


def _nested_lines(
    keys: tuple[str, ...], item: dict[str, str], indent: int, list_prefix: tuple[int, int] | None
) -> list[str]:
    """`keys[0]:`, each further key indented below it, then the list holding `item`."""
    offset, gap = list_prefix or (_DEFAULT_LIST_INDENT, 1)
    lines = []
    for depth, key in enumerate(keys):
        lines.append(" " * (indent + depth * _MAPPING_INDENT) + render_scalar(key) + ":")
    last = indent + (len(keys) - 1) * _MAPPING_INDENT
    return lines + _item_lines(item, last + offset, gap)


Plain = str | None | list["Plain"] | dict[str, "Plain"]


def _plain(fields: dict[str, Field]) -> dict[str, Plain]:
    return {key: _plain_value(field.value) for key, field in fields.items()}


def _plain_value(value: object) -> Plain:
    if isinstance(value, dict):
        return _plain(value)
    if isinstance(value, list):
        return [_plain_value(item) for item in value]
    return value if isinstance(value, str) else None


def _with_item(
    data: dict[str, Plain], keys: tuple[str, ...], item: dict[str, str]
) -> dict[str, Plain]:
    """`data` with `item` appended to the list at `keys` (created where absent or empty)."""
    key, rest = keys[0], keys[1:]
    current = data.get(key)
    updated = dict(data)
    if rest:
        inner = current if isinstance(current, dict) else {}
        updated[key] = _with_item(inner, rest, item)
    else:
        items = list(current) if isinstance(current, list) else []
        updated[key] = [*items, dict(item)]
    return updated
