"""The `yaml` metadata format: a whole file that is one YAML mapping.

This module owns the format class for Kubernetes `kep.yaml` and Gateway API GEP
`metadata.yaml`. Reading is bot.engine.formats.yaml_read's (on the guarded loader of
yaml_load); editing, one top-level key at a time with the smallest diff, is yaml_edit's.
Front matter reuses the same reader and editor.
"""

from __future__ import annotations

from .base import Metadata, NewValue
from .yaml_edit import add_list_item, edit_yaml
from .yaml_read import read_yaml


class YamlFile:
    """A file that is one YAML mapping (`kep.yaml`, GEP `metadata.yaml`)."""

    name = "yaml"

    def parse(self, text: str) -> Metadata:
        return read_yaml(text)

    def set_value(self, text: str, key: str, value: NewValue) -> str:
        return edit_yaml(text, key, value)

    def add_list_item(self, text: str, keys: tuple[str, ...], item: dict[str, str]) -> str:
        """Append `item` to the list at the nested `keys`, adding lines only (yaml_edit)."""
        return add_list_item(text, keys, item)
