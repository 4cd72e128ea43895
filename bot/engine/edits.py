"""What a transition writes into a proposal's metadata (docs/design.md B3, I4).

This module owns the metadata edit of a transition: the status, the last-updated date
(or timestamp, in the form the file writes it), the value the transition's argument names
(`replace <ref>` → superseded-by) and the section files a transition adds to the list of
sections (`add-sections`). Every value goes through the layout's format `set_value`, which
changes only that key's line(s), so every other byte of the file stays as it was.
"""

from __future__ import annotations

import datetime

from bot.engine.config import Config, Transition
from bot.engine.formats import get_format
from bot.engine.formats.base import Metadata, MetadataFormat, NewValue
from bot.engine.process import find_transition
from bot.engine.schema import TIMESTAMP
from bot.engine.section_files import listed, sections_to_add

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
    file or the caller uses); the last-updated field (when the layout has one) to `today`
    (a datetime gives a timestamp field its time; `last_updated_text`); when `argument` is
    given, the logical field the transition to `status` names as its argument (when the
    layout has that field); and the sections the transition adds (`add-sections`) to the
    sections field. A text already in `status` is returned unchanged unless its transition
    to `status` adds sections it does not list yet (kepctl's PLAN), so applying an edit
    twice is the same as applying it once.

    Raises FormatError when the metadata cannot be read, and ValueError when `argument`
    is given but no transition to `status` takes one.
    """
    fmt = get_format(config.proposals.format)
    metadata = fmt.parse(text)
    fields = config.proposals.fields
    status = config.canonical_status(status) or status
    current = config.canonical_status(_text(metadata.get(fields.status)))
    added = sections_to_add(config, metadata, find_transition(config, current, status))
    if current == status and not added:
        return text  # already there (`draft` is `Draft` where the process ignores case)
    argument_field = _argument_field(config, current, status) if argument is not None else None
    edited = text if current == status else fmt.set_value(text, fields.status, status)
    if added and fields.sections is not None:
        edited = fmt.set_value(edited, fields.sections, [*listed(metadata, config), *added])
    if fields.last_updated is not None:
        stamp = last_updated_text(config, metadata, today)
        edited = fmt.set_value(edited, fields.last_updated, stamp)
    if argument is not None and argument_field is not None:
        key = getattr(fields, argument_field.replace("-", "_"), None)
        if key is not None:
            edited = _set_argument(config, fmt, edited, key, argument)
    return edited


def last_updated_text(config: Config, metadata: Metadata, today: datetime.date) -> str:
    """`today` as the last-updated field writes it: a date (`2026-11-01`), or, where the
    field holds a timestamp or the schema types it so, a timestamp in the form the file
    uses (`2018-12-09T01:37:52.328024Z`: the same separator, fraction digits and zone
    style), the time taken from `today` when it is a datetime (midnight UTC when not)."""
    key = config.proposals.fields.last_updated
    old = metadata.get(key) if key is not None else None
    form = TIMESTAMP.fullmatch(old.strip()) if isinstance(old, str) else None
    spec = config.schema_.keys.get(key) if key is not None else None
    if form is None and (spec is None or "timestamp" not in spec.types):
        day = today.date() if isinstance(today, datetime.datetime) else today
        return day.isoformat()
    if isinstance(today, datetime.datetime):
        aware = today if today.tzinfo is not None else today.replace(tzinfo=datetime.UTC)
        moment = aware.astimezone(datetime.UTC)
    else:
        moment = datetime.datetime.combine(today, datetime.time(), datetime.UTC)
    separator, digits, zone = "T", 6, "Z"
    if form is not None:
        separator = form["t"]
        digits = len(form["fraction"] or "")
        zone = form["zone"] if form["zone"] in ("Z", "z") else "+00:00"
    fraction = f"{moment.microsecond:06d}"[:digits].ljust(digits, "0")
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    return f"{text}.{fraction}{zone}" if digits else f"{text}{zone}"


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
