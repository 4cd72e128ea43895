"""What a transition writes into a proposal's metadata (docs/design.md B3, I4).

This module owns the metadata edit of a transition: the status, the last-updated date
and the value the transition's argument names (`replace <ref>` → superseded-by). Every
value goes through the layout's format `set_value`, which changes only that key's
line(s), so every other byte of the file stays as it was.
"""

from __future__ import annotations

import datetime

from bot.engine.config import Config, Transition
from bot.engine.formats import get_format
from bot.engine.formats.base import Metadata, MetadataFormat, NewValue
from bot.engine.process import find_transition

# Formats whose values are single lines of text: a list is written as one string.
_TEXT_FORMATS = frozenset({"header-lines", "field-table"})


def transition_edit(
    config: Config,
    text: str,
    *,
    status: str,
    today: datetime.date,
    argument: str | None = None,
) -> str:
    """`text` (a proposal's metadata file) moved to `status`.

    Sets the status, written as the configuration names it (`Approved`, whatever case the
    file or the caller uses); the last-updated field (when the layout has one) to `today`;
    and, when `argument` is given, the logical field the transition to `status` names as
    its argument (when the layout has that field). A text already in `status` is returned
    unchanged, so applying an edit twice is the same as applying it once.

    Raises FormatError when the metadata cannot be read, and ValueError when `argument`
    is given but no transition to `status` takes one.
    """
    fmt = get_format(config.proposals.format)
    metadata = fmt.parse(text)
    fields = config.proposals.fields
    status = config.canonical_status(status) or status
    current = config.canonical_status(_text(metadata.get(fields.status)))
    if current == status:
        return text  # already there (`draft` is `Draft` where the process ignores case)
    argument_field = _argument_field(config, current, status) if argument is not None else None
    edited = fmt.set_value(text, fields.status, status)
    if fields.last_updated is not None:
        edited = fmt.set_value(edited, fields.last_updated, today.isoformat())
    if argument is not None and argument_field is not None:
        key = getattr(fields, argument_field.replace("-", "_"), None)
        if key is not None:
            edited = _set_argument(config, fmt, edited, key, argument)
    return edited


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _argument_field(config: Config, current: str | None, status: str) -> str:
    """The logical field the transition to `status` writes its argument to."""
    legal = find_transition(config, current, status)
    candidates: list[Transition] = [legal] if legal is not None else []
    candidates += [t for t in config.transitions if t.to == status]
    for transition in candidates:
        if transition.argument is not None:
            return transition.argument
    raise ValueError(f"no transition to {status!r} takes an argument")


def _set_argument(config: Config, fmt: MetadataFormat, text: str, key: str, value: str) -> str:
    return fmt.set_value(text, key, _shaped(config, fmt.parse(text), key, value))


def _shaped(config: Config, metadata: Metadata, key: str, value: str) -> NewValue:
    """`value` as a one-item list where the key holds a list, else as a string."""
    if config.proposals.format in _TEXT_FORMATS:
        return value
    current = metadata.get(key)
    if isinstance(current, list):
        return [value]
    if isinstance(current, str):
        return value
    spec = config.schema_.keys.get(key)
    return [value] if spec is not None and spec.type == "list" else value
