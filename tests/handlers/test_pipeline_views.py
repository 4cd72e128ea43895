"""The pipeline page's views over HTTP against the GitHub double: filters, search and
sorting from the query string (checked at the boundary), links to GitHub, the charts, the
"needs attention" list, the texts for what is not known, and what a view costs (nothing);
then in headless Chromium at desktop and phone widths, with its network log read back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import devtools
import pytest
from aiohttp import web
from test_links import started
from test_pipeline_page import HOSTILE, HOSTILE_KEP, Page, linked_world, serve

from bot import demo
from bot.pipeline_links import LOOKUPS
from bot.pipeline_page import PageMemory, page_data, render_html
from bot.sandbox.testing import app_credentials


def kep(number: str, title: str, sig: str, status: str, stage: str, milestone: str,
        author: str, created: str = "2021-03-04") -> str:  # fmt: skip
    return (
        f'title: "{title}"\nkep-number: {number}\nauthors:\n  - "{author}"\n'
        f"owning-sig: {sig}\nstatus: {status}\ncreation-date: {created}\n"
        f'approvers:\n  - "@dchen"\nstage: {stage}\nlatest-milestone: "{milestone}"\n'
    )


TEMPLATE_STATUS = "provisional|implementable|implemented|deferred|rejected|withdrawn|replaced"
HOSTILE_AUTHOR = "@x><img src=y onerror=alert(2)>"
KEPS = {
    "keps/sig-node/5001-sidecar-restarts/kep.yaml": kep(
        "5001", "Sidecar restarts", "sig-node", "implementable", "beta", "v1.32", "@alice"
    ),
    "keps/sig-node/5001-sidecar-restarts/README.md": "# KEP-5001: Sidecar restarts\n",
    "keps/sig-node/5002-swap/kep.yaml": kep(
        "5002", "Swap on nodes", "sig-node", "provisional", "alpha", "v1.33", "@bob"
    ),
    "keps/sig-storage/5003-snapshots/kep.yaml": kep(
        "5003", "CSI snapshots", "sig-storage", "implemented", "stable", "v1.30", "@carol"
    ),
    "keps/sig-apps/5004-typo/kep.yaml": kep(
        "5004", "Typo status", "sig-apps", "imlpemented", "beta", "v1.31", "@dave"
    ),
    "keps/sig-apps/5005-alpha/kep.yaml": kep(
        "5005", "Alpha status", "sig-apps", "implemented (alpha)", "alpha", "v1.31", "@erin"
    ),
    "keps/NNNN-kep-template/kep.yaml": kep(
        "NNNN", "KEP Template", "sig-architecture", TEMPLATE_STATUS, "alpha", "v1.34", "@jane"
    ),
    "keps/sig-storage/5006-dates/kep.yaml": kep(
        "5006", "Bad dates", "sig-storage", "provisional", "alpha", "v1.34", "@frank", "2021-13-45"
    ),
    "keps/sig-storage/5007-hostile-author/kep.yaml": kep(
        "5007", "Hostile author", "sig-storage", "provisional", "alpha", "v1.34", HOSTILE_AUTHOR
    ),
}
KNOWN = {"753", "4000", "5001", "5002", "5003", "5006", "5007"}


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    credentials = app_credentials()
    double = demo.seed(credentials)
    files: dict[str, str | None] = {HOSTILE: HOSTILE_KEP, **KEPS}
    double.push(demo.REPO, "main", files, "add KEPs", demo.OWNER)
    async with serve(double, credentials) as running_page:
        yield running_page


async def view(page: Page, query: str = "", *, status: int = 200) -> dict[str, Any]:
    got, body = await page.get(f"/pipeline/{demo.REPO}.json{query}")
    assert got == status, body
    return dict(json.loads(body))


async def html(page: Page, query: str = "", *, status: int = 200) -> str:
    got, body = await page.get(f"/pipeline/{demo.REPO}{query}")
    assert got == status, body
    return body


def numbers(data: dict[str, Any]) -> list[str]:
    return [row["number"] for row in data["proposals"]]


def table_numbers(body: str) -> list[str]:
    """The numbers of the proposals in the status tables, in order."""
    return re.findall(
        r"<td data-label='Number' class='num'>(?:<a [^>]*>|<span[^>]*>)?([^<]+)<", body
    )


async def test_filters_narrow_the_json_and_the_html(page: Page) -> None:
    data = await view(page, "?area=sig-node&stage=beta")
    assert numbers(data) == ["5001"]
    assert data["view"] == {"area": "sig-node", "stage": "beta", "errors": []}
    assert (data["shown"], data["total"]) == (1, len(KNOWN) + 3)
    assert data["counts"] == {"implementable": 1}
    body = await html(page, "?area=sig-node&stage=beta")
    assert table_numbers(body) == ["5001"]
    assert "<option value='sig-node' selected>sig-node (3)</option>" in body
    assert "<a class='chip' href='?stage=beta' title='remove this filter'>area: sig-node" in body
    assert sorted(numbers(await view(page, "?status=provisional"))) == [
        "4000",
        "5002",
        "5006",
        "5007",
    ]
    assert numbers(await view(page, "?milestone=v1.30")) == ["5003"]
    assert numbers(await view(page, "?status=implemented&area=sig-node")) == ["753"]


async def test_what_the_form_sends_is_a_view(page: Page) -> None:
    """The form sends every field, "any" as an empty value: that is no filter."""
    query = "?status=&area=sig-node&stage=&milestone=&q=&sort=days"
    data = await view(page, query)
    assert sorted(numbers(data)) == ["5001", "5002", "753"]
    assert data["view"] == {"area": "sig-node", "sort": "days", "errors": []}
    body = await html(page, query)
    assert "<input type='hidden' name='sort' value='days'>" in body


async def test_search_matches_titles_numbers_and_authors(page: Page) -> None:
    assert numbers(await view(page, "?q=SWAP")) == ["5002"]
    assert numbers(await view(page, "?q=KEP-5003")) == ["5003"]
    assert numbers(await view(page, "?q=%40carol")) == ["5003"]
    assert numbers(await view(page, "?q=nothing+like+it")) == []
    body = await html(page, "?q=nothing+like+it")
    assert "No proposal matches this view." in body


async def test_unknown_values_are_refused_with_a_message_and_no_traceback(page: Page) -> None:
    query = "?area=sig-nope&bogus=1&sort=%3Cscript%3E&status=imlpemented&stage=beta"
    data = await view(page, query, status=400)
    assert data["errors"] == [
        "area 'sig-nope' is not one of this repository's: sig-apps, sig-architecture, "
        "sig-node, sig-storage",
        "'bogus' is not a parameter of this page (it takes status, area, stage, milestone, q, "
        "sort, order)",
        "sort '<script>' is not one of number, title, area, stage, milestone, days",
        "status 'imlpemented' is not one of this repository's: provisional, implementable, "
        "implemented, deferred, rejected, withdrawn, replaced",
    ]
    body = await html(page, query, status=400)
    assert "<div class='flash' role='alert' id='errors'>" in body
    assert "sort &#x27;&lt;script&gt;&#x27; is not one of" in body and "<script>" not in body
    assert table_numbers(body) == ["4000", "5001"], "what passed (stage=beta) still applies"
    assert "Traceback" not in body
    twice = await view(page, "?area=sig-node&area=sig-apps", status=400)
    assert twice["errors"] == ["area is given more than once; one value is taken at most"]
    long = await view(page, "?q=" + "a" * 101, status=400)
    assert long["errors"] == ["the search is longer than 100 characters"]
    control = await view(page, "?q=a%00b", status=400)
    assert control["errors"] == ["the search 'a\ufffdb' holds control characters"]
    huge = await view(page, "?q=" + "a" * 2001, status=400)
    assert huge["errors"] == ["the address's query is longer than 2000 characters"]
    order = await view(page, "?sort=days&order=sideways", status=400)
    assert order["errors"] == ["order 'sideways' is neither asc nor desc"]


async def test_columns_sort_within_each_status_and_headers_link_the_other_way(page: Page) -> None:
    def provisional(data: dict[str, Any]) -> list[str]:
        return [row["number"] for row in data["proposals"] if row["status"] == "provisional"]

    assert provisional(await view(page, "?sort=number")) == ["4000", "5002", "5006", "5007"]
    assert provisional(await view(page, "?sort=number&order=desc")) == [
        "5007", "5006", "5002", "4000"
    ]  # fmt: skip
    titles = await view(page, "?sort=title&status=provisional")
    assert [row["title"] for row in titles["proposals"]][:3] == [
        "<script>alert(1)</script> & friends", "Bad dates", "Hostile author"
    ]  # fmt: skip
    body = await html(page, "?sort=number")
    assert "<th scope='col' aria-sort='ascending'><a href='?sort=number&amp;order=desc'>" in body
    body = await html(page, "?sort=number&order=desc&area=sig-node")
    assert "aria-sort='descending'><a href='?area=sig-node&amp;sort=number'>" in body
    assert "<a href='?area=sig-node&amp;sort=days'>Days in state</a>" in body


async def test_statuses_the_process_does_not_know_need_attention_and_get_no_section(
    page: Page,
) -> None:
    data = await view(page)
    head = data["head"]
    web = page.double.urls.web
    attention = {row["number"]: row for row in data["attention"]}
    assert set(attention) == {"4000", "5004", "5005", "NNNN", "5006"}
    assert attention["4000"]["findings"][0]["message"].startswith(
        "required key 'approvers' is missing"
    )
    assert [f["rule"] for f in attention["NNNN"]["findings"]] == [
        "status.unknown", "number.placeholder"
    ]  # fmt: skip
    typo = attention["5004"]["findings"][0]
    assert typo["message"].startswith(
        "status 'imlpemented' is not valid; did you mean 'implemented'?"
    )
    path = "keps/sig-apps/5004-typo/kep.yaml"
    assert typo["url"] == f"{web}/{demo.REPO}/blob/{head}/{path}#L6"
    assert attention["5006"]["findings"][0]["rule"] == "schema.date"
    assert data["counts"] == {"provisional": 4, "implementable": 1, "implemented": 2}
    body = await html(page)
    assert "<section class='status-group' id='status-provisional'>" in body
    for bad in ("imlpemented", "implemented (alpha)", TEMPLATE_STATUS):
        assert f"id='status-{bad}'" not in body
        assert f"<span class='label invalid'>{bad}</span>" in body
    assert f"<a href='{typo['url']}' class='line'>kep.yaml:6</a>" in body
    assert set(table_numbers(body)) == KNOWN, "only known statuses have rows in the tables"
    assert "3 with a status the process does not know" in body


async def test_links_go_to_github_at_the_default_branch_from_checked_names(page: Page) -> None:
    data = await view(page)
    web = page.double.urls.web
    rows = {row["number"]: row for row in data["proposals"]}
    folder = "keps/sig-node/5001-sidecar-restarts"
    assert rows["5001"]["links"] == {
        "metadata": f"{web}/{demo.REPO}/blob/main/{folder}/kep.yaml",
        "document": f"{web}/{demo.REPO}/blob/main/{folder}/README.md",
        "tracking": None,
        "authors": [f"{web}/alice"],
    }
    assert rows["5007"]["links"]["authors"] == [None], "not a login: no link"
    assert data["links"]["head"] == f"{web}/{demo.REPO}/commit/{data['head']}"
    body = await html(page)
    assert f"<a href='{web}/alice'>@alice</a>" in body
    assert "@x&gt;&lt;img src=y onerror=alert(2)&gt;" in body and "<img" not in body
    assert f"<a href='{web}/{demo.REPO}/blob/main/{folder}/README.md' class='title'>" in body


async def test_the_number_links_to_the_issue_holding_the_tracking_comment() -> None:
    async with started() as world:
        await linked_world(world)
        async with world.box.session.get(f"{world.box.bot_url}/pipeline/{demo.REPO}.json") as r:
            (row,) = (await r.json())["proposals"]
        web = world.double.urls.web
        assert row["tracking"] == world.issue
        assert row["links"]["tracking"] == f"{web}/{demo.REPO}/issues/{world.issue}"


async def test_views_are_cut_from_the_build_and_ask_github_nothing(page: Page) -> None:
    await view(page)
    before = len(page.double.requests)
    for query in ("?area=sig-node", "?q=swap&sort=days&order=desc", "?status=nope", ""):
        await page.get(f"/pipeline/{demo.REPO}{query}")
        await page.get(f"/pipeline/{demo.REPO}.json{query}")
    assert len(page.double.requests) == before


def svg(body: str, ident: str) -> str:
    found = re.search(rf"<svg class='chart' id='{ident}'.*?</svg>", body, re.S)
    assert found is not None
    return found.group(0)


async def test_the_charts_carry_the_counts_as_text(page: Page) -> None:
    body = await html(page)
    status = svg(body, "chart-status")
    counts = dict(
        re.findall(r"<text class='count' [^>]*data-status='([^']+)'>(\d+)</text>", status)
    )
    assert counts == {
        "provisional": "4", "implementable": "1", "implemented": "2", "deferred": "0",
        "rejected": "0", "withdrawn": "0", "replaced": "0",
    }  # fmt: skip
    assert "<title>provisional, sig-storage: 2</title>" in status
    assert "<title>implemented, sig-node: 1</title>" in status
    assert "href='?status=provisional&amp;area=sig-storage'" in status
    days = svg(body, "chart-days")
    buckets = dict(re.findall(r"<title>([^<]+): (\d+)</title>", days))
    assert sum(int(n) for n in buckets.values()) == len(KNOWN), "known statuses only"
    assert buckets["&lt; 1 week"] == str(len(KNOWN) - 1), "pushed just now, dated at once"
    assert buckets["not known"] == "1", "KEP-753: not among the newest the first view dates"
    narrowed = svg(await html(page, "?area=sig-node"), "chart-status")
    assert "data-status='provisional'>1</text>" in narrowed
    assert "data-status='implemented'>1</text>" in narrowed


async def test_a_blank_time_in_state_says_why(page: Page) -> None:
    rows = {row["number"]: row for row in (await view(page))["proposals"]}
    assert rows["753"]["days_in_state"] is None, "the first view dates the 8 newest only"
    why = rows["753"]["since_unknown"]
    assert "when the page began following" in why and "8 most recent" in why
    body = await html(page)
    cell = re.search(
        r">753</(?:a|span)></td>.*?<td data-label='Days in state' class='days'>(.*?)</td>", body
    )
    assert cell is not None
    assert cell.group(1).startswith(
        "<span class='unknown'>not known</span><a class='note' href='#note-"
    )
    note = re.search(r"href='#note-(\d+)'", cell.group(1))
    assert note is not None
    assert f"<li id='note-{note.group(1)}'>not known: in this status since before" in body


async def test_the_page_is_self_contained_and_says_so_in_its_policy(page: Page) -> None:
    async with page.session.get(f"{page.url}/pipeline/{demo.REPO}") as response:
        body = await response.text()
        policy = response.headers["Content-Security-Policy"]
    style = re.search(r"<style>(.*?)</style>", body, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert policy == (
        "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors 'none'; style-src 'self' 'sha256-{digest}'"
    )
    assert "<script" not in body
    assert re.findall(r"<link [^>]*>", body) == [
        "<link rel='stylesheet' href='../../pipeline.css'>"
    ]
    async with page.session.get(f"{page.url}/pipeline.css") as response:
        assert response.status == 200 and response.content_type == "text/css"
        assert "prefers-color-scheme: dark" in await response.text()


async def test_what_is_not_looked_up_says_the_bound_until_it_is() -> None:
    """More tracking comments than one build looks up: every proposal without a known
    tracking comment is "not looked up", saying the bound; the next build finishes."""
    async with started() as world:
        double = world.double
        for index in range(LOOKUPS + 1):
            issue = double.open_issue(demo.REPO, f"Chore {index}", "No proposal here.")
            body = f"<!-- kepbot:implementations -->\n**Implementation pull requests**\n{index}"
            double.add_comment(demo.REPO, issue, body, double.bot_login)
        memory = PageMemory()
        data = await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
        (row,) = data["proposals"]
        assert row["implementations"] is None
        assert row["implementations_unknown"] == "not looked up"
        assert data["implementations"]["why"] == (
            f"1 tracking comment(s) still wait to be matched to their proposals; each view "
            f"looks up at most {LOOKUPS}"
        )
        body = render_html(data)
        assert "<span class='unknown'>not looked up</span>" in body
        assert f"each view looks up at most {LOOKUPS}" in body
        again = await page_data(world.box.bot, demo.REPO, allow_private=False, memory=memory)
        assert again["proposals"][0]["implementations"] == []
        assert "no implementation PRs linked" in render_html(again)


# -- in headless Chromium ------------------------------------------------------------------

DESKTOP, PHONE = "1280,900", "390,844"


async def browse(chromium: str, url: str, size: str) -> tuple[str, list[str]]:
    """The DOM headless Chromium builds from `url` in a window of `size`, and every address
    the page made it request (its network log, the browser's own traffic left out)."""
    with tempfile.TemporaryDirectory() as profile:
        log = Path(profile) / "net.json"
        process = await asyncio.create_subprocess_exec(
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--window-size={size}", f"--log-net-log={log}",
            "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        events = json.loads(log.read_text())
    names = {value: key for key, value in events["constants"]["logEventTypes"].items()}
    starts = [
        event.get("params") or {}
        for event in events["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
    ]
    # The browser's own traffic (updates, time) has no page as its initiator.
    requested = [p["url"] for p in starts if "url" in p and p.get("initiator") != "not an origin"]
    return out.decode(), requested


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_filtered_view_in_chromium(page: Page, chromium: str, size: str) -> None:
    web = page.double.urls.web
    url = f"{page.url}/pipeline/{demo.REPO}?area=sig-node&stage=beta"
    dom, requested = await browse(chromium, url, size)
    assert re.findall(r'<td data-label="Number" class="num">(?:<[^>]+>)?(\w+)<', dom) == ["5001"]
    assert '<option value="sig-node" selected="">sig-node (3)</option>' in dom
    assert '<option value="beta" selected="">beta (3)</option>' in dom
    folder = f"{web}/{demo.REPO}/blob/main/keps/sig-node/5001-sidecar-restarts"
    assert f'<a href="{folder}/README.md" class="title">Sidecar restarts</a>' in dom
    assert f'<a href="{folder}/kep.yaml" class="file">metadata</a>' in dom
    assert f'<a href="{web}/alice">@alice</a>' in dom
    assert 'data-status="implementable">1</text>' in dom
    assert 'data-status="provisional">0</text>' in dom
    assert {u.split("/")[2] for u in requested} == {page.url.removeprefix("http://")}
    assert f"{page.url}/pipeline.css" in requested, "the stylesheet is the one request"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_hostile_text_stays_text_in_chromium(page: Page, chromium: str, size: str) -> None:
    dom, requested = await browse(chromium, f"{page.url}/pipeline/{demo.REPO}?q=%3Cimg", size)
    assert "&lt;img src=y onerror=alert(2)&gt;" in dom, "the hostile author is shown as text"
    assert "<img" not in dom and "<script" not in dom
    bad = await browse(chromium, f"{page.url}/pipeline/{demo.REPO}?area=%3Cscript%3E", size)
    assert "area '&lt;script&gt;' is not one of this repository's" in bad[0]
    assert "<script" not in bad[0]
    hosts = {u.split("/")[2] for u in requested + bad[1]}
    assert hosts == {page.url.removeprefix("http://")}


async def test_the_network_check_sees_a_request_to_another_host(chromium: str) -> None:
    """The check above would fail for a page that loads anything from elsewhere: here a
    page on 127.0.0.1 asks `localhost` for a stylesheet."""

    async def elsewhere(request: web.Request) -> web.Response:
        port = request.url.port
        body = f"<link rel='stylesheet' href='http://localhost:{port}/x.css'>hi"
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", elsewhere)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        _, requested = await browse(chromium, f"http://127.0.0.1:{port}/", DESKTOP)
    finally:
        await runner.cleanup()
    assert f"http://localhost:{port}/x.css" in requested


async def test_light_dark_and_phone_layouts_in_chromium(page: Page, chromium: str) -> None:
    """Desktop: sticky table headers, no sideways scrolling. Phone: the tables become
    cards, still no sideways scrolling. Dark: the dark background. Both the stylesheet and
    the label colours (the `<style>` the policy allows by its hash) are applied."""
    url = f"{page.url}/pipeline/{demo.REPO}"
    async with devtools.session(chromium) as browser:
        desktop = devtools.layout(await browser.look(url, devtools.LAYOUT, width=1280))
        phone = devtools.layout(await browser.look(url, devtools.LAYOUT, width=390))
        dark = devtools.layout(await browser.look(url, devtools.LAYOUT, width=390, dark=True))
    assert desktop["sticky"] == "sticky" and desktop["thead"] == "table-header-group"
    assert desktop["overflow"] <= 0 and phone["overflow"] <= 0
    assert phone["thead"] == "none"
    assert desktop["background"] == phone["background"] == "rgb(255, 255, 255)"
    assert dark["background"] == "rgb(13, 17, 23)"
    assert desktop["statusLabel"] == "rgb(14, 138, 22)", "the kep preset's status colour"
    assert desktop["areaLabel"] == "rgb(210, 180, 140)"
    assert len(desktop["rules"]) == 2 and min(desktop["rules"]) > 0
