"""Shape checks for webhook payloads: octokit's JSON Schemas (draft-07, validated by
`jsonschema`) and a comparison with real example deliveries."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT7

FREE_FORM = frozenset({"permissions", "custom_properties", "config"})


def _matches(pattern: str) -> Callable[[object], bool]:
    compiled = re.compile(pattern)
    return lambda value: not isinstance(value, str) or compiled.match(value) is not None


# Without its optional extras jsonschema leaves the two formats octokit uses unchecked.
FORMATS = FormatChecker()
FORMATS.checks("date-time")(_matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"))
FORMATS.checks("uri")(_matches(r"[a-z][a-z0-9+.-]*://"))


@cache
def _registry(root: Path) -> Registry[Any]:
    """The schema files under `root` by relative path, which is how octokit's `$ref`s name them."""
    return Registry().with_resources(
        (path.relative_to(root).as_posix(), DRAFT7.create_resource(json.loads(path.read_text())))
        for path in root.rglob("*.schema.json")
    )


class SchemaChecker:
    """Validates instances against the schema files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def errors(self, instance: Any, schema_file: str) -> list[str]:
        """One message per violation, located by JSON path (inside `oneOf`: the closest branch)."""
        registry = _registry(self.root)
        schema = registry.contents(schema_file)  # not a `$ref` to it: its own `$id` is the base
        validator = Draft7Validator(schema, registry=registry, format_checker=FORMATS)
        found = [best_match([error]) for error in validator.iter_errors(instance)]
        return sorted(f"{error.json_path}: {error.message}" for error in found)


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value, with integers counted as numbers."""
    kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
    kinds |= {list: "array", dict: "object", type(None): "null"}
    return kinds[type(value)]


def compare_to_examples(
    ours: Any,
    examples: list[Any],
    where: str = "$",
    *,
    closed: bool,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """Differences from real examples: every key all examples have must be present with a
    compatible JSON type; with `closed`, keys no example has are reported too. Top-level keys
    in `skip` are left to other checks."""
    known = [example for example in examples if example is not None]
    if ours is None or not known:
        return []
    kinds = {json_kind(example) for example in known}
    if json_kind(ours) not in kinds:
        return [f"{where}: {json_kind(ours)} where examples have {sorted(kinds)}"]
    problems: list[str] = []
    if isinstance(ours, dict):
        objects = [example for example in known if isinstance(example, dict)]
        always = set.intersection(*(set(example) for example in objects))
        anywhere = set.union(*(set(example) for example in objects))
        problems += [f"{where}: missing {key!r}" for key in sorted(always - set(ours) - skip)]
        if closed:
            problems += [
                f"{where}: unexpected {key!r}" for key in sorted(set(ours) - anywhere - skip)
            ]
        for key in sorted((set(ours) & anywhere) - skip):
            values = [example[key] for example in objects if key in example]
            if key in FREE_FORM:  # data keyed by name, not a fixed structure
                values = [{}] if isinstance(ours[key], dict) and values else values
                ours_value: Any = {} if isinstance(ours[key], dict) else ours[key]
                problems += compare_to_examples(ours_value, values, f"{where}.{key}", closed=False)
                continue
            problems += compare_to_examples(ours[key], values, f"{where}.{key}", closed=closed)
    elif isinstance(ours, list):
        items = [item for example in known if isinstance(example, list) for item in example]
        for index, item in enumerate(ours):
            problems += compare_to_examples(item, items, f"{where}[{index}]", closed=closed)
    return problems
