"""KEP-1's metrics on the pipeline page (docs/metrics.md): cut from the build, no request of
their own; merge times come from the rows the links handlers record."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from test_links import K8S, REPO, TRACKING_TAG, World, started
from test_pipeline_page import get_json, linked_world

from bot import demo
from bot.github.tracking import Row
from bot.sandbox.testing import ManualClock

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
WEEK = 7 * 86400


async def two_merges(world: World, clock: ManualClock) -> tuple[int, int]:
    """KEP-753's PRs as `linked_world` makes them (one merged on 2026-03-04), and a second
    one merged a week later (2026-03-11)."""
    merged, _, _ = await linked_world(world)
    clock.advance(WEEK)
    later = world.open(K8S, "Implements KEP-753.", title="Sidecar API, part 2")
    await world.event(K8S, later, "opened")
    world.double.merge(K8S, later)
    await world.event(K8S, later, "closed")
    return merged, later


async def test_the_links_handlers_record_when_an_implementation_pr_merged() -> None:
    clock = ManualClock(START.timestamp())
    async with started(clock=clock) as world:
        merged, later = await two_merges(world, clock)
        rows = {row.number: row for row in world.tracking() if row.repo == K8S}
        assert rows[merged].merged_at == "2026-03-04T12:00:00Z"
        assert rows[later].merged_at == "2026-03-11T12:00:00Z"
        assert [row.merged_at for row in world.tracking() if row.state != "merged"] == [None, None]


async def test_page_counts_merges_per_week_and_tracking_issues() -> None:
    clock = ManualClock(START.timestamp())
    async with started(clock=clock) as world:
        await two_merges(world, clock)
        before = len(world.double.requests)
        data = await get_json(world, f"/pipeline/{demo.REPO}.json")
        metrics = data["metrics"]
        weekly = metrics["merged_per_week"]
        weeks = {w["week"]: w["count"] for w in weekly["weeks"]}
        assert len(weeks) == 12
        assert min(weeks) == "2025-12-22" and max(weeks) == "2026-03-09"
        assert (weeks["2026-03-02"], weeks["2026-03-09"], sum(weeks.values())) == (1, 1, 2)
        assert (weekly["merged"], weekly["undated"], weekly["mean"]) == (2, 0, 0.17)
        assert weekly["complete"] is True
        # KEP-753 is implemented: one proposal, accepted, none rejected
        assert metrics["tracked"] == 1
        assert metrics["rejection"] == {"rejected": 0, "decided": 1, "rate": 0.0}
        assert metrics["issues"]["count"] == 1  # the issue holding its tracking comment
        assert metrics["issues"]["open"] is None
        assert (metrics["retired"]["count"], metrics["superseded"]["count"]) == (0, 0)
        again = len(world.double.requests)
        await get_json(world, f"/pipeline/{demo.REPO}.json?status=implemented")
        assert len(world.double.requests) == again, "a view asks GitHub nothing"
        assert again > before


async def test_a_merged_row_without_its_time_is_counted_as_undated() -> None:
    clock = ManualClock(START.timestamp())
    async with started(clock=clock) as world:
        await two_merges(world, clock)
        login = world.double.bot_login
        (comment,) = [
            c
            for c in world.double.comments(REPO, world.issue)
            if c.user == login and TRACKING_TAG in c.body
        ]
        older = re.sub(r'"merged_at":"[^"]*",', "", comment.body, count=1)  # as written before
        assert older != comment.body
        world.double.edit_comment(REPO, comment.id, older)
        assert sum(row.merged_at is None and row.state == "merged" for row in world.tracking()) == 1
        data = await get_json(world, f"/pipeline/{demo.REPO}.json")
        weekly = data["metrics"]["merged_per_week"]
        assert (weekly["merged"], weekly["undated"]) == (2, 1)
        assert sum(w["count"] for w in weekly["weeks"]) == 1


async def test_the_page_shows_the_metrics_and_their_charts() -> None:
    clock = ManualClock(START.timestamp())
    async with started(clock=clock) as world:
        await two_merges(world, clock)
        async with world.box.session.get(f"{world.box.bot_url}/pipeline/{demo.REPO}") as answer:
            assert answer.status == 200
            page = await answer.text()
        section = page.split("<section id='metrics'>", 1)[1].split("</section>", 1)[0]
        assert "<dt>Rejection rate</dt><dd>0.0% (0 rejected of 1 decided)</dd>" in section
        assert "<dt>Proposals tracked</dt><dd>1</dd>" in section
        assert "0.17 a week over the last 12 weeks" in section
        assert "<title>03-09: 1</title>" in section  # the week of 2026-03-09, one merge
        assert "id='chart-first-authors'" in section and "id='chart-merged'" in section


def test_rows_compare_without_their_merge_time() -> None:
    assert Row(K8S, 1, "merged", "x", "2026-03-04T12:00:00Z") == Row(K8S, 1, "merged", "x")
