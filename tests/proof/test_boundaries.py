"""Outside input never steers a request, and the page cannot be used to spend the budget.

Through the real server (`create_app` with the Bot's routes, via the harness) and the
GitHub double: names from a page path are validated before any request (a 404 with none
made); a team named by configuration stays inside the URL segment it belongs to; answers
for repositories that are not shown are cached as long as pages; each client gets a
bounded number of page requests; concurrent views of one repository build it once; a
GitHub failure is a 502, not a 500 with a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from yarl import URL

from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event
from bot.sandbox.testing import app_credentials

from .support import OWNER, REPO, WAIT, open_pr, seed, text_at

UNLIMITED: dict[str, Any] = {
    "kepbot_page_burst": 10_000,
    "kepbot_page_requests_per_minute": 10_000.0,
}


@asynccontextmanager
async def started(**settings: Any) -> AsyncIterator[Harness]:
    credentials = app_credentials()
    double = seed(credentials)
    double.add_repo(OWNER, "secret", {"keps/sig-x/1-a/kep.yaml": "title: Hidden\n"}, private=True)
    double.add_repo("elsewhere", "enhancements", {"README.md": "hi\n"})
    async with harness(double, credentials, settings=settings) as box:
        yield box


@pytest.fixture
async def box() -> AsyncIterator[Harness]:
    async with started(**UNLIMITED) as running:
        yield running


async def get(
    box: Harness, raw_path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """GET the path exactly as written (percent-escapes and dots left as they are)."""
    url = URL(f"{box.bot_url}{raw_path}", encoded=True)
    async with box.session.get(url, headers=headers) as reply:
        return reply.status, dict(reply.headers), await reply.text()


# -- names from a page path ------------------------------------------------------------

HOSTILE_PATHS = [
    f"/pipeline/{OWNER}/enhancements%2F..%2F..%2F..%2Fapp",  # was GET /app/installation
    f"/pipeline/{OWNER}/enhancements%3Fper_page=1",  # was a query injected into the URL
    f"/pipeline/{OWNER}/..%2Fsecret",  # was GET /repos/secret/installation
    f"/pipeline/{OWNER}/..%2Fsecret.json",
    f"/pipeline/{OWNER}/enhancements%23fragment",
    f"/pipeline/{OWNER}/enhancements%2Fgit%2Frefs.json",
    f"/pipeline/{OWNER}/%2E%2E",
    f"/pipeline/{OWNER}/%2E.json",
    f"/pipeline/{OWNER}/en%20hancements",
    f"/pipeline/{OWNER}/enhancements%00",
    f"/pipeline/{OWNER}/%C3%BCn%C3%AFc%C3%B6de",
    f"/pipeline/{OWNER}/{'r' * 101}",
    "/pipeline/-leading-hyphen/enhancements",
    "/pipeline/under_score_/enhancements",
    f"/pipeline/{'o' * 40}/enhancements",
    "/pipeline/%7Bowner%7D/enhancements",
    "/pipeline/kubernetes-demo%2F..%2F..%2Fapp/x",
]


async def test_names_outside_githubs_rules_are_a_404_with_no_request_made(
    box: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for path in HOSTILE_PATHS:
        start = len(box.double.requests)
        status, _, body = await get(box, path)
        made = [f"{r.method} {r.path} {r.query}" for r in box.double.requests[start:]]
        assert (status, made) == (404, []), path
        assert "Traceback" not in body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Names GitHub allows still work: a dot, an underscore, a hyphen in the repository.
    box.double.add_repo(OWNER, "docs.v2_x-y", {"README.md": "hi\n"})
    status, _, body = await get(box, f"/pipeline/{OWNER}/docs.v2_x-y.json")
    assert (status, json.loads(body)["repository"]) == (200, f"{OWNER}/docs.v2_x-y")
    assert (await get(box, f"/pipeline/{REPO}.json"))[0] == 200


async def test_a_team_named_by_configuration_stays_in_its_url_segment(box: Harness) -> None:
    """A team slug is one path segment whatever it holds: `../../../app` does not climb
    out of `/orgs/{org}/teams/` (the URL library would resolve the dots otherwise)."""
    config = "extends: kep\nroles:\n  approver:\n    teams: [kubernetes-demo/../../../app]\n"
    box.double.push(REPO, "main", {".github/kepbot.yml": config}, "Config", "carol")
    number = open_pr(box.double)
    made = box.double.add_comment(REPO, number, "/kep approve", "bob")
    start = len(box.double.requests)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle(WAIT)
    paths = [r.path for r in box.double.requests[start:]]
    assert "/orgs/kubernetes-demo/teams/../../../app/memberships/bob" in paths, paths
    outside = [
        path
        for path in paths
        if not path.startswith((f"/repos/{OWNER}/", f"/orgs/{OWNER}/teams/", "/installation/"))
        and path != "/app"
        and not path.startswith("/app/installations/")
    ]
    assert outside == []
    assert "status: provisional" in text_at(box.double), "bob holds no role"


# -- the page's budget -----------------------------------------------------------------


async def test_repositories_that_are_not_shown_are_cached_like_pages(box: Harness) -> None:
    for path in (
        "/pipeline/nobody/nothing",  # no such repository
        f"/pipeline/{OWNER}/secret",  # installed, private
        "/pipeline/elsewhere/enhancements",  # not installed
    ):
        start = len(box.double.requests)
        assert (await get(box, f"{path}.json"))[0] == 404
        first = len(box.double.requests) - start
        assert first >= 1, "the first view asks GitHub"
        for suffix in ("", ".json", "", ".json"):
            assert (await get(box, f"{path}{suffix}"))[0] == 404
        assert len(box.double.requests) - start == first, f"{path}: asked again"


async def test_concurrent_views_of_one_repository_build_it_once(box: Harness) -> None:
    start = len(box.double.requests)
    answers = await asyncio.gather(*(get(box, f"/pipeline/{REPO}.json") for _ in range(6)))
    assert {status for status, _, _ in answers} == {200}
    assert len({body for _, _, body in answers}) == 1
    lookups = [r for r in box.double.requests[start:] if r.path == f"/repos/{REPO}/installation"]
    assert len(lookups) == 1


async def test_page_requests_per_client_are_limited() -> None:
    """Three requests a client, then 429 with Retry-After and no request to GitHub; behind
    one proxy the client is the address the proxy appended, whatever the client wrote to
    the left of it; an IPv6 client counts by its /64."""
    limits = {
        "kepbot_page_burst": 3,
        "kepbot_page_requests_per_minute": 6.0,  # a token every 10 s
        "kepbot_trusted_proxies": 1,
    }
    async with started(**limits) as box:

        async def view(client: str) -> tuple[int, dict[str, str], str]:
            return await get(box, f"/pipeline/{REPO}.json", {"X-Forwarded-For": client})

        assert [(await view("203.0.113.7"))[0] for _ in range(3)] == [200, 200, 200]
        start = len(box.double.requests)
        status, headers, body = await view("203.0.113.7")
        assert status == 429 and 1 <= int(headers["Retry-After"]) <= 10
        assert json.loads(body) == {"message": "Too Many Requests"}
        status, _, _ = await view("198.51.100.10, 203.0.113.7")  # a forged entry on the left
        assert status == 429
        status, _, body = await get(box, f"/pipeline/{REPO}", {"X-Forwarded-For": "203.0.113.7"})
        assert (status, body) == (429, "Too Many Requests")
        assert box.double.requests[start:] == [], "a refused view costs GitHub nothing"
        assert (await view("198.51.100.9"))[0] == 200, "another client has its own bucket"
        assert [(await view(f"2001:db8::{n}"))[0] for n in (1, 2, 3, 4)] == [200, 200, 200, 429]


async def test_a_github_failure_is_a_502_and_is_not_cached(
    box: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    box.double.inject("GET", rf"^/repos/{REPO}/installation$", 422, times=1)
    status, _, body = await get(box, f"/pipeline/{REPO}.json")
    assert status == 502 and "Traceback" not in body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await get(box, f"/pipeline/{REPO}.json"))[0] == 200, "the failure was not kept"


async def test_with_a_personal_token_only_repositories_it_can_push_to_are_shown() -> None:
    """A bot user's token reads every public repository on GitHub: the page must not build
    (and spend the budget on) repositories the bot does not work in."""
    credentials = app_credentials()
    double = seed(credentials)
    double.add_repo("elsewhere", "enhancements", {"keps/sig-x/1-a/kep.yaml": "title: A\n"})
    token = double.add_personal_token("kepbot-user")
    double.set_permission(REPO, "kepbot-user", "write")
    async with harness(double, None, token=token, settings=UNLIMITED) as box:
        assert (await get(box, f"/pipeline/{REPO}.json"))[0] == 200
        start = len(double.requests)
        assert (await get(box, "/pipeline/elsewhere/enhancements.json"))[0] == 404
        assert [r.path for r in double.requests[start:]] == ["/repos/elsewhere/enhancements"]
