"""The metadata formats a process can store proposal metadata in, by name.

This package owns the registry: `FORMATS` maps each format's name (as written in a
process configuration) to its stateless instance, and `get_format` looks one up.
"""

from __future__ import annotations

from .base import Field, FormatError, Metadata, MetadataFormat, NewValue, Value
from .field_table import FieldTable
from .front_matter import FrontMatter
from .header_lines import HeaderLines
from .yaml_file import YamlFile

FORMATS: dict[str, MetadataFormat] = {
    fmt.name: fmt for fmt in (YamlFile(), FrontMatter(), HeaderLines(), FieldTable())
}


def get_format(name: str) -> MetadataFormat:
    """The format called `name`; a ValueError lists the valid names otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        valid = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown metadata format {name!r}; valid formats: {valid}") from None


__all__ = [
    "FORMATS",
    "Field",
    "FieldTable",
    "FormatError",
    "FrontMatter",
    "HeaderLines",
    "Metadata",
    "MetadataFormat",
    "NewValue",
    "Value",
    "YamlFile",
    "get_format",
]
