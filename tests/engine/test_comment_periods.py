"""Comment periods: when one ends (calendar and business days, paused by concerns), and how
replay starts, pauses, resumes, cancels and completes them from comment timestamps."""

import datetime
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.authorize import Spoken, replay
from bot.engine.commands import Command
from bot.engine.config import Config, ConfigError, Period, Transition, load_config, load_preset
from bot.engine.periods import Concern, _countable, ends_at, remaining
from bot.engine.roles import Grant

UTC = datetime.UTC
PATH = "keps/sig-node/1-x/kep.yaml"
APPROVERS = {"carol", "dave"}
REVIEWERS = {"bob"}
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = datetime.timedelta(days=1)


def at(days: float) -> datetime.datetime:
    return T0 + datetime.timedelta(days=days)


def test_a_calendar_period_without_concerns_ends_its_length_later() -> None:
    assert ends_at(T0, 10, []) == at(10)
    assert ends_at(T0, 0.5, []) == at(0.5)


def test_business_days_skip_the_weekend() -> None:
    friday_noon = datetime.datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
    assert ends_at(friday_noon, 1, [], business_days=True) == datetime.datetime(
        2026, 11, 9, 12, 0, tzinfo=UTC
    ), "Friday noon + 1 business day is Monday noon"
    assert ends_at(T0, 10, [], business_days=True) == at(14), "two whole weeks"
    saturday = datetime.datetime(2026, 11, 7, 15, 0, tzinfo=UTC)
    assert ends_at(saturday, 1, [], business_days=True) == datetime.datetime(
        2026, 11, 10, 0, 0, tzinfo=UTC
    ), "started on a weekend, it counts from Monday 00:00"


def test_a_resolved_concern_pauses_the_period_for_as_long_as_it_was_open() -> None:
    concern = Concern("naming", "bob", at(2), "bob", at(5))
    assert ends_at(T0, 10, [concern]) == at(13)


def test_an_open_concern_leaves_no_end_and_keeps_what_was_left() -> None:
    concern = Concern("naming", "bob", at(2))
    assert ends_at(T0, 10, [concern]) is None
    assert remaining(T0, 10, [concern], at(7)) == 8 * DAY
    assert remaining(T0, 10, [], at(7)) == 3 * DAY


def test_overlapping_and_early_concerns_are_counted_once() -> None:
    early = Concern("a", "bob", at(-3), "bob", at(1))  # raised before the period started
    one = Concern("b", "bob", at(2), "bob", at(6))
    two = Concern("c", "carol", at(4), "carol", at(8))
    assert ends_at(T0, 10, [early, one, two]) == at(10 + 1 + 6)


def test_a_concern_raised_after_the_end_changes_nothing() -> None:
    late = Concern("late", "bob", at(11))
    assert ends_at(T0, 10, [late]) == at(10)


moments = st.integers(min_value=0, max_value=60 * 24 * 40).map(
    lambda minutes: T0 + datetime.timedelta(minutes=minutes)
)


@given(
    start=moments,
    days=st.integers(min_value=1, max_value=20),
    business=st.booleans(),
    spans=st.lists(st.tuples(moments, st.integers(0, 60 * 24 * 9)), max_size=4),
)
def test_the_end_is_where_exactly_the_period_has_run_outside_pauses(
    start: datetime.datetime,
    days: int,
    business: bool,
    spans: list[tuple[datetime.datetime, int]],
) -> None:
    concerns = [
        Concern(f"c{i}", "bob", raised, "bob", raised + datetime.timedelta(minutes=open_for))
        for i, (raised, open_for) in enumerate(spans)
    ]
    end = ends_at(start, days, concerns, business_days=business)
    assert end is not None and end >= start + datetime.timedelta(days=days)
    assert remaining(start, days, concerns, end, business_days=business) == datetime.timedelta(0)
    minute = datetime.timedelta(minutes=1)
    left = remaining(start, days, concerns, end - minute, business_days=business)
    assert left > datetime.timedelta(0), "not a minute earlier"
    if not concerns:
        assert _countable(start, end, business) == datetime.timedelta(days=days)


# Replay


async def can(login: str, transition: Transition, path: str) -> Grant:
    """Carol and Dave are approvers; Bob is a reviewer; nobody else holds a role."""
    held = APPROVERS | (REVIEWERS if "reviewer" in transition.roles else set())
    return Grant("approver", login in held, f"{login} asked")


def with_period(days: float = 10, quorum: object = "any", business: bool = False) -> Config:
    config = load_preset("kep")
    period = Period(days=days, business_days=business)
    transitions = [
        t.model_copy(update={"period": period, "quorum": quorum}) if t.to == "implementable" else t
        for t in config.transitions
    ]
    return config.model_copy(update={"transitions": transitions})


