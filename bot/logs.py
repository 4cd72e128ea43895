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
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
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


class _Scope:
    """The ``with`` block of ``log_context`` (a class: it is entered once per delivery)."""

    __slots__ = ("_fields", "_token")

    def __init__(self, fields: dict[str, object]) -> None:
        self._fields = fields
        self._token: Token[Mapping[str, object]] | None = None

    def __enter__(self) -> None:
        merged = dict(_CONTEXT.get())
        merged.update({key: value for key, value in self._fields.items() if value is not None})
        self._token = _CONTEXT.set(MappingProxyType(merged))

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _CONTEXT.reset(self._token)
            self._token = None


def log_context(**fields: object) -> AbstractContextManager[None]:
    """Add fields to every log line emitted inside the ``with`` block (``None`` values skipped)."""
    return _Scope(fields)


def event_context(
    data: object, *, event: str | None = None, delivery: str | None = None
) -> dict[str, object]:
    """The context fields of a delivery: delivery id, event, action, installation, repository."""
    # `dict` first: decoded payloads are dicts, and the check against the ABC alone costs
    # several times as much (this runs for every delivery).
    fields: dict[str, object] = {"delivery": delivery, "event": event}
    if isinstance(data, (dict, Mapping)):
        action = data.get("action")
        if isinstance(action, str):
            fields["action"] = action
        installation = data.get("installation")
        if isinstance(installation, (dict, Mapping)) and installation.get("id") is not None:
            fields["installation"] = installation["id"]
        repository = data.get("repository")
        if isinstance(repository, (dict, Mapping)) and isinstance(repository.get("full_name"), str):
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

    # One line per delivery is written on the worker pool's hot path: the encoder is built
    # once, and the date and time up to the second once a second.
    _encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
    _second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        second = int(created)
        if self._second[0] != second:
            stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, stamp)
        milliseconds = min(int((created - second) * 1000), 999)
        return f"{self._second[1]}.{milliseconds:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = getattr(record, "context", None)
        if context is None:
            context = _CONTEXT.get()
        for key, value in context.items():
            entry.setdefault(key, value)
        attributes = record.__dict__
        for key in sorted(attributes.keys() - _STANDARD_ATTRS):
            if not key.startswith("_"):
                entry.setdefault(key, attributes[key])
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            entry["stack"] = record.stack_info
        return self._encode(entry)


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
    # The lines carry neither the caller's file and line nor the thread, process or task
    # names: do not look them up for every record (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12 and later
        logging.logAsyncioTasks = False
