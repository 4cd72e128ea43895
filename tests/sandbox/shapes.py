"""Shape checks for webhook payloads and REST responses: a strict JSON Schema (draft-07)
validator for the keywords octokit's schemas use, and a comparison with real examples.

`jsonschema` is not a dependency of the project, so the validator below covers exactly the
keywords found in shared/github/payloads/octokit-webhooks-schemas and refuses any other.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

IGNORED = {"$schema", "$id", "title", "description", "default", "examples", "readOnly"}
IGNORED |= {"tsAdditionalProperties"}
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
HANDLER_NAMES = {
    "allOf": "all_of",
    "oneOf": "one_of",
    "maxItems": "max_items",
    "minItems": "min_items",
    "maxLength": "max_length",
}
FREE_FORM = frozenset({"permissions", "custom_properties", "config"})
TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, TYPES[name])


@cache
def _read_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


class SchemaChecker:
    """Validates instances against schemas addressed by their `$id` under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, schema_id: str) -> dict[str, Any]:
        return _read_json(self.root / schema_id)

    def errors(self, instance: Any, schema_file: str) -> list[str]:
        schema = self.load(schema_file)
        return self._check(instance, schema, schema.get("$id", schema_file), "$")

    def _check(self, value: Any, schema: dict[str, Any], base: str, where: str) -> list[str]:
        problems: list[str] = []
        for keyword, rule in schema.items():
            if keyword in IGNORED or keyword in ("properties", "additionalProperties"):
                continue
            handler = getattr(self, "_" + HANDLER_NAMES.get(keyword, keyword.lstrip("$")), None)
            if handler is None:
                raise ValueError(f"unsupported schema keyword {keyword!r} at {base}")
            problems += handler(value, rule, schema, base, where)
        if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
            problems += self._object(value, schema, base, where)
        return problems

    def _ref(self, value: Any, rule: str, _: Any, base: str, where: str) -> list[str]:
        target = urljoin(base, rule)
        return self._check(value, self.load(target), target, where)

    def _type(self, value: Any, rule: str | list[str], _: Any, base: str, where: str) -> list[str]:
        names = [rule] if isinstance(rule, str) else rule
        if any(_is_type(value, name) for name in names):
            return []
        return [f"{where}: {value!r} is not of type {names}"]

    def _enum(self, value: Any, rule: list[Any], _: Any, base: str, where: str) -> list[str]:
        return [] if value in rule else [f"{where}: {value!r} not in {rule}"]

    def _const(self, value: Any, rule: Any, _: Any, base: str, where: str) -> list[str]:
        return [] if value == rule else [f"{where}: {value!r} != {rule!r}"]

    def _required(self, value: Any, rule: list[str], _: Any, base: str, where: str) -> list[str]:
        if not isinstance(value, dict):
            return []
        return [f"{where}: missing required {key!r}" for key in rule if key not in value]

    def _items(self, value: Any, rule: dict[str, Any], _: Any, base: str, where: str) -> list[str]:
        if not isinstance(value, list):
            return []
        return [
            p
            for i, item in enumerate(value)
            for p in self._check(item, rule, base, f"{where}[{i}]")
        ]

    def _all_of(self, value: Any, rule: list[Any], _: Any, base: str, where: str) -> list[str]:
        return [p for sub in rule for p in self._check(value, sub, base, where)]

    def _one_of(self, value: Any, rule: list[Any], _: Any, base: str, where: str) -> list[str]:
        outcomes = [self._check(value, sub, base, where) for sub in rule]
        passing = sum(1 for outcome in outcomes if not outcome)
        if passing == 1:
            return []
        detail = "; ".join(problem for outcome in outcomes for problem in outcome[:2])
        return [f"{where}: matches {passing} of oneOf ({detail})"]

    def _format(self, value: Any, rule: str, _: Any, base: str, where: str) -> list[str]:
        if not isinstance(value, str):
            return []
        if rule == "date-time" and not DATE_TIME.match(value):
            return [f"{where}: {value!r} is not a date-time"]
        if rule == "uri" and not re.match(r"^[a-z][a-z0-9+.-]*://", value):
            return [f"{where}: {value!r} is not a URI"]
        return []

    def _max_items(self, value: Any, rule: int, _: Any, base: str, where: str) -> list[str]:
        return [f"{where}: too many items"] if isinstance(value, list) and len(value) > rule else []

    def _min_items(self, value: Any, rule: int, _: Any, base: str, where: str) -> list[str]:
        return [f"{where}: too few items"] if isinstance(value, list) and len(value) < rule else []

    def _max_length(self, value: Any, rule: int, _: Any, base: str, where: str) -> list[str]:
        return [f"{where}: too long"] if isinstance(value, str) and len(value) > rule else []

    def _minimum(self, value: Any, rule: float, _: Any, base: str, where: str) -> list[str]:
        return [f"{where}: below minimum"] if _is_type(value, "number") and value < rule else []

    def _maximum(self, value: Any, rule: float, _: Any, base: str, where: str) -> list[str]:
        return [f"{where}: above maximum"] if _is_type(value, "number") and value > rule else []

    def _object(
        self, value: dict[str, Any], schema: dict[str, Any], base: str, where: str
    ) -> list[str]:
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        problems: list[str] = []
        for key, item in value.items():
            if key in properties:
                problems += self._check(item, properties[key], base, f"{where}.{key}")
            elif extra is False:
                problems.append(f"{where}: unexpected property {key!r}")
            elif isinstance(extra, dict):
                problems += self._check(item, extra, base, f"{where}.{key}")
        return problems


def json_kind(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _is_type(value, name):
            return "number" if name == "integer" else name
    raise TypeError(type(value))


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
