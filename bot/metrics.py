"""Prometheus metrics: a small registry of labelled counters and gauges in the text format.

``Metrics`` holds kepbot's families. The server uses one instance per app (tests make their
own); code without access to the app (the GitHub client) records through the module-level
``github_request`` and ``rate_limit``, which use the process-wide ``default_metrics()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import ClassVar, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "REJECT_REASONS",
    "Counter",
    "Gauge",
    "Metrics",
    "Registry",
    "default_metrics",
    "github_request",
    "rate_limit",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Why a webhook request was refused; "overloaded" is a full queue or a server shutting down.
REJECT_REASONS = ("signature", "malformed", "oversize", "duplicate", "overloaded")

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


class _Family:
    kind: ClassVar[str]

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r}")
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        if not self.labelnames:
            self._values[()] = 0.0

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(
                f"{self.name} takes labels {list(self.labelnames)}, got {sorted(labels)}"
            )
        return tuple(str(labels[name]) for name in self.labelnames)

    def value(self, **labels: object) -> float:
        """The current value for these labels (0 when never recorded)."""
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for key in sorted(self._values):
            value = _format_value(self._values[key])
            if key:
                pairs = ",".join(
                    f'{name}="{_escape_label(label)}"'
                    for name, label in zip(self.labelnames, key, strict=True)
                )
                lines.append(f"{self.name}{{{pairs}}} {value}")
            else:
                lines.append(f"{self.name} {value}")
        return lines


_F = TypeVar("_F", bound=_Family)


class Counter(_Family):
    """A value that only goes up."""

    kind = "counter"

    def inc(self, amount: float = 1.0, /, **labels: object) -> None:
        if amount < 0:
            raise ValueError("a counter cannot decrease")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Family):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, /, **labels: object) -> None:
        self._values[self._key(labels)] = float(value)

    def inc(self, amount: float = 1.0, /, **labels: object) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, /, **labels: object) -> None:
        self.inc(-amount, **labels)


class Registry:
    """An ordered set of metric families rendered together."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def _add(self, family: _F) -> _F:
        if family.name in self._families:
            raise ValueError(f"metric {family.name} is already registered")
        self._families[family.name] = family
        return family

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labelnames))

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labelnames))

    def render(self) -> str:
        """The exposition in the Prometheus text format (version 0.0.4)."""
        lines: list[str] = []
        for family in self._families.values():
            lines.extend(family.render())
        return "\n".join(lines) + "\n"


class Metrics:
    """kepbot's metric families."""

    def __init__(self) -> None:
        registry = self.registry = Registry()
        self.deliveries = registry.counter(
            "kepbot_deliveries_total",
            "Authentic, well-formed webhook deliveries received, by event.",
            ["event"],
        )
        self.rejected = registry.counter(
            "kepbot_deliveries_rejected_total",
            "Webhook requests refused, by reason.",
            ["reason"],
        )
        for reason in REJECT_REASONS:
            self.rejected.inc(0, reason=reason)
        self.handled = registry.counter(
            "kepbot_handled_total", "Deliveries handled to completion, by event.", ["event"]
        )
        self.failed = registry.counter(
            "kepbot_failed_total",
            "Deliveries whose handling raised or was cancelled at shutdown, by event.",
            ["event"],
        )
        self.queue_depth = registry.gauge(
            "kepbot_queue_depth", "Deliveries accepted and waiting for a worker."
        )
        self.in_flight = registry.gauge("kepbot_in_flight", "Deliveries being handled now.")
        self.github_requests = registry.counter(
            "kepbot_github_requests_total", "Requests to the GitHub API, by status.", ["status"]
        )
        self.rate_limit_remaining = registry.gauge(
            "kepbot_github_rate_limit_remaining",
            "The last X-RateLimit-Remaining seen from GitHub, by installation.",
            ["installation"],
        )

    def github_request(self, status: int | str) -> None:
        """Count one GitHub API response (or e.g. ``"error"`` when none came)."""
        self.github_requests.inc(status=status)

    def rate_limit(self, installation: int | str, remaining: int) -> None:
        """Record the rate limit left for an installation (``"token"`` in token mode)."""
        self.rate_limit_remaining.set(remaining, installation=installation)

    def render(self) -> str:
        return self.registry.render()


_default: Metrics | None = None


def default_metrics() -> Metrics:
    """The process-wide metrics, created on first use."""
    global _default
    if _default is None:
        _default = Metrics()
    return _default


def github_request(status: int | str) -> None:
    """Count one GitHub API response in the process-wide metrics."""
    default_metrics().github_request(status)


def rate_limit(installation: int | str, remaining: int) -> None:
    """Record an installation's remaining rate limit in the process-wide metrics."""
    default_metrics().rate_limit(installation, remaining)
