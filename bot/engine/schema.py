"""Checks metadata against the preset's schema: known keys, duplicates, types, enums, dates,
timestamps and UUIDs."""

from __future__ import annotations

import datetime
import difflib
import re
import uuid

from bot.engine.config import KeySpec, MetadataSchema
from bot.engine.findings import Collector
from bot.engine.formats.base import Field, Metadata, Value

# What Go's yaml.v3 accepts for a bool field, YAML 1.1 spellings included.
BOOLEANS = {
    *("true", "True", "TRUE", "false", "False", "FALSE"),
    *("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"),
    *("n", "N", "no", "No", "NO", "off", "Off", "OFF"),
}


def check_metadata(out: Collector, path: str, metadata: Metadata, schema: MetadataSchema) -> None:
    for dup in metadata.duplicates:
        out.add(
            "schema.duplicate-key", path, dup.line, f"key {dup.key!r} is defined more than once"
        )
    _check_required(out, path, metadata, schema)
    _check_mapping(out, path, metadata.fields, schema.keys, schema.strict, "")


def _check_required(out: Collector, path: str, metadata: Metadata, schema: MetadataSchema) -> None:
    """A required key must have a value, as Go's `validate:"required"` reads it.

    A missing key, null and "" have none (`schema.required`). An empty list or mapping is
    present, which is enough for Go's validator; it is reported apart (`schema.empty`) so
    that a process can make it a warning.
    """
    required = [key for key, spec in schema.keys.items() if spec.required]
    for key in required:
        value = metadata.get(key)
        line = metadata.line_of(key)
        if value is None or value == "":
            state = "has no value" if key in metadata.fields else "is missing"
            out.add(
                "schema.required",
                path,
                line,
                f"required key {key!r} {state} (required: {', '.join(required)})",
            )
        elif isinstance(value, list | dict) and not value:
            out.add(
                "schema.empty",
                path,
                line,
                f"required key {key!r} is an empty {_kind(value)[2:]}: give at least one entry",
            )


def _check_mapping(
    out: Collector,
    path: str,
    fields: dict[str, Field],
    specs: dict[str, KeySpec],
    strict: bool,
    where: str,
) -> None:
    for key, item in fields.items():
        spec = specs.get(key)
        if spec is None:
            if strict:
                out.add("schema.unknown-key", path, item.line, _unknown_key(where, key, specs))
            continue
        _check_value(out, path, item, spec, f"{where}{key}")


_PYTHON_TYPES = {
    "string": str,
    "date": str,
    "timestamp": str,
    "uuid": str,
    "bool": str,
    "list": list,
    "mapping": dict,
}


def _check_value(out: Collector, path: str, item: Field, spec: KeySpec, name: str) -> None:
    value = item.value
    types = spec.types
    if value is None or "any" in types:
        return
    matching = [kind for kind in types if isinstance(value, _PYTHON_TYPES[kind])]
    if not matching:
        described = " or ".join(dict.fromkeys(_describe(kind) for kind in types))
        out.add("schema.type", path, item.line, f"{name} must be {described}, not {_kind(value)}")
        return
    kind = "string" if "string" in matching else matching[0]
    if kind == "bool" and value not in BOOLEANS:
        out.add("schema.type", path, item.line, f"{name} must be true or false, not {value!r}")
    elif kind == "date" and isinstance(value, str) and not _is_date(value):
        out.add("schema.date", path, item.line, f"{name} {value!r} is not a date (YYYY-MM-DD)")
    elif kind == "timestamp" and isinstance(value, str) and not is_timestamp(value):
        out.add(
            "schema.timestamp",
            path,
            item.line,
            f"{name} {value!r} is not a timestamp (RFC 3339, e.g. 2018-12-09T01:37:52.328024Z)",
        )
    elif kind == "uuid" and isinstance(value, str) and not is_uuid(value):
        out.add("schema.uuid", path, item.line, f"{name} {value!r} is not a UUID")
    elif isinstance(value, str) and spec.enum is not None and value not in spec.enum:
        close = difflib.get_close_matches(value, spec.enum, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        out.add(
            "schema.enum",
            path,
            item.line,
            f"{name} {value!r} is not valid{hint} Valid: {', '.join(spec.enum)}",
        )
    elif isinstance(value, dict) and spec.keys is not None:
        _check_mapping(out, path, value, spec.keys, True, f"{name}.")
    elif isinstance(value, list):
        _check_items(out, path, item, value, spec, name)


def _check_items(
    out: Collector, path: str, item: Field, values: list[Value], spec: KeySpec, name: str
) -> None:
    inner = spec.items or KeySpec(type="string")
    for index, value in enumerate(values):
        # A mapping item starts on its first key's line; other items are one a line.
        first = next(iter(value.values())).line if isinstance(value, dict) and value else None
        line = first or item.line + 1 + index
        _check_value(out, path, Field(item.key, value, line), inner, f"{name}[{index}]")


def _unknown_key(where: str, key: str, specs: dict[str, KeySpec]) -> str:
    for parent, spec in specs.items():
        if spec.keys and key in spec.keys:
            return f"key {where + key!r} belongs under {parent!r}"
    close = difflib.get_close_matches(key, list(specs), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"unknown key {where + key!r}{hint} Valid: {', '.join(specs)}"


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return len(value.strip()) == 10


# RFC 3339's date-time, which Go's time.Time reads (kepctl's `created`, `last_updated`).
TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?P<t>[Tt])(?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d{2}:\d{2})"
)


def is_timestamp(value: str) -> bool:
    """An RFC 3339 date-time whose date and time exist (`2018-12-09T01:37:52.328024Z`)."""
    match = TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return False
    zone = match["zone"].upper()
    try:
        datetime.datetime.fromisoformat(
            f"{match['date']}T{match['time']}{'+00:00' if zone == 'Z' else zone}"
        )
    except ValueError:
        return False
    return True


def is_uuid(value: str) -> bool:
    """The 8-4-4-4-12 hexadecimal form, as kepctl's uuid.New().String() writes it."""
    text = value.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return False
    return str(parsed) == text.lower()


def _describe(kind: str) -> str:
    return {"list": "a list", "mapping": "a mapping", "bool": "true or false"}.get(kind, "a string")


def _kind(value: Value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a string"
