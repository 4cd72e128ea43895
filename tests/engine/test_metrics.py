"""KEP-1's metrics (bot.engine.metrics, docs/metrics.md): each definition on facts with known
answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.engine.config import load_config
from bot.engine.metrics import Facts, compute, outcomes, parse_day, referenced, weekly

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("preset", "accepted", "rejected"),
    [
        ("kep", {"implementable", "implemented"}, {"rejected"}),
        ("kep-2017", {"Approved", "Final"}, {"Rejected"}),
        ("kpep", {"implementable", "implemented"}, set()),
    ],
)
def test_accepted_and_rejected_statuses_come_from_the_verbs(
    preset: str, accepted: set[str], rejected: set[str]
) -> None:
    found = outcomes(load_config(f"extends: {preset}\n"))
    assert (set(found[0]), set(found[1])) == (accepted, rejected)


def test_gep_declined_is_a_rejection() -> None:
    accepted, rejected = outcomes(load_config("extends: gep\n"))
    assert rejected == {"Declined"}
    assert "Implementable" in accepted and "Provisional" not in accepted


def test_dates_are_read_from_the_start_of_the_value() -> None:
    assert parse_day("2019-10-20") == date(2019, 10, 20)
    assert parse_day("2021-02-30") is None
    assert parse_day("soon") is None
    assert parse_day(None) is None


def kep(path: str, status: str | None, authors: tuple[str, ...] = ("a",), **more: object) -> Facts:
    return Facts(path, status, authors, **more)  # type: ignore[arg-type]


def test_the_definitions_on_known_facts() -> None:
    config = load_config(None)
    old = NOW - timedelta(days=400)
    facts = [
        kep("a", "implemented", ("ann", "bob"), approvers=("x",), created=date(2019, 1, 2)),
        kep("b", "rejected", ("bob",), approvers=("x",), created=date(2020, 5, 1)),
        kep("c", "provisional", ("cat",), approvers=(), created=date(2020, 6, 1)),
        kep("d", "deferred", ("dan",), approvers=("x",), last_change=old),
        kep("e", "replaced", ("eve",), approvers=("x",), created=date(2021, 1, 1)),
        kep("f", "withdrawn", ("ann",), approvers=("x",), superseded_by=("KEP-9",)),
        kep("g", None, ("zed",)),  # removed: not counted
        kep("h", "implementable", ("hal",), approvers=("x",), updated=date(2026, 6, 1)),
    ]
    found = compute(config, facts, NOW)
    assert found.tracked == 7
    assert (found.accepted, found.rejected) == (2, 1)  # a, h; b
    assert found.rejection_rate == pytest.approx(1 / 3)
    assert found.authors == 6  # ann (twice), bob, cat, dan, eve, hal; zed was removed
    # started: a 2019, b 2020, c 2020, e 2021, h (updated only) and d, f have no start
    assert found.started_by_year == {2019: 1, 2020: 2, 2021: 1}
    assert found.first_time_by_year == {2019: 2, 2020: 1, 2021: 1}  # bob first in 2019
    assert found.undated == 3
    # c: created 2020, no approver; d: last change 400 days ago; h updated 9 days ago
    assert (found.idle, found.unowned, found.orphaned) == (["c", "d"], ["c"], ["c", "d"])
    assert found.retired == {"rejected": 1, "withdrawn": 1, "replaced": 1}
    assert found.superseded == ["e", "f"]  # e: replaced; f: superseded-by set
    assert compute(config, facts, NOW, orphan_days=500).idle == ["c"]


def test_a_process_without_approvers_orphans_nobody_for_want_of_one() -> None:
    config = load_config("extends: gep\n")
    found = compute(config, [Facts("a", "Provisional", ("ann",))], NOW)
    assert (found.unowned, found.orphaned) == ([], [])


def test_no_decision_yet_is_no_rate() -> None:
    found = compute(load_config(None), [Facts("a", "provisional")], NOW)
    assert found.rejection_rate is None


def test_weeks_begin_on_monday_and_end_with_the_current_one() -> None:
    moments = [
        datetime(2026, 6, 8, 0, 0, tzinfo=UTC),  # Monday of the current week
        datetime(2026, 6, 7, 23, 59, tzinfo=UTC),  # Sunday: the week before
        datetime(2026, 3, 23, 0, 0, tzinfo=UTC),  # the oldest of twelve weeks
        datetime(2026, 3, 22, 23, 0, tzinfo=UTC),  # before them
        datetime(2026, 6, 10, 13, 0, tzinfo=UTC),  # after now
    ]
    counts = weekly(moments, NOW)
    assert [*counts][::11] == [date(2026, 3, 23), date(2026, 6, 8)]
    assert len(counts) == 12
    assert (counts[date(2026, 6, 8)], counts[date(2026, 6, 1)]) == (1, 1)
    assert counts[date(2026, 3, 23)] == 1
    assert sum(counts.values()) == 3


def test_references_resolve_as_the_links_handlers_read_them() -> None:
    config = load_config(None)
    paths = ["keps/sig-node/753-sidecar/kep.yaml", "keps/sig-apps/12-jobs/kep.yaml"]
    repo = "kubernetes/enhancements"
    url = f"https://github.com/{repo}/tree/master/keps/sig-apps/12-jobs"
    assert referenced(config, repo, paths, "Implements KEP-753") == {paths[0]}
    assert referenced(config, repo, paths, f"see {url}") == {paths[1]}
    assert referenced(config, None, paths, f"see {url}") == set()  # whose URL is unknown
    assert referenced(config, repo, paths, url.replace(repo, "other/repo")) == set()
    assert referenced(config, repo, paths, "`KEP-753` in code, KEP-99") == set()
