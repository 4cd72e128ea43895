"""Structured logs: one JSON object per line, carrying the context of the delivery being handled.

The context (delivery id, event, installation, repository) lives in a ``contextvars`` variable,
so every log line emitted while a delivery is handled, by any module, carries it. Nothing is
configured at import time: ``configure_logging`` is called once by ``python -m bot``.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "configure_logging",
    "current_context",
    "event_context",
    "log_context",
]

_EMPTY: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("kepbot_log_context", default=_EMPTY)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName", "context"}
)


def current_context() -> Mapping[str, object]:
    """The context fields in force here."""
    return _CONTEXT.get()


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields to every log line emitted inside the ``with`` block (``None`` values skipped)."""
    merged = dict(_CONTEXT.get())
    merged.update({key: value for key, value in fields.items() if value is not None})
    token = _CONTEXT.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def event_context(
    data: object, *, event: str | None = None, delivery: str | None = None
) -> dict[str, object]:
    """The context fields of a delivery: delivery id, event, action, installation, repository."""
    fields: dict[str, object] = {"delivery": delivery, "event": event}
    if isinstance(data, Mapping):
        action = data.get("action")
        if isinstance(action, str):
            fields["action"] = action
        installation = data.get("installation")
        if isinstance(installation, Mapping) and installation.get("id") is not None:
            fields["installation"] = installation["id"]
        repository = data.get("repository")
        if isinstance(repository, Mapping) and isinstance(repository.get("full_name"), str):
            fields["repository"] = repository["full_name"]
    return {key: value for key, value in fields.items() if value is not None}


class ContextFilter(logging.Filter):
    """Copy the context in force at emit time onto the record (``record.context``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context"):
            record.context = dict(_CONTEXT.get())
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = getattr(record, "context", None)
        if context is None:
            context = _CONTEXT.get()
        for key, value in context.items():
            entry.setdefault(key, value)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


_HANDLER_MARK = "_kepbot_handler"


def configure_logging(level: int | str = logging.INFO, *, stream: TextIO | None = None) -> None:
    """Log JSON lines to ``stream`` (stderr by default); replaces a handler set here before."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
