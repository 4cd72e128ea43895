"""When a comment period ends and what it has left: the edges of pauses by concerns
(overlapping, nested, still open, raised at the very end) and of business days."""

import datetime

import pytest

from bot.engine.periods import Concern, ends_at, find_open, open_concerns, remaining

UTC = datetime.UTC
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = datetime.timedelta(days=1)
ZERO = datetime.timedelta(0)


def at(days: float) -> datetime.datetime:
    return T0 + datetime.timedelta(days=days)


def concern(raised: float, resolved: float | None = None, name: str = "c") -> Concern:
    if resolved is None:
        return Concern(name, "bob", at(raised))
    return Concern(name, "bob", at(raised), "carol", at(resolved))


def test_overlapping_concerns_merge_and_a_later_separate_one_still_pauses() -> None:
    concerns = [concern(1, 3), concern(2, 4), concern(6, 9)]
    assert ends_at(T0, 10, concerns) == at(16), "paused 1-4 and 6-9"
    assert remaining(T0, 10, concerns, at(5)) == 8 * DAY
    assert remaining(T0, 10, concerns, at(7)) == 7 * DAY, "paused since day 6"
    assert remaining(T0, 10, concerns, at(12)) == 4 * DAY


def test_a_concern_inside_another_pauses_only_as_long_as_the_outer_one() -> None:
    assert ends_at(T0, 10, [concern(1, 5), concern(2, 3)]) == at(14)


def test_overlapping_concerns_with_one_still_open_hold_the_period() -> None:
    later_open = [concern(1, 3), concern(2)]
    earlier_open = [concern(1), concern(2, 4)]
    for concerns in (later_open, earlier_open):
        assert ends_at(T0, 10, concerns) is None
        assert remaining(T0, 10, concerns, at(50)) == 9 * DAY, "it keeps what it had at day 1"


def test_concerns_raised_together_pause_together_whichever_is_resolved_first() -> None:
    one_open = [concern(1, 3, "a"), concern(1, name="b")]
    assert ends_at(T0, 10, one_open) is None
    assert ends_at(T0, 10, list(reversed(one_open))) is None
    assert remaining(T0, 10, one_open, at(5)) == 9 * DAY
    both_resolved = [concern(1, 3, "a"), concern(1, 2, "b")]
    assert ends_at(T0, 10, both_resolved) == at(12)


def test_concerns_raised_before_the_period_pause_it_from_its_start() -> None:
    before = [concern(-5, 2, "a"), concern(-3, name="b")]
    assert ends_at(T0, 10, before) is None
    assert ends_at(T0, 10, [concern(-5, 2, "a"), concern(-3, 4, "b")]) == at(14)


def test_adjacent_concerns_pause_back_to_back() -> None:
    assert ends_at(T0, 10, [concern(1, 3), concern(3, 5)]) == at(14)


def test_a_concern_raised_the_moment_the_period_ends_is_too_late() -> None:
    late = [concern(10)]
    assert ends_at(T0, 10, late) == at(10)
    assert remaining(T0, 10, late, at(10)) == ZERO
    assert ends_at(T0, 10, [concern(9.5)]) is None, "half a day earlier it holds the period"


def test_a_period_that_ran_out_before_a_concern_has_nothing_left() -> None:
    late = [concern(11)]
    assert remaining(T0, 10, late, at(12)) == ZERO
    assert remaining(T0, 10, [concern(11, 12)], at(13)) == ZERO


def test_a_concern_resolved_when_the_period_started_does_not_pause_it() -> None:
    early = [concern(-3, 0)]
    assert ends_at(T0, 10, early) == at(10)
    assert remaining(T0, 10, early, at(4)) == 6 * DAY


def test_the_time_left_is_frozen_while_paused_and_runs_again_after() -> None:
    concerns = [concern(2, 5)]
    assert remaining(T0, 10, concerns, at(2)) == 8 * DAY
    assert remaining(T0, 10, concerns, at(4)) == 8 * DAY
    assert remaining(T0, 10, concerns, at(5)) == 8 * DAY
    assert remaining(T0, 10, concerns, at(6)) == 7 * DAY
    assert remaining(T0, 10, [], at(30)) == ZERO


def test_business_days_before_a_pause_count_only_on_weekdays() -> None:
    friday = at(4)  # Friday 09:00
    concerns = [Concern("c", "bob", at(8), "carol", at(9))]  # Tuesday to Wednesday 09:00
    # Friday, Monday and Tuesday morning are two business days before the pause; the three
    # left run Wednesday, Thursday and Friday, and end on Monday 09:00.
    assert ends_at(friday, 5, concerns, business_days=True) == at(14)
    assert remaining(friday, 5, concerns, at(8.5), business_days=True) == 3 * DAY
    assert remaining(friday, 5, concerns, at(10), business_days=True) == 2 * DAY


def test_a_business_day_walk_is_bounded() -> None:
    assert ends_at(T0, 5000, [], business_days=True) == at(7000)
    with pytest.raises(ValueError, match=r"^a comment period longer than ten years$"):
        ends_at(T0, 5300, [], business_days=True)


def test_find_open_matches_an_open_concern_by_name_without_case() -> None:
    naming, api = concern(1, name="Naming"), concern(2, 3, name="api")
    concerns = [naming, api]
    assert find_open(concerns, "NAMING") is naming
    assert find_open(concerns, "api") is None, "resolved"
    assert find_open(concerns, "other") is None
    assert open_concerns(concerns) == [naming]
