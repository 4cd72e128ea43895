"""Process metrics from a repository's history: time each proposal spends in each status.

Input is a list of status changes — (metadata path, status, since) — as read from the
history of the metadata files; a status of None means the file was removed. A change to
the status a proposal already has is not a change. Output is, per proposal, the current
status, how long it has been in it, and the total time spent in every status it visited
(the current stint counted up to `now`); and, over all proposals, the counts by current
status and the median and p90 (nearest rank) of the time spent per status.

For the pipeline page, kept as the default branch moves: a `Stint` per proposal (its
status and since when), `carry` says which stints hold in the new state and which paths
moved, and `days_since` counts whole days.

Pure: no I/O, no clock (the caller passes `now`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Change",
    "Distribution",
    "Stint",
    "Summary",
    "Timeline",
    "by_recency",
    "carry",
    "changes_from_snapshots",
    "current_since",
    "days_since",
    "nearest_rank",
    "summarize",
    "timelines",
]

DAY = 86400.0


@dataclass(frozen=True)
class Change:
    """`path` has `status` from `since` on (None: the file was removed)."""

    path: str
    status: str | None
    since: datetime


@dataclass
class Timeline:
    """One proposal's statuses over time; durations are in seconds."""

    path: str
    status: str | None = None
    since: datetime | None = None
    durations: dict[str, float] = field(default_factory=dict)
    history: list[tuple[str | None, datetime]] = field(default_factory=list)

    def in_current(self, now: datetime) -> float | None:
        """Seconds in the current status, or None when the proposal has none (removed)."""
        if self.status is None or self.since is None:
            return None
        return (now - self.since).total_seconds()


@dataclass(frozen=True)
class Distribution:
    """Time spent in one status over the proposals that visited it, in seconds."""

    count: int
    median: float
    p90: float


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    per_status: dict[str, Distribution]


def changes_from_snapshots(
    snapshots: Iterable[tuple[datetime, Mapping[str, str | None]]],
) -> list[Change]:
    """Changes from (commit date, {path: status after the commit}) in history order.

    A snapshot may name only the files its commit touched; repeated statuses are dropped.
    """
    current: dict[str, str | None] = {}
    changes: list[Change] = []
    for when, statuses in snapshots:
        for path, status in sorted(statuses.items()):
            if current.get(path) == status and (path in current or status is None):
                continue
            current[path] = status
            changes.append(Change(path, status, when))
    return changes


@dataclass(frozen=True)
class Stint:
    """A proposal's current status and since when (`since` None: not known, `note` says why)."""

    status: str | None
    since: datetime | None = None
    note: str | None = None


def carry(
    before: Mapping[str, Stint], statuses: Mapping[str, str | None]
) -> tuple[dict[str, Stint], list[str]]:
    """The stints of `before` that still hold once the statuses are `statuses` (path ->
    status), and the paths whose status is new or changed, sorted: their stints begin
    somewhere between the two states and are the caller's to date. Paths gone are dropped.
    """
    kept: dict[str, Stint] = {}
    moved: list[str] = []
    for path, status in statuses.items():
        old = before.get(path)
        if old is not None and old.status == status:
            kept[path] = old
        else:
            moved.append(path)
    return kept, sorted(moved)


def days_since(since: datetime | None, now: datetime) -> int | None:
    """Whole days from `since` to `now` (0 for a `since` after `now`); None for None."""
    if since is None:
        return None
    return max(int((now - since).total_seconds() // DAY), 0)


def by_recency(number: str | None, path: str) -> tuple[int, str]:
    """A sort key: the highest number first (a cheap stand-in for the most recently active),
    then the unnumbered (a placeholder such as `NNNN` too), each group by path."""
    digits = (number or "").strip()
    return (-int(digits) if digits.isdigit() else 0, path)


def current_since(newest_first: Iterable[tuple[datetime, str | None]]) -> datetime | None:
    """When the current status began, from (commit date, status after it), newest first.

    The date of the oldest commit in the leading run with the newest status; None when there
    is no history or the newest status is None (removed). The caller decides whether the run
    reached the end of the history it read (a lower bound otherwise).
    """
    since: datetime | None = None
    current: str | None = None
    for index, (when, status) in enumerate(newest_first):
        if index == 0:
            if status is None:
                return None
            current = status
        elif status != current:
            break
        since = when
    return since


def timelines(changes: Iterable[Change], now: datetime) -> dict[str, Timeline]:
    """Each proposal's timeline; changes are applied in order of `since` (stable)."""
    found: dict[str, Timeline] = {}
    for change in sorted(changes, key=lambda c: c.since):
        line = found.setdefault(change.path, Timeline(change.path))
        if line.status == change.status and line.since is not None:
            continue
        _close(line, change.since)
        line.status, line.since = change.status, change.since
        line.history.append((change.status, change.since))
    for line in found.values():
        if line.status is not None and line.since is not None:
            line.durations[line.status] = line.durations.get(line.status, 0.0) + max(
                0.0, (now - line.since).total_seconds()
            )
    return found


def _close(line: Timeline, at: datetime) -> None:
    if line.status is None or line.since is None:
        return
    spent = max(0.0, (at - line.since).total_seconds())
    line.durations[line.status] = line.durations.get(line.status, 0.0) + spent


def nearest_rank(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with `fraction` of values at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(lines: Iterable[Timeline]) -> Summary:
    """Counts by current status and the distribution of time per status."""
    counts: Counter[str] = Counter()
    spent: dict[str, list[float]] = {}
    for line in lines:
        if line.status is not None:
            counts[line.status] += 1
        for status, seconds in line.durations.items():
            spent.setdefault(status, []).append(seconds)
    per_status = {
        status: Distribution(len(values), statistics.median(values), nearest_rank(values, 0.9))
        for status, values in sorted(spent.items())
    }
    return Summary(dict(sorted(counts.items())), per_status)
