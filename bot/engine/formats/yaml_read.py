"""Reading a YAML mapping into proposal metadata, as Kubernetes' Go code reads it.

This module owns `read_yaml`: every scalar stays its exact source text (`0000`, `1.20`
and `true` stay strings; only a plain `null`, `~` or empty value is None), keys carry the
line they start on, and a key given twice is reported as a duplicate. Loading and its
safety limits are bot.engine.formats.yaml_load's.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .base import Field, FormatError, Metadata, Value
from .yaml_load import Source, is_null, load_document
from .yaml_spans import last_line_end


def read_yaml(text: str, line_offset: int = 0) -> Metadata:
    """Read a YAML mapping; line numbers are shifted by `line_offset` (front matter)."""
    doc = load_document(text, line_offset)
    if doc.root is None:
        return Metadata(end_line=line_offset + 1)
    duplicates: list[Field] = []
    fields = _build_mapping(doc.root, doc.src, duplicates)
    duplicates.sort(key=lambda field: field.line)
    end_line = doc.src.line_at(last_line_end(doc.root, doc.src))
    return Metadata(fields=fields, duplicates=duplicates, end_line=end_line)


def _build(node: Node, src: Source, duplicates: list[Field]) -> Value:
    if isinstance(node, ScalarNode):
        return None if is_null(node) else str(node.value)
    if isinstance(node, SequenceNode):
        return [_build(item, src, duplicates) for item in node.value]
    assert isinstance(node, MappingNode)
    return _build_mapping(node, src, duplicates)


def _build_mapping(node: MappingNode, src: Source, duplicates: list[Field]) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for key_node, value_node in node.value:
        key = _key_text(key_node, src)
        field = Field(key, _build(value_node, src, duplicates), src.line(key_node.start_mark))
        if key in fields:
            duplicates.append(field)
        else:
            fields[key] = field
    return fields


def _key_text(node: Node, src: Source) -> str:
    if not isinstance(node, ScalarNode):
        raise FormatError(
            "a mapping key must be a string, not a list or mapping", src.line(node.start_mark)
        )
    return str(node.value)
