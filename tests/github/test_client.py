"""The client's transport rules against the double: retries on 5xx and timeouts, rate-limit
waits, the pinned API version, GitHub Enterprise Server paths, conditional GETs, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded
from multidict import CIMultiDict

from bot.github.auth import AppAuth
from bot.github.client import GitHubClient, KepbotAPI, Sleep
from bot.github.repo import update_file
from bot.github.retry import RetryPolicy
from bot.metrics import default_metrics
from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import AppCredentials, ManualClock, Sandbox, running
from bot.settings import Settings

from .conftest import KEP, FakeSleep, requests

REPO_PATH = r"^/repos/octo/enhancements$"


def statuses(double: GitHubDouble, method: str, path: str, since: int = 0) -> list[int]:
    return [r.status for r in requests(double, method, path, since) if r.path == path]


async def test_a_502_is_retried_with_backoff_until_it_succeeds(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    double.inject("GET", REPO_PATH, 502, times=2)
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert statuses(double, "GET", f"/repos/{repo}") == [502, 502, 200]
    assert sleeps.calls == [1.0, 2.0]


async def test_5xx_gives_up_after_the_bounded_attempts(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    double.inject("GET", REPO_PATH, 503, times=None)
    with pytest.raises(GitHubBroken):
        await gh.getitem(f"/repos/{repo}")
    assert statuses(double, "GET", f"/repos/{repo}") == [503] * 5
    assert sleeps.calls == [1.0, 2.0, 4.0, 8.0]


async def test_a_post_is_not_repeated_after_a_5xx(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    number = double.open_issue(repo, "Tracking")
    double.inject("POST", r"/comments$", 502)
    with pytest.raises(GitHubBroken):
        await gh.post(f"/repos/{repo}/issues/{number}/comments", data={"body": "hi"})
    assert len(requests(double, "POST", "/comments")) == 1
    assert sleeps.calls == []


async def test_a_timed_out_get_is_retried(
    sandbox: Sandbox,
    auth: AppAuth,
    double: GitHubDouble,
    repo: str,
    installation: int,
    sleeps: FakeSleep,
) -> None:
    errors_before = default_metrics().github_requests.value(status="error")
    client = GitHubClient(
        sandbox.session,
        auth,
        api_url=sandbox.base_url,
        sleep=sleeps,
        policy=RetryPolicy(timeout=0.1, jitter=lambda: 1.0),
    )
    gh = await client.for_installation(installation)
    fault = double.inject("GET", REPO_PATH, None, latency=0.4)
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert fault.hits == 1 and sleeps.calls == [1.0]
    assert default_metrics().github_requests.value(status="error") == errors_before + 1


@pytest.mark.parametrize(("status", "after"), [(403, "2"), (429, "3")])
async def test_secondary_rate_limit_waits_exactly_retry_after(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep, status: int, after: str
) -> None:
    double.inject("GET", REPO_PATH, status, headers={"retry-after": after})
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert sleeps.calls == [float(after)]
    assert statuses(double, "GET", f"/repos/{repo}") == [status, 200]


async def test_secondary_rate_limit_hits_posts_too(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    number = double.open_issue(repo, "Tracking")
    double.inject("POST", r"/comments$", 403, headers={"retry-after": "2"})
    await gh.post(f"/repos/{repo}/issues/{number}/comments", data={"body": "hi"})
    assert sleeps.calls == [2.0]
    assert [c.body for c in double.comments(repo, number)] == ["hi"]


# Attempts to spare, so that the 15-minute bound on a wait is what ends the retries.
@pytest.mark.parametrize("policy", [RetryPolicy(attempts=9, jitter=lambda: 1.0)], ids=["9"])
async def test_secondary_limit_without_retry_after_waits_a_minute_then_backs_off(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    double.inject("GET", REPO_PATH, 403, times=None, headers={"retry-after": None})
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}")
    assert "retry-after" not in error.value.headers
    assert sleeps.calls == [60.0, 120.0, 240.0, 480.0]  # 960 s is beyond the 15-minute bound
    assert statuses(double, "GET", f"/repos/{repo}") == [403] * 5
    double.clear_faults()
    body = {"message": "Must have admin rights to Repository.", "documentation_url": "x"}
    double.inject("GET", REPO_PATH, 403, headers={"retry-after": None}, body=body)
    with pytest.raises(BadRequest, match="Must have admin rights"):
        await gh.getitem(f"/repos/{repo}")
    assert len(sleeps.calls) == 4  # a 403 that is no rate limit is not waited on


async def test_primary_rate_limit_is_waited_out_until_reset(
    gh: KepbotAPI, double: GitHubDouble, repo: str, clock: ManualClock, sleeps: FakeSleep
) -> None:
    await gh.getitem(f"/repos/{repo}")
    bucket = double.limiter.set_remaining(f"installation:{gh.installation_id}", 0)
    clock.advance(bucket.reset - clock() - 60)  # the window resets in one minute
    since = len(double.requests)
    assert (await gh.getitem(f"/repos/{repo}/branches/main"))["name"] == "main"
    assert sleeps.calls == [61.0]  # until x-ratelimit-reset, plus a second for clock skew
    assert statuses(double, "GET", f"/repos/{repo}/branches/main", since) == [403, 200]


async def test_primary_rate_limit_too_far_away_raises_without_waiting(
    gh: KepbotAPI, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    double.set_rate_limit_remaining(f"installation:{gh.installation_id}", 0)  # reset in 1 h
    with pytest.raises(RateLimitExceeded):
        await gh.getitem(f"/repos/{repo}")
    assert sleeps.calls == []
    assert statuses(double, "GET", f"/repos/{repo}") == [403]


class HeldHere:
    """A `SharedWait` held in this process, as Redis holds it for hosted mode's workers:
    the later of the time held and the new one."""

    def __init__(self) -> None:
        self.until: dict[str, float] = {}

    async def resume_at(self, key: str) -> float | None:
        return self.until.get(key)

    async def hold_until(self, key: str, until: float) -> None:
        self.until[key] = max(until, self.until.get(key, until))


class HeldSleep:
    """A client's sleep that lasts until the test lets it go (a worker waiting meanwhile)."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.asleep = asyncio.Event()
        self.wake = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.asleep.set()
        await self.wake.wait()


