"""What the pipeline page asks GitHub (docs/design.md C5), pinned on a repository the
flagship's size (656 generated KEPs beside the demo's KEP-753): a first build within 50
requests, a build with the default branch unchanged in 2, one after a merge in proportion
to what the merge changed; and time in state kept right as the default branch moves.

The double and the bot share a manual clock: a view "five minutes later" is the clock moved
on, and commit dates are the clock's when the push is made.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import demo
from bot.pipeline_page import (
    BACKFILL,
    HISTORY_COMMITS,
    LONG,
    SPENT,
    NotShown,
    PageMemory,
    page_data,
)
from bot.sandbox.cost import critical_path
from bot.sandbox.double import GitHubDouble
from bot.sandbox.generated import FLAGSHIP_KEPS, add_keps, kep_path, kep_yaml
from bot.sandbox.harness import Harness, harness
from bot.sandbox.pipeline import RecordedRequest
from bot.sandbox.testing import ManualClock, app_credentials

REPO, OWNER = demo.REPO, demo.OWNER
MINUTES = 60
DAY = 86400
VIEW = 5 * MINUTES + 1  # the next view once the page's 5-minute cache has expired
CONFIG = "extends: kep\n"


@dataclass
class Flagship:
    box: Harness
    double: GitHubDouble
    clock: ManualClock
    memory: PageMemory

    async def build(self) -> tuple[dict[str, Any], list[RecordedRequest]]:
        """A page build; what it asked GitHub."""
        start = len(self.double.requests)
        data = await page_data(self.box.bot, REPO, allow_private=False, memory=self.memory)
        return data, self.double.requests[start:]

    def merge(self, files: dict[str, str | None], title: str = "Change KEPs") -> str:
        """Open and merge (a merge commit) a pull request the bot is not told about."""
        number = self.double.open_pull_request(
            REPO, f"change-{self.clock.now}", files, title, "", author="carol"
        )
        self.clock.advance(MINUTES)
        return self.double.merge(REPO, number)


@asynccontextmanager
async def flagship(keps: int = FLAGSHIP_KEPS) -> AsyncIterator[Flagship]:
    clock = ManualClock(float(int(datetime.now(UTC).timestamp()) - 40 * DAY))
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock)
    double.push(REPO, "main", {".github/kepbot.yml": CONFIG}, "Configure kepbot", OWNER)
    clock.advance(DAY)
    add_keps(double, REPO, keps, author=OWNER)
    issue = double.open_issue(REPO, "Release schedule", "When is the freeze?", author="bob")
    double.add_comment(REPO, issue, "Next week.", "carol")
    clock.advance(VIEW)  # the first view comes a while after the last push
    timed: dict[str, Any] = {"client_options": {"clock": clock}, "clock": clock.utc}
    async with harness(double, credentials, **timed) as box:
        yield Flagship(box, double, clock, PageMemory())


def route(request: RecordedRequest) -> str:
    """`METHOD path status`, the repository's prefix dropped, shas as `{sha}`, numbers as
    `N`, and the query keys that tell reads apart."""
    path = request.path.removeprefix(f"/repos/{REPO}")
    path = re.sub(r"[0-9a-f]{40}", "{sha}", path)
    path = re.sub(r"(?<=/)\d+(?=/|$)", "N", path)
    keys = sorted(k for k in request.query if k in ("since", "path", "recursive"))
    if request.query.get("direction") == "desc":
        keys.append("desc")
    query = f"?{'&'.join(keys)}" if keys else ""
    return f"{request.method} {path}{query} {request.status}"


def routes(requests: list[RecordedRequest]) -> list[str]:
    return sorted(route(r) for r in requests)


# A first build, in no particular order: the installation (and, this process's first
# request, its token and the App's login), the repository, its head, the comment stream,
# the configuration, the tree, the archive (the API's redirect, then the download), and
# the history of the `BACKFILL` highest-numbered KEPs.
COLD = sorted(
    [
        "GET /installation 200",
        "POST /app/installations/N/access_tokens 201",
        "GET /app 200",
        "GET  200",
        "GET /git/ref/heads/main 200",
        "GET /issues/comments?desc 200",
        "GET /contents/.github/kepbot.yml 200",
        "GET /git/trees/{sha}?recursive 200",
        "GET /tarball/{sha} 302",
        f"GET /_codeload/{REPO}/legacy.tar.gz/{{sha}} 200",
        *["GET /commits?path 200"] * BACKFILL,
    ]
)


async def test_a_first_build_of_the_flagship_reads_the_archive_not_every_file() -> None:
    async with flagship() as world:
        data, made = await world.build()
        assert routes(made) == COLD
        assert len(made) <= 50
        rows = {row["number"]: row for row in data["proposals"]}
        assert len(rows) == FLAGSHIP_KEPS + 1
        assert rows["1234"]["title"] == "Feature 1234" and rows["1234"]["area"] == "sig-14"
        assert data["counts"] == {"implemented": FLAGSHIP_KEPS + 1}
        pushed = world.clock.now - VIEW
        newest = [str(n) for n in range(1000 + FLAGSHIP_KEPS - BACKFILL, 1000 + FLAGSHIP_KEPS)]
        assert {rows[n]["since"] for n in newest} == {_iso(pushed)}
        assert {rows[n]["days_in_state"] for n in newest} == {0}
        older = rows["1000"]
        assert older["since"] is None and older["days_in_state"] is None
        assert "began following" in older["since_unknown"]
        assert rows["753"]["since"] is None  # the demo's KEP is the lowest-numbered

        world.box.double.inject("*", r".", None, times=None, latency=0.02)
        world.memory = PageMemory()
        _, slow = await world.build()
        # installation → repository → head → tree and configuration → archive (2) → history
        assert len(critical_path(slow)) <= 7


async def test_a_view_with_the_default_branch_unchanged_costs_two_conditional_requests() -> None:
    async with flagship() as world:
        first, _ = await world.build()
        world.clock.advance(VIEW)
        again, made = await world.build()
        assert routes(made) == ["GET  304", "GET /issues/comments?since 200"]
        world.clock.advance(VIEW)
        third, made = await world.build()
        assert routes(made) == ["GET  304", "GET /issues/comments?since 304"]  # charged: none
        assert third["proposals"] == again["proposals"] == first["proposals"]


async def test_a_build_just_after_a_push_reads_the_head_once_more() -> None:
    """A push within the same second as the `pushed_at` the head was read under would go
    unseen: a head read that close to the last push is read again (a 304) on the next
    view, then no more."""
    async with flagship() as world:
        world.clock.advance(-VIEW + 2)
        await world.build()
        world.clock.advance(VIEW)
        _, made = await world.build()
        assert "GET /git/ref/heads/main 304" in routes(made) and len(made) == 3
        world.clock.advance(VIEW)
        _, made = await world.build()
        assert len(made) == 2


def _promote(world: Flagship, number: int, status: str = "implementable") -> dict[str, str | None]:
    return {kep_path(number): kep_yaml(number, status)}


async def test_a_merge_that_moves_one_kep_reads_what_changed() -> None:
    async with flagship() as world:
        await world.build()
        world.clock.advance(VIEW)
        world.merge(_promote(world, 1005))
        merged_at = world.clock.now
        data, made = await world.build()
        assert routes(made) == sorted(
            [
                "GET  200",  # pushed_at moved
                "GET /git/ref/heads/main 200",
                "GET /issues/comments?since 200",
                "GET /git/trees/{sha}?recursive 200",
                "GET /git/blobs/{sha} 200",  # the one changed metadata file
                "GET /compare/{sha}...{sha} 200",  # a merge commit: two commits
                "GET /commits?path 200",  # which of them moved KEP-1005
            ]
        )
        rows = {row["number"]: row for row in data["proposals"]}
        assert rows["1005"]["status"] == "implementable"
        assert rows["1005"]["since"] == _iso(merged_at)
        assert data["counts"] == {"implementable": 1, "implemented": FLAGSHIP_KEPS}


async def test_the_cost_of_a_merge_is_in_proportion_to_what_it_changed() -> None:
    async with flagship() as world:
        await world.build()
        world.clock.advance(VIEW)
        moved = {}
        for number in range(1100, 1105):
            moved.update(_promote(world, number))
        world.merge(moved)
        _, made = await world.build()
        counted = routes(made)
        assert counted.count("GET /git/blobs/{sha} 200") == 5
        assert counted.count("GET /commits?path 200") == 5
        assert len(made) == 7 - 2 + 5 * 2

        world.clock.advance(VIEW)
        retitled = {
            kep_path(n): kep_yaml(n).replace(f"Feature {n}", f"Feature {n}, renamed")
            for n in range(1200, 1203)
        }
        world.double.push(REPO, "main", retitled, "Retitle three KEPs", "carol")
        data, made = await world.build()
        assert routes(made) == sorted(
            [
                "GET  200",
                "GET /git/ref/heads/main 200",
                "GET /issues/comments?since 304",
                "GET /git/trees/{sha}?recursive 200",
                *["GET /git/blobs/{sha} 200"] * 3,  # no status moved: nothing to date
            ]
        )
        rows = {row["number"]: row for row in data["proposals"]}
        assert rows["1201"]["title"] == "Feature 1201, renamed"


async def test_a_busy_comment_stream_keeps_a_first_build_within_fifty_requests() -> None:
    """Many tracking comments: the first build reads at most `SCAN_PAGES` pages of the
    stream and looks up at most `LOOKUPS` of their issues; the rest on later builds."""
    async with flagship() as world:
        double = world.double
        for index in range(13):
            issue = double.open_issue(REPO, f"KEP-{1300 + index}", f"Tracks KEP-{1300 + index}.")
            body = f"<!-- kepbot:implementations -->\n**Implementation pull requests**\n{index}"
            double.add_comment(REPO, issue, body, double.bot_login)
            for chatter in range(40):
                double.add_comment(REPO, issue, f"comment {chatter}", "bob")
        world.clock.advance(VIEW)
        data, made = await world.build()
        assert len(made) <= 50
        counted = routes(made)
        assert counted.count("GET /issues/comments?desc 200") == 5
        assert counted.count("GET /issues/N 200") == 8
        rows = {row["number"]: row for row in data["proposals"]}
        assert rows["1312"]["implementations"] == []  # its tracking comment was seen
        assert rows["1000"]["implementations"] is None  # the stream was not read to its end


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# -- time in state across dated pushes ------------------------------------------------------

KEP_4000 = kep_path(4000)


def kep(status: str, title: str = "Feature 4000") -> dict[str, str | None]:
    return {KEP_4000: kep_yaml(4000, status).replace("Feature 4000", title)}


async def test_days_in_state_follow_the_default_branch_as_it_moves() -> None:
    """KEP 4000: provisional on day 2; implementable on day 7 and retitled on day 8 (two
    pushes between views); implemented on day 26 through a merged pull request. KEP-753
    and the generated ones date from before the first view (day 1)."""
    async with flagship(keps=20) as world:
        start = world.clock.now - VIEW - DAY  # the configuration's push: day 0

        def at(day: float) -> None:
            world.clock.now = start + day * DAY

        async def rows() -> dict[str, dict[str, Any]]:
            data, _ = await world.build()
            return {row["number"]: row for row in data["proposals"]}

        at(1.5)
        first = await rows()
        assert first["1019"]["since"] == _iso(start + DAY)  # dated from its history
        at(2)
        world.double.push(REPO, "main", kep("provisional"), "KEP-4000", "alice")
        at(3)
        seen = await rows()
        assert seen["4000"]["since"] == _iso(start + 2 * DAY)
        assert seen["4000"]["days_in_state"] == 1
        at(7)
        world.double.push(REPO, "main", kep("implementable"), "Implementable", "carol")
        at(8)
        world.double.push(REPO, "main", kep("implementable", "Renamed"), "Retitle", "alice")
        at(9)
        start_reads = len(world.double.requests)
        seen = await rows()
        assert seen["4000"]["status"] == "implementable"
        assert seen["4000"]["since"] == _iso(start + 7 * DAY)
        reads = [r for r in world.double.requests[start_reads:] if "/contents/" in r.path]
        assert len(reads) == 1, "the file at the day-7 commit; the day-2 one is before the range"
        at(25 + 1 / 24)
        seen = await rows()
        assert seen["4000"]["days_in_state"] == 18
        assert seen["4000"]["title"] == "Renamed"
        assert seen["1019"]["days_in_state"] == 24
        at(26)
        world.merge(kep("implemented", "Renamed"))
        at(27.5)
        seen = await rows()
        assert seen["4000"]["since"] == _iso(start + 26 * DAY + MINUTES)  # the merge commit
        assert seen["4000"]["days_in_state"] == 1
        assert seen["1019"]["days_in_state"] == 26


async def test_a_status_held_longer_than_a_page_of_history_is_unknown() -> None:
    async with flagship(keps=1) as world:
        for index in range(HISTORY_COMMITS + 1):
            world.clock.advance(MINUTES)
            note = f"# edit {index}\n"
            world.double.push(REPO, "main", {KEP_4000: kep_yaml(4000) + note}, "edit", "alice")
        world.clock.advance(VIEW)
        data, _ = await world.build()
        rows = {row["number"]: row for row in data["proposals"]}
        assert rows["4000"]["since"] is None
        assert rows["4000"]["since_unknown"] in (SPENT, LONG)
        assert rows["1000"]["since"] is not None, "one change: dated by its history"


async def test_the_access_rule_is_checked_on_every_build() -> None:
    """What is kept never shows a repository that has become private: the repository is
    read (conditionally) on every build, and what the page followed of it is dropped."""
    async with flagship(keps=3) as world:
        await world.build()
        world.clock.advance(VIEW)
        world.double.state.repo(REPO).private = True
        start = len(world.double.requests)
        with pytest.raises(NotShown):
            await page_data(world.box.bot, REPO, allow_private=False, memory=world.memory)
        assert [r.path for r in world.double.requests[start:]] == [f"/repos/{REPO}"]
        assert REPO.lower() not in world.memory.watches
        data = await page_data(world.box.bot, REPO, allow_private=True, memory=world.memory)
        assert len(data["proposals"]) == 3 + 1
