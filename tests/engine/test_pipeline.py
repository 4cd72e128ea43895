"""Time in state and its distribution from status changes, with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.engine.pipeline import (
    DAY,
    Change,
    Stint,
    by_recency,
    carry,
    changes_from_snapshots,
    current_since,
    days_since,
    nearest_rank,
    summarize,
    timelines,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_snapshots_drop_repeats_and_unknown_removals() -> None:
    changes = changes_from_snapshots(
        [
            (day(0), {"a/kep.yaml": "provisional", "gone.yaml": None}),
            (day(1), {"a/kep.yaml": "provisional", "b/kep.yaml": "provisional"}),
            (day(3), {"a/kep.yaml": "implementable"}),
            (day(4), {"b/kep.yaml": None}),
        ]
    )
    assert changes == [
        Change("a/kep.yaml", "provisional", day(0)),
        Change("b/kep.yaml", "provisional", day(1)),
        Change("a/kep.yaml", "implementable", day(3)),
        Change("b/kep.yaml", None, day(4)),
    ]


def test_timeline_durations_and_time_in_current_state() -> None:
    changes = [
        Change("a", "provisional", day(0)),
        Change("a", "implementable", day(10)),
        Change("a", "provisional", day(12)),  # back again: time adds up
        Change("a", "implemented", day(15)),
        Change("b", "provisional", day(5)),
        Change("b", None, day(7)),
    ]
    lines = timelines(changes, now=day(20))
    a, b = lines["a"], lines["b"]
    assert a.status == "implemented" and a.since == day(15)
    assert a.in_current(day(20)) == 5 * DAY
    assert a.durations == {
        "provisional": 13 * DAY,
        "implementable": 2 * DAY,
        "implemented": 5 * DAY,
    }
    assert b.status is None and b.in_current(day(20)) is None
    assert b.durations == {"provisional": 2 * DAY}


def test_changes_out_of_order_are_sorted_by_date() -> None:
    lines = timelines(
        [Change("a", "implementable", day(4)), Change("a", "provisional", day(1))], now=day(6)
    )
    assert lines["a"].status == "implementable"
    assert lines["a"].durations == {"provisional": 3 * DAY, "implementable": 2 * DAY}


def test_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert nearest_rank(values, 0.9) == 9.0
    assert nearest_rank(values, 0.5) == 5.0
    assert nearest_rank([7.0], 0.9) == 7.0
    assert nearest_rank([3.0, 1.0, 2.0], 0.9) == 3.0
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


def test_summary_counts_and_distribution() -> None:
    changes = [Change(f"p{i}", "provisional", day(0)) for i in range(4)]
    changes += [Change(f"p{i}", "implementable", day(i + 1)) for i in range(3)]
    # provisional: 1, 2, 3 days (left) and 10 days (still there); implementable: 9, 8, 7 days
    summary = summarize(timelines(changes, now=day(10)).values())
    assert summary.counts == {"implementable": 3, "provisional": 1}
    prov = summary.per_status["provisional"]
    assert (prov.count, prov.median, prov.p90) == (4, 2.5 * DAY, 10 * DAY)
    impl = summary.per_status["implementable"]
    assert (impl.count, impl.median, impl.p90) == (3, 8 * DAY, 9 * DAY)


def test_current_since_is_the_oldest_commit_of_the_leading_run() -> None:
    d = [datetime(2024, 1, day, tzinfo=UTC) for day in (1, 5, 9, 20)]
    newest_first = [(d[3], "implementable"), (d[2], "implementable"), (d[1], "provisional")]
    assert current_since([*newest_first, (d[0], "implementable")]) == d[2]
    assert current_since([(d[3], "implemented")]) == d[3]
    assert current_since([(d[3], None), (d[2], "provisional")]) is None
    assert current_since([]) is None


def test_by_recency_puts_the_highest_numbers_first_and_the_unnumbered_last() -> None:
    keys = {
        "b/kep.yaml": by_recency("753", "b/kep.yaml"),
        "a/kep.yaml": by_recency("4000", "a/kep.yaml"),
        "n/kep.yaml": by_recency("NNNN", "n/kep.yaml"),
        "m/kep.yaml": by_recency(None, "m/kep.yaml"),
        "z/kep.yaml": by_recency("12", "z/kep.yaml"),
    }
    ordered = sorted(keys, key=keys.__getitem__)
    assert ordered == ["a/kep.yaml", "b/kep.yaml", "z/kep.yaml", "m/kep.yaml", "n/kep.yaml"]


def test_stints_carry_over_while_the_status_holds() -> None:
    before = {
        "a/kep.yaml": Stint("provisional", day(1)),
        "b/kep.yaml": Stint("implementable", day(2)),
        "c/kep.yaml": Stint("implemented", None, "not known"),
        "gone/kep.yaml": Stint("provisional", day(3)),
    }
    statuses = {
        "a/kep.yaml": "provisional",
        "b/kep.yaml": "implemented",
        "c/kep.yaml": "implemented",
        "new/kep.yaml": "provisional",
        "bare/kep.yaml": None,
    }
    kept, moved = carry(before, statuses)
    assert kept == {"a/kep.yaml": before["a/kep.yaml"], "c/kep.yaml": before["c/kep.yaml"]}
    assert moved == ["b/kep.yaml", "bare/kep.yaml", "new/kep.yaml"]
    assert carry({"x": Stint(None)}, {"x": None}) == ({"x": Stint(None)}, [])


def test_days_since_counts_whole_days_and_never_below_zero() -> None:
    assert days_since(day(2), day(20.99)) == 18
    assert days_since(day(2), day(3)) == 1
    assert days_since(day(3), day(2)) == 0
    assert days_since(None, day(2)) is None