async def test_a_rate_limit_answer_to_one_client_holds_every_client_sharing_the_wait(
    sandbox: Sandbox,
    auth: AppAuth,
    double: GitHubDouble,
    repo: str,
    installation: int,
    clock: ManualClock,
    policy: RetryPolicy,
) -> None:
    shared = HeldHere()
    first_sleep, second_sleep, alone_sleep = HeldSleep(), FakeSleep(clock), FakeSleep(clock)

    async def client(sleep: Sleep, shared_wait: HeldHere | None) -> KepbotAPI:
        made = GitHubClient(
            sandbox.session,
            auth,
            api_url=sandbox.base_url,
            sleep=sleep,
            clock=clock,
            policy=policy,
            shared_wait=shared_wait,
        )
        return await made.for_installation(installation)

    first = await client(first_sleep, shared)
    second = await client(second_sleep, shared)
    alone = await client(alone_sleep, None)  # one process: no shared wait
    told = clock()
    double.inject("GET", REPO_PATH, 403, headers={"retry-after": "30"})
    waiting = asyncio.create_task(first.getitem(f"/repos/{repo}"))
    await first_sleep.asleep.wait()  # the first client was told to wait 30 s, and waits
    assert shared.until == {str(installation): told + 30}
    since = len(double.requests)
    assert (await alone.getitem(f"/repos/{repo}/branches/main"))["name"] == "main"
    assert alone_sleep.calls == []
    assert (await second.getitem(f"/repos/{repo}/branches/main"))["name"] == "main"
    assert second_sleep.calls == [30.0]
    sent = requests(double, "GET", "/branches/main", since)
    assert [(r.status, r.time) for r in sent] == [(200, told), (200, told + 30)]
    first_sleep.wake.set()
    assert (await waiting)["full_name"] == repo
    assert first_sleep.calls == [30.0]  # its own wait, not the shared one again
    assert statuses(double, "GET", f"/repos/{repo}") == [403, 200]


