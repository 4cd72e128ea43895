"""Prometheus metrics: kepbot's counters and gauges on `prometheus_client`.

``Metrics`` holds kepbot's families in a registry of its own (the server uses one per
app, tests make their own; the library's global registry is never touched). Code without
access to the app (the GitHub client) records through the module-level ``github_request``
and ``rate_limit``, which use the process-wide ``default_metrics()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import prometheus_client
from prometheus_client import CollectorRegistry

__all__ = [
    "CONTENT_TYPE",
    "REJECT_REASONS",
    "Counter",
    "Gauge",
    "Metrics",
    "default_metrics",
    "github_request",
    "rate_limit",
]

# `generate_latest` writes the classic text format (its default escaping keeps names as
# they are), which every Prometheus server reads under this type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Why a webhook request was refused; "slow" is a body that did not arrive in time,
# "overloaded" a full queue or a server shutting down.
REJECT_REASONS = ("signature", "malformed", "oversize", "slow", "duplicate", "overloaded")


class _Family:
    """One metric family; labels are keyword arguments, as at every call site."""

    def __init__(
        self,
        metric: prometheus_client.Counter | prometheus_client.Gauge,
        registry: CollectorRegistry,
        sample: str,
    ) -> None:
        self._metric, self._registry, self._sample = metric, registry, sample

    def _child(
        self, labels: dict[str, object]
    ) -> prometheus_client.Counter | prometheus_client.Gauge:
        return self._metric.labels(**labels) if labels else self._metric

    def value(self, **labels: object) -> float:
        """The current value for these labels (0 when never recorded)."""
        found = self._registry.get_sample_value(
            self._sample, {name: str(value) for name, value in labels.items()}
        )
        return found or 0.0


class Counter(_Family):
    """A value that only goes up."""

    def inc(self, amount: float = 1.0, /, **labels: object) -> None:
        self._child(labels).inc(amount)


class Gauge(_Family):
    """A value that goes up and down."""

    def set(self, value: float, /, **labels: object) -> None:
        child = self._child(labels)
        assert isinstance(child, prometheus_client.Gauge)
        child.set(value)

    def inc(self, amount: float = 1.0, /, **labels: object) -> None:
        self._child(labels).inc(amount)

    def dec(self, amount: float = 1.0, /, **labels: object) -> None:
        self.inc(-amount, **labels)


class Metrics:
    """kepbot's metric families, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = self._counter(
            "kepbot_deliveries_total",
            "Authentic, well-formed webhook deliveries received, by event.",
            ["event"],
        )
        self.rejected = self._counter(
            "kepbot_deliveries_rejected_total", "Webhook requests refused, by reason.", ["reason"]
        )
        for reason in REJECT_REASONS:
            self.rejected.inc(0, reason=reason)
        self.handled = self._counter(
            "kepbot_handled_total", "Deliveries handled to completion, by event.", ["event"]
        )
        self.failed = self._counter(
            "kepbot_failed_total",
            "Deliveries whose handling raised or was cancelled at shutdown, by event.",
            ["event"],
        )
        self.queue_depth = self._gauge(
            "kepbot_queue_depth", "Deliveries accepted and waiting for a worker."
        )
        self.in_flight = self._gauge("kepbot_in_flight", "Deliveries being handled now.")
        self.github_requests = self._counter(
            "kepbot_github_requests_total", "Requests to the GitHub API, by status.", ["status"]
        )
        self.rate_limit_remaining = self._gauge(
            "kepbot_github_rate_limit_remaining",
            "The last X-RateLimit-Remaining seen from GitHub, by installation.",
            ["installation"],
        )

    def _counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        metric = prometheus_client.Counter(name, help_text, labels, registry=self.registry)
        return Counter(metric, self.registry, name)

    def _gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        metric = prometheus_client.Gauge(name, help_text, labels, registry=self.registry)
        return Gauge(metric, self.registry, name)

    def github_request(self, status: int | str) -> None:
        """Count one GitHub API response (or e.g. ``"error"`` when none came)."""
        self.github_requests.inc(status=status)

    def rate_limit(self, installation: int | str, remaining: int) -> None:
        """Record the rate limit left for an installation (``"token"`` in token mode)."""
        self.rate_limit_remaining.set(remaining, installation=installation)

    def render(self) -> str:
        """The exposition in the Prometheus text format."""
        return prometheus_client.generate_latest(self.registry).decode("utf-8")


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
