"""The pipeline page over HTTP against the GitHub double, and rendered in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from test_links import K8S, WEB, World, started

from bot import demo
from bot.pipeline_page import (
    PageMemory,
    page_data,
    pipeline_stylesheet,
    pipeline_view,
    render_html,
)
from bot.routing import Bot
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import settings_for
from bot.sandbox.testing import AppCredentials, ManualClock, app_credentials, new_double, running

HOSTILE = "keps/sig-apps/4000-hostile/kep.yaml"
HOSTILE_KEP = """title: "<script>alert(1)</script> & friends"
kep-number: 4000
authors:
  - "@mallory"
owning-sig: sig-apps
status: provisional
stage: beta
latest-milestone: "v1.31"
"""


@dataclass
class Page:
    url: str
    session: aiohttp.ClientSession
    double: GitHubDouble

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.url}{path}") as response:
            return response.status, await response.text()


@asynccontextmanager
async def serve(
    double: GitHubDouble, credentials: AppCredentials, now: datetime | None = None
) -> AsyncIterator[Page]:
    clock = {"now": (lambda: now)} if now is not None else {}
    async with running(double) as api_url:
        bot = Bot(settings_for(api_url, credentials))
        app = web.Application()
        app.router.add_get("/pipeline/{owner}/{repo}", pipeline_view(bot, **clock))
        app.router.add_get("/open/{owner}/{repo}", pipeline_view(bot, allow_private=True))
        app.router.add_get("/pipeline.css", pipeline_stylesheet)
        app.cleanup_ctx.append(bot.lifecycle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session:
                yield Page(f"http://127.0.0.1:{port}", session, double)
        finally:
            await runner.cleanup()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    double.push(demo.REPO, "main", {HOSTILE: HOSTILE_KEP}, "add hostile KEP", demo.OWNER)
    double.add_repo(demo.OWNER, "secret", {"keps/sig-x/1-a/kep.yaml": HOSTILE_KEP}, private=True)
    double.add_repo("elsewhere", "enhancements", {"README.md": "hi\n"})
    async with serve(double, credentials) as running_page:
        yield running_page


async def test_json_lists_proposals_counts_and_roadmap(page: Page) -> None:
    status, body = await page.get(f"/pipeline/{demo.REPO}.json")
    assert status == 200
    data = json.loads(body)
    assert data["repository"] == demo.REPO
    assert data["counts"] == {"implemented": 1, "provisional": 1}
    rows = {row["number"]: row for row in data["proposals"]}
    assert set(rows) == {"753", "4000"}
    assert rows["4000"]["title"] == "<script>alert(1)</script> & friends"
    assert rows["4000"]["authors"] == ["@mallory"]
    assert rows["4000"]["area"] == "sig-apps"
    assert rows["753"]["status"] == "implemented"
    assert rows["4000"]["days_in_state"] == 0  # pushed just now
    assert rows["4000"]["since"] is not None
    assert data["roadmap"]["v1.31"] == {"beta": ["4000"]}


async def test_html_escapes_user_text(page: Page) -> None:
    status, body = await page.get(f"/pipeline/{demo.REPO}")
    assert status == 200
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in body
    assert "<h2 class='status'><span class='label status'>kep/provisional</span>" in body
    assert "data-status='implemented'>1</text>" in body, "the chart's count of implemented"


async def test_private_and_uninstalled_repositories_are_not_shown(page: Page) -> None:
    assert (await page.get(f"/pipeline/{demo.OWNER}/secret.json"))[0] == 404
    assert (await page.get(f"/pipeline/{demo.OWNER}/secret"))[0] == 404
    assert (await page.get("/pipeline/elsewhere/enhancements.json"))[0] == 404
    assert (await page.get("/pipeline/nobody/nothing.json"))[0] == 404
    status, body = await page.get(f"/open/{demo.OWNER}/secret.json")  # the access rule allows
    assert status == 200 and json.loads(body)["counts"] == {"provisional": 1}
    assert (await page.get("/open/elsewhere/enhancements.json"))[0] == 404


async def test_results_are_cached(page: Page) -> None:
    assert (await page.get(f"/pipeline/{demo.REPO}.json"))[0] == 200
    before = len(page.double.requests)
    assert before > 0
    assert (await page.get(f"/pipeline/{demo.REPO}"))[0] == 200
    assert len(page.double.requests) == before


async def rendered(chromium: str, url: str) -> str:
    """The DOM headless Chromium builds from the page at `url`."""
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode()


async def test_headless_chromium_renders_the_page(page: Page, chromium: str) -> None:
    dom = await rendered(chromium, f"{page.url}/pipeline/{demo.REPO}")
    assert f"<title>KEP pipeline: {demo.REPO}</title>" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in dom
    assert "Sidecar containers" in dom
    assert "<h3>v1.31</h3>" in dom


DAY = 86400


async def test_days_in_state_from_dated_pushes() -> None:
    """KEP 4000: provisional on day 2, implementable on day 7, retitled on day 10; now is day 25."""
    credentials = app_credentials()
    start = int(time.time()) - 30 * DAY
    clock = ManualClock(start)
    double = new_double(credentials, clock=clock)
    double.add_org(demo.OWNER)
    double.add_repo(demo.OWNER, demo.NAME, demo.sample_repository())  # KEP 753 on day 0
    double.add_installation(demo.OWNER)
    pushes = [
        (2, HOSTILE_KEP),
        (5, HOSTILE_KEP.replace("provisional", "implementable")),
        (3, HOSTILE_KEP.replace("provisional", "implementable").replace("&", "and")),
    ]
    for days, text in pushes:
        clock.advance(days * DAY)
        double.push(demo.REPO, "main", {HOSTILE: text}, "edit KEP 4000", demo.OWNER)
    clock.advance(DAY)
    double.push(demo.REPO, "main", {"README.md": "unrelated\n"}, "unrelated", demo.OWNER)
    clock.now = time.time()  # the App's JWT is checked against the double's clock
    now = datetime.fromtimestamp(start + 25 * DAY + 3600, UTC)
    async with serve(double, credentials, now) as page:
        status, body = await page.get(f"/pipeline/{demo.REPO}.json")
        assert status == 200
        rows = {row["number"]: row for row in json.loads(body)["proposals"]}
        assert rows["4000"]["status"] == "implementable"
        assert rows["4000"]["since"] == datetime.fromtimestamp(start + 7 * DAY, UTC).isoformat()
        assert rows["4000"]["days_in_state"] == 18
        assert rows["753"]["days_in_state"] == 25
        status, html_body = await page.get(f"/pipeline/{demo.REPO}")
        since = rows["4000"]["since"]
        assert f"class='days'><span title='since {since}'>18</span></td>" in html_body


HOSTILE_TITLE = "<img src=x onerror=alert(1)> & 'docs'"


async def linked_world(world: World) -> tuple[int, int, int]:
    """KEP-753 linked by three implementation PRs, through the bot: merged, closed, open."""
    merged = world.open(K8S, "Implements KEP-753.", title="Sidecar API")
    closed = world.open(WEB, "Docs for KEP-753.", title=HOSTILE_TITLE)
    still = world.open(K8S, "Part of KEP 753", title="Sidecar restarts")
    for repo, number in ((K8S, merged), (WEB, closed), (K8S, still)):
        await world.event(repo, number, "opened")
    world.double.merge(K8S, merged)
    await world.event(K8S, merged, "closed")
    world.double.update_pull_request(WEB, closed, state="closed")
    await world.event(WEB, closed, "closed")
    return merged, closed, still


async def get_json(world: World, path: str) -> dict[str, Any]:
    async with world.box.session.get(f"{world.box.bot_url}{path}") as response:
        assert response.status == 200
        return dict(await response.json())


async def test_linked_pull_requests_and_their_states() -> None:
    async with started() as world:
        merged, closed, still = await linked_world(world)
        data = await get_json(world, f"/pipeline/{demo.REPO}.json")
        (row,) = data["proposals"]
        web_root = world.double.urls.web
        assert row["number"] == "753"
        assert row["implementations"] == [
            {
                "repo": K8S,
                "number": merged,
                "state": "merged",
                "title": "Sidecar API",
                "url": f"{web_root}/{K8S}/pull/{merged}",
            },
            {
                "repo": K8S,
                "number": still,
                "state": "open",
                "title": "Sidecar restarts",
                "url": f"{web_root}/{K8S}/pull/{still}",
            },
            {
                "repo": WEB,
                "number": closed,
                "state": "closed",
                "title": HOSTILE_TITLE,
                "url": f"{web_root}/{WEB}/pull/{closed}",
            },
        ]
        assert data["implementations"]["source"] == "tracking comment"


async def test_linked_pull_requests_render_in_a_browser(chromium: str) -> None:
    async with started() as world:
        merged, closed, still = await linked_world(world)
        web_root = world.double.urls.web
        dom = await rendered(chromium, f"{world.box.bot_url}/pipeline/{demo.REPO}")
        assert f'<a href="{web_root}/{K8S}/pull/{merged}">{K8S}#{merged}</a>' in dom
        assert f'<li class="merged"><a href="{web_root}/{K8S}/pull/{merged}">' in dom
        assert f'<li class="open"><a href="{web_root}/{K8S}/pull/{still}">' in dom
        assert f'<li class="closed"><a href="{web_root}/{WEB}/pull/{closed}">' in dom
        assert "Sidecar API <b>merged</b>" in dom and "Sidecar restarts <b>open</b>" in dom
        # The hostile title is text in the page, not an element.
        assert "<img" not in dom
        assert "&lt;img src=x onerror=alert(1)&gt; &amp; 'docs' <b>closed</b>" in dom


async def test_hostile_row_title_is_escaped_in_the_html() -> None:
    async with started() as world:
        _, closed, _ = await linked_world(world)
        url = f"{world.box.bot_url}/pipeline/{demo.REPO}"
        async with world.box.session.get(url) as response:
            body = await response.text()
        assert HOSTILE_TITLE not in body and "<img" not in body
        escaped = "&lt;img src=x onerror=alert(1)&gt; &amp; &#x27;docs&#x27;"
        assert f">{WEB}#{closed}</a> {escaped} <b>closed</b></li>" in body


async def test_links_that_cannot_be_read_are_unknown_and_the_page_stays() -> None:
    async with started() as world:
        await linked_world(world)
        world.double.push(demo.REPO, "main", {HOSTILE: HOSTILE_KEP}, "add KEP 4000", demo.OWNER)
        world.double.inject("GET", rf"^/repos/{demo.REPO}/issues/comments$", 404)
        data = await get_json(world, f"/pipeline/{demo.REPO}.json")
        rows = {row["number"]: row for row in data["proposals"]}
        assert rows["753"]["implementations"] is None, "the tracking comments could not be read"
        assert rows["4000"]["implementations"] is None
        assert rows["4000"]["title"] == "<script>alert(1)</script> & friends", "the page stays"
        async with world.box.session.get(f"{world.box.bot_url}/pipeline/{demo.REPO}") as r:
            body = await r.text()
        assert "<td data-label='Implementation PRs' class='pulls'><span class='failed'>" in body
        assert "lookup failed: the repository&#x27;s comments could not be read" in body
        again = await page_data(world.box.bot, demo.REPO, allow_private=False)
        rows = {row["number"]: row for row in again["proposals"]}
        assert [p["state"] for p in rows["753"]["implementations"]] == ["merged", "open", "closed"]
        assert rows["4000"]["implementations"] == [], "not tracked anywhere: no links"
        again_html = render_html(again)
        assert "lookup failed" not in again_html and "not looked up" not in again_html
        assert "no implementation PRs linked" in again_html


async def test_a_tracking_comment_not_yet_attributed_leaves_the_others_unknown() -> None:
    """Until the issue holding a tracking comment is looked up, no proposal can be said to
    have no links: the lookup failed, so all are unknown; the next build looks it up."""
    async with started() as world:
        await linked_world(world)
        world.double.push(demo.REPO, "main", {HOSTILE: HOSTILE_KEP}, "add KEP 4000", demo.OWNER)
        world.double.inject("GET", rf"^/repos/{demo.REPO}/issues/{world.issue}$", 502, times=10)
        memory = PageMemory()
        data = await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
        assert {row["implementations"] is None for row in data["proposals"]} == {True}
        world.double.faults.faults.clear()
        start = len(world.double.requests)
        data = await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
        rows = {row["number"]: row for row in data["proposals"]}
        assert len(rows["753"]["implementations"]) == 3
        assert rows["4000"]["implementations"] == []
        looked = [
            r.path for r in world.double.requests[start:] if r.path.endswith(f"/{world.issue}")
        ]
        assert looked == [f"/repos/{demo.REPO}/issues/{world.issue}"]
        start = len(world.double.requests)
        await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
        assert not [r for r in world.double.requests[start:] if r.path.endswith(f"/{world.issue}")]


async def test_rows_are_read_afresh_and_locations_are_kept() -> None:
    """A later build reads the tracking comments written since the last one (the
    repository's comments, from `since`), not where they live nor the proposal again."""
    async with started() as world:
        _, _, still = await linked_world(world)
        memory = PageMemory()

        async def build() -> dict[str, Any]:
            data = await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
            (row,) = data["proposals"]
            return {pull["number"]: pull["state"] for pull in row["implementations"]}

        assert (await build())[still] == "open"
        world.double.merge(K8S, still)
        await world.event(K8S, still, "closed")
        start = len(world.double.requests)
        assert (await build())[still] == "merged"
        read = world.double.requests[start:]
        stream = [r for r in read if r.path == f"/repos/{demo.REPO}/issues/comments"]
        assert [r.query.get("since") is not None for r in stream] == [True]
        assert not [r for r in read if "kep.yaml" in r.path or "README.md" in r.path]
        assert not [r for r in read if f"/{world.issue}" in r.path]
