"""Comment periods and concerns: when a started period ends, worked out from timestamps.

A transition with a `period` is not made by its verb: `fcp <verb>` starts a comment period
(once the transition's quorum has given it), and when the period has run its length with no
concern open, the transition happens. A concern (`concern NAME`) pauses the period from the
moment it is raised until it is resolved (`resolve NAME`); the time it was open does not
count. With `business-days`, only time on Monday to Friday (UTC) counts.

Nothing here keeps time: every function takes the moments it needs, so the same history
gives the same answer on any instance, before or after a restart.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

DAY = datetime.timedelta(days=1)
SATURDAY = 5
_MAX_WALK_DAYS = 3660  # a period cannot outrun ten years of pauses


@dataclass
class Concern:
    """A named objection raised on the pull request; open until someone resolves it."""

    name: str
    raised_by: str
    raised_at: datetime.datetime
    resolved_by: str | None = None
    resolved_at: datetime.datetime | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


def open_concerns(concerns: Sequence[Concern]) -> list[Concern]:
    return [c for c in concerns if c.open]


def find_open(concerns: Sequence[Concern], name: str) -> Concern | None:
    """The open concern called `name` (names are compared without case)."""
    return next((c for c in concerns if c.open and c.name.lower() == name.lower()), None)


def _pauses(
    concerns: Sequence[Concern], since: datetime.datetime
) -> list[tuple[datetime.datetime, datetime.datetime | None]]:
    """The stretches after `since` when some concern was open, merged, oldest first."""
    # By start only: two concerns raised together (one comment, or both before the period
    # started) share a start, and an open one has no end to compare with a resolved one's.
    spans = sorted(
        (
            (max(c.raised_at, since), c.resolved_at)
            for c in concerns
            if c.resolved_at is None or c.resolved_at > since
        ),
        key=lambda span: span[0],
    )
    merged: list[tuple[datetime.datetime, datetime.datetime | None]] = []
    for start, end in spans:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                later = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, later)
                continue
        merged.append((start, end))
    return merged


def _countable(
    start: datetime.datetime, end: datetime.datetime, business_days: bool
) -> datetime.timedelta:
    """The time between `start` and `end` that counts towards a period."""
    if end <= start:
        return datetime.timedelta(0)
    if not business_days:
        return end - start
    counted = datetime.timedelta(0)
    cursor = start
    while cursor < end:
        midnight = datetime.datetime.combine(
            cursor.date() + DAY, datetime.time(), tzinfo=cursor.tzinfo
        )
        stop = min(end, midnight)
        if cursor.weekday() < SATURDAY:
            counted += stop - cursor
        cursor = stop
    return counted


def _advance(
    start: datetime.datetime, needed: datetime.timedelta, business_days: bool
) -> datetime.datetime:
    """The moment at which `needed` countable time has passed since `start`."""
    if not business_days:
        return start + needed
    cursor = start
    for _ in range(_MAX_WALK_DAYS * 2):
        midnight = datetime.datetime.combine(
            cursor.date() + DAY, datetime.time(), tzinfo=cursor.tzinfo
        )
        if cursor.weekday() < SATURDAY:
            if cursor + needed <= midnight:
                return cursor + needed
            needed -= midnight - cursor
        cursor = midnight
    raise ValueError("a comment period longer than ten years")


def ends_at(
    started: datetime.datetime,
    days: float,
    concerns: Sequence[Concern],
    *,
    business_days: bool = False,
) -> datetime.datetime | None:
    """When a period of `days` started at `started` ends, given the concerns known so far;
    None while a concern is open and the period has not run out before it was raised."""
    needed = datetime.timedelta(days=days)
    cursor = started
    for pause_start, pause_end in _pauses(concerns, started):
        running = _countable(cursor, pause_start, business_days)
        if running >= needed:
            break
        needed -= running
        if pause_end is None:
            return None
        cursor = max(cursor, pause_end)
    return _advance(cursor, needed, business_days)


def remaining(
    started: datetime.datetime,
    days: float,
    concerns: Sequence[Concern],
    now: datetime.datetime,
    *,
    business_days: bool = False,
) -> datetime.timedelta:
    """The countable time still to run at `now` (a paused period keeps what it had left)."""
    needed = datetime.timedelta(days=days)
    cursor = started
    for pause_start, pause_end in _pauses(concerns, started):
        if pause_start >= now:
            break
        needed -= _countable(cursor, pause_start, business_days)
        if pause_end is None or pause_end >= now:
            return max(needed, datetime.timedelta(0))
        cursor = max(cursor, pause_end)
    needed -= _countable(cursor, now, business_days)
    return max(needed, datetime.timedelta(0))