def said(*items: tuple[str, str, float] | tuple[str, str, float, float]) -> list[Spoken]:
    """(login, text, day written[, day edited]) each, one comment each, in order."""
    found = []
    for i, item in enumerate(items, start=1):
        login, text, day = item[0], item[1], item[2]
        edited = at(item[3]) if len(item) == 4 else None  # type: ignore[misc]
        command = Command(text.split()[0], tuple(text.split()[1:]), 1, text)
        found.append(Spoken(login, (command,), i, at(day), edited))
    return found


async def status(config: Config, history: Sequence[Spoken], now: float) -> str | None:
    replayed = await replay(config, PATH, "provisional", history, can, ["carol", "dave"], at(now))
    return replayed.status


async def test_the_verb_alone_does_not_move_a_transition_with_a_period() -> None:
    config = with_period()
    replayed = await replay(config, PATH, "provisional", said(("carol", "approve", 0)), can)
    assert replayed.status == "provisional"
    assert replayed.steps[-1].action == "needs-period"


async def test_fcp_starts_the_period_and_it_ends_on_time() -> None:
    config = with_period()
    history = said(("carol", "fcp approve", 0))
    assert await status(config, history, 9.99) == "provisional"
    assert await status(config, history, 10) == "implementable"
    replayed = await replay(config, PATH, "provisional", history, can, (), at(10))
    end = replayed.steps[-1]
    assert end.action == "period-end" and end.applied and end.spoken.login == "carol"


async def test_the_period_waits_for_its_quorum_and_starts_at_the_last_vote() -> None:
    config = with_period(quorum="all")
    history = said(("carol", "fcp approve", 0), ("dave", "fcp approve", 3))
    assert await status(config, history[:1], 30) == "provisional", "one of two approvers"
    assert await status(config, history, 12.9) == "provisional"
    assert await status(config, history, 13) == "implementable"


async def test_a_concern_pauses_it_and_resolving_resumes_it() -> None:
    config = with_period()
    history = said(
        ("carol", "fcp approve", 0), ("bob", "concern naming", 2), ("bob", "resolve naming", 5)
    )
    assert await status(config, history[:2], 100) == "provisional", "open: never ends"
    assert await status(config, history, 12.9) == "provisional"
    assert await status(config, history, 13) == "implementable"


async def test_who_may_raise_and_resolve_concerns() -> None:
    config = with_period()
    history = said(
        ("carol", "fcp approve", 0),
        ("mallory", "concern spam", 1),  # no role: not raised
        ("bob", "concern naming", 2),
        ("mallory", "resolve naming", 3),  # neither raiser nor approver: still open
    )
    replayed = await replay(config, PATH, "provisional", history, can, (), at(50))
    assert [c.name for c in replayed.concerns] == ["naming"]
    assert replayed.concerns[0].open and replayed.status == "provisional"
    by_approver = [*history, *said(("dave", "resolve NAMING", 4))]
    by_approver[-1] = Spoken("dave", by_approver[-1].commands, 9, at(4))
    assert await status(config, by_approver, 12) == "implementable", "paused 2 days"


async def test_an_edit_cannot_backdate_a_start_or_a_resolve() -> None:
    config = with_period()
    history = said(("carol", "fcp approve", -20, 0))  # written 20 days ago, edited today
    assert await status(config, history, 9) == "provisional"
    assert await status(config, history, 10) == "implementable"


async def test_a_period_that_ran_out_applies_before_later_commands() -> None:
    config = with_period()
    history = said(("carol", "fcp approve", 0), ("bob", "concern late", 11))
    replayed = await replay(config, PATH, "provisional", history, can, (), at(12))
    assert replayed.status == "implementable"
    assert [s.action for s in replayed.steps] == ["fcp", "period-end"]


async def test_cancel_and_undo() -> None:
    config = with_period()
    cancelled = said(("carol", "fcp approve", 0), ("dave", "fcp cancel", 1))
    assert await status(config, cancelled, 30) == "provisional"
    refused = said(("carol", "fcp approve", 0), ("bob", "fcp cancel", 1))
    assert await status(config, refused, 30) == "implementable", "bob may not stop it"
    undone = said(("carol", "fcp approve", 0), ("carol", "undo", 11))
    assert await status(config, undone, 30) == "provisional", "the starter undoes the move"


async def test_dry_runs_are_not_votes() -> None:
    config = with_period()
    history = said(("carol", "fcp approve --dry-run", 0))
    assert await status(config, history, 30) == "provisional"


def test_a_transition_with_an_argument_cannot_have_a_period() -> None:
    text = (
        "extends: kep\ntransitions:\n"
        "  - {to: replaced, verbs: [replace], argument: superseded-by, period: {days: 3}}\n"
    )
    with pytest.raises(ConfigError, match="cannot have a comment period"):
        load_config(text)


def test_the_example_configuration_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "examples" / "comment-period.yml"
    config = load_config(example.read_text())
    (approve,) = [t for t in config.transitions if "approve" in t.verbs]
    assert approve.period == Period(days=10, business_days=True) and approve.quorum == "all"