async def test_a_shared_wait_is_bounded_by_the_longest_rate_limit_wait(
    sandbox: Sandbox,
    auth: AppAuth,
    repo: str,
    installation: int,
    clock: ManualClock,
    sleeps: FakeSleep,
    policy: RetryPolicy,
) -> None:
    shared = HeldHere()
    made = GitHubClient(
        sandbox.session,
        auth,
        api_url=sandbox.base_url,
        sleep=sleeps,
        clock=clock,
        policy=policy,
        shared_wait=shared,
    )
    gh = await made.for_installation(installation)
    shared.until[str(installation)] = clock() + 10 * 24 * 3600  # written by someone else
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert sleeps.calls == [policy.max_rate_limit_wait]  # 15 minutes, not 10 days


@pytest.fixture
async def traced() -> AsyncIterator[tuple[aiohttp.ClientSession, list[CIMultiDict[str]]]]:
    """A session that records the headers of every request it sends."""
    sent: list[CIMultiDict[str]] = []

    async def on_start(
        session: aiohttp.ClientSession, context: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        sent.append(CIMultiDict(params.headers))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, sent


async def test_every_request_pins_the_api_version(
    traced: tuple[aiohttp.ClientSession, list[CIMultiDict[str]]],
    sandbox: Sandbox,
    auth: AppAuth,
    double: GitHubDouble,
    repo: str,
    installation: int,
) -> None:
    session, sent = traced
    client = GitHubClient(session, auth, api_url=sandbox.base_url)
    gh = await client.for_installation(installation)
    await gh.getitem(f"/repos/{repo}")
    await client.bot_login()
    assert len(sent) == len(double.requests) == 3  # token, repository, app
    assert [h.get("X-GitHub-Api-Version") for h in sent] == ["2022-11-28"] * 3
    assert all(h["User-Agent"] == "kepbot" for h in sent)
    assert all("x-kepbot-retry-safe" not in h for h in sent)


async def test_the_version_header_is_what_the_double_answers_to(
    sandbox: Sandbox, auth: AppAuth, double: GitHubDouble, repo: str, installation: int
) -> None:
    number = double.open_issue(repo, "Tracking")
    pinned = await GitHubClient(sandbox.session, auth, api_url=sandbox.base_url).for_installation(
        installation
    )
    newer = await GitHubClient(
        sandbox.session, auth, api_url=sandbox.base_url, api_version="2026-03-10"
    ).for_installation(installation)
    assert "assignee" in await pinned.getitem(f"/repos/{repo}/issues/{number}")
    assert "assignee" not in await newer.getitem(f"/repos/{repo}/issues/{number}")


async def test_github_enterprise_server_api_v3_base_path(
    credentials: AppCredentials,
    double: GitHubDouble,
    repo: str,
    installation: int,
    auth: AppAuth,
    sleeps: FakeSleep,
) -> None:
    async with testing.sandbox(double, credentials=credentials, base_path="/api/v3") as served:
        assert served.base_url.endswith("/api/v3")
        client = GitHubClient(served.session, auth, api_url=served.base_url + "/", sleep=sleeps)
        gh = await client.for_installation(installation)
        result = await update_file(gh, repo, "main", "README.md", lambda t: t + "GHES\n", "Edit")
        assert await client.bot_login() == "kepbot[bot]"
        async with served.session.get(served.base_url.removesuffix("/api/v3") + "/app") as bare:
            assert bare.status == 404
    assert double.file_at(repo, "main", "README.md") == b"# Enhancements\nGHES\n"
    assert result.commit == double.branch_sha(repo, "main")
    assert [r.status for r in double.requests[:-1]] == [201, 200, 200, 200]


async def test_repeated_get_is_a_304_that_costs_no_rate_limit(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    identity = f"installation:{gh.installation_id}"
    first = await gh.getitem(f"/repos/{repo}/contents/{KEP}")
    remaining = double.rate_limit_remaining(identity)
    second = await gh.getitem(f"/repos/{repo}/contents/{KEP}")
    assert second == first
    assert statuses(double, "GET", f"/repos/{repo}/contents/{KEP}") == [200, 304]
    assert double.rate_limit_remaining(identity) == remaining
    double.push(repo, "main", {KEP: "status: implementable\n"})
    third = await gh.getitem(f"/repos/{repo}/contents/{KEP}")
    assert third["sha"] != first["sha"]
    assert statuses(double, "GET", f"/repos/{repo}/contents/{KEP}") == [200, 304, 200]


async def test_a_list_of_pull_requests_is_kept_without_its_api_urls_and_stays_conditional(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    """A page of 100 pull requests is mostly API URL templates the bot never follows: the
    ETag cache keeps the page without them (a 200 and the 304 after it answer the same),
    so the open pull requests of a busy repository stay conditional and light."""
    for index in range(120):
        double.open_pull_request(repo, f"b{index}", {f"docs/{index}.md": "x"}, "T", "", "alice")
    url = f"/repos/{repo}/pulls?state=open&per_page=100"
    first = [pull async for pull in gh.getiter(url)]
    again = [pull async for pull in gh.getiter(url)]
    assert again == first and len(first) == 120
    assert [r.status for r in double.requests if r.path == f"/repos/{repo}/pulls"] == [
        200,
        200,
        304,
        304,
    ]
    pull = first[0]
    assert "url" in pull and "html_url" in pull and "head" in pull
    assert [key for key in pull if key.endswith("_url")] == ["html_url", "issue_url"]
    assert "_links" not in pull and "repos_url" not in pull["head"]["repo"]["owner"]
    assert pull["head"]["repo"]["full_name"] == repo
    cache = gh._cache
    assert cache is not None and cache.currsize < 2_000_000  # with the URLs: 3.1 MB a 100


async def test_every_response_is_counted_and_the_rate_limit_recorded(
    gh: KepbotAPI, double: GitHubDouble, repo: str
) -> None:
    metrics = default_metrics()
    ok_before = metrics.github_requests.value(status=200)
    missing_before = metrics.github_requests.value(status=404)
    await gh.getitem(f"/repos/{repo}")
    with pytest.raises(Exception, match="Not Found"):
        await gh.getitem(f"/repos/{repo}/contents/nope.md")
    assert metrics.github_requests.value(status=200) == ok_before + 1
    assert metrics.github_requests.value(status=404) == missing_before + 1
    label = str(gh.installation_id)
    left = double.rate_limit_remaining(f"installation:{gh.installation_id}")
    assert metrics.rate_limit_remaining.value(installation=label) == left


async def test_connection_errors_are_retried_for_gets_only(
    double: GitHubDouble, auth: AppAuth, repo: str, installation: int, sleeps: FakeSleep
) -> None:
    async with aiohttp.ClientSession() as session:
        async with running(double) as base_url:
            client = GitHubClient(session, auth, api_url=base_url, sleep=sleeps)
            gh = await client.for_installation(installation)
            await gh.getitem(f"/repos/{repo}")
        # The server is gone: every attempt fails to connect.
        with pytest.raises(aiohttp.ClientError):
            await gh.getitem(f"/repos/{repo}/branches/main")
        assert len(sleeps.calls) == 4  # five attempts in all
        sleeps.calls.clear()
        with pytest.raises(aiohttp.ClientError):
            await gh.post(f"/repos/{repo}/issues", data={"title": "x"})
        assert sleeps.calls == []


async def test_client_from_settings_in_app_mode(
    sandbox: Sandbox,
    credentials: AppCredentials,
    installation: int,
    repo: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(
        github_webhook_secret="secret",
        github_app_id=credentials.app_id,
        github_private_key=credentials.private_key.replace("\n", "\\n"),
        github_api_url=sandbox.base_url + "/",
    )
    client = GitHubClient.from_settings(settings, sandbox.session, clock=clock)
    assert isinstance(client.credentials, AppAuth)
    gh = await client.for_installation(installation)
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert await client.bot_login() == "kepbot[bot]"
