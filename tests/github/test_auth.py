"""Credentials against the double: the App JWT's claims, installation tokens cached and
refreshed once, a token refused mid-work replaced, token mode, the bot's own login, and
installation tokens shared by several processes (a `TokenShare` kept in memory here; on
Redis in tests/server/test_hosted_tokens.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import jwt
import pytest
from gidgethub import BadRequest

from bot.github.auth import (
    SHARED_REFRESH_LOCK_SECONDS,
    AppAuth,
    RefreshLock,
    SharedToken,
    TokenAuth,
    TokenShare,
)
from bot.github.client import GitHubClient
from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import AppCredentials, ManualClock, Sandbox, new_double

from .conftest import FakeSleep, requests

TOKENS = "/access_tokens"


async def test_jwt_claims_follow_githubs_rules_and_the_double_accepts_them(
    auth: AppAuth, credentials: AppCredentials, clock: ManualClock, client: GitHubClient
) -> None:
    token = auth.jwt()
    claims = jwt.decode(
        token, credentials.public_key, algorithms=["RS256"], options={"verify_exp": False}
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims == {"iat": int(clock()) - 60, "exp": int(clock()) + 540, "iss": "1"}
    assert await client.bot_login() == "kepbot[bot]"  # GET /app with this JWT


async def test_jwt_is_reused_then_reissued_before_it_expires(
    auth: AppAuth, clock: ManualClock, double: GitHubDouble, sandbox: Sandbox, installation: int
) -> None:
    first = auth.jwt()
    clock.advance(400)
    assert auth.jwt() == first
    clock.advance(80)  # 8 minutes in: 2 minutes of the first JWT left
    second = auth.jwt()
    assert second != first
    app = await sandbox.client().getitem("/app", jwt=second)
    assert app["slug"] == "kepbot" and double.requests[-1].identity == "app"


async def test_installation_token_is_fetched_once_and_cached(
    client: GitHubClient, double: GitHubDouble, repo: str, installation: int
) -> None:
    gh = await client.for_installation(installation)
    await gh.getitem(f"/repos/{repo}")
    again = await client.for_installation(installation)
    await again.getitem(f"/repos/{repo}/branches/main")
    assert again is gh
    assert len(requests(double, "POST", TOKENS)) == 1
    assert double.requests[-1].identity == f"installation:{installation}"


async def test_twenty_callers_with_an_expired_token_cause_one_token_request(
    client: GitHubClient, double: GitHubDouble, clock: ManualClock, repo: str, installation: int
) -> None:
    await client.for_installation(installation)
    clock.advance(3600)  # the token has expired, for the bot and the double alike
    since = len(double.requests)
    apis = await asyncio.gather(*(client.for_installation(installation) for _ in range(20)))
    assert len(requests(double, "POST", TOKENS, since)) == 1
    assert all(api is apis[0] for api in apis)
    assert (await apis[0].getitem(f"/repos/{repo}"))["full_name"] == repo
    assert double.requests[-1].status == 200


async def test_token_expiring_mid_work_is_replaced_after_one_401(
    credentials: AppCredentials, clock: ManualClock, sleeps: FakeSleep
) -> None:
    # The double's clock runs ahead of the bot's: the token dies while the bot trusts it.
    double = new_double(credentials, clock=clock, token_lifetime=120)
    repo = double.add_repo("octo", "enhancements", {"README.md": "hi\n"})
    installation = double.add_installation("octo")
    bot_clock = ManualClock(start=clock())
    auth = AppAuth(credentials.app_id, credentials.private_key, clock=bot_clock)
    async with testing.sandbox(double, credentials=credentials) as running:
        client = GitHubClient(running.session, auth, api_url=running.base_url, sleep=sleeps)
        gh = await client.for_installation(installation)
        await gh.getitem(f"/repos/{repo}")
        clock.advance(121)
        since = len(double.requests)
        assert (await gh.getitem(f"/repos/{repo}/branches/main"))["name"] == "main"
    log = [(r.method, r.status) for r in double.requests[since:]]
    assert log == [("GET", 401), ("POST", 201), ("GET", 200)]
    assert sleeps.calls == []


async def test_a_token_refused_twice_is_renewed_only_once(
    client: GitHubClient, double: GitHubDouble, repo: str, installation: int
) -> None:
    api = await client.for_installation(installation)
    double.inject("GET", r"^/repos/octo/enhancements$", 401, times=2)
    since = len(double.requests)
    with pytest.raises(BadRequest) as refused:
        await api.getitem(f"/repos/{repo}")
    assert refused.value.status_code == 401
    assert [(r.method, r.status) for r in double.requests[since:]] == [
        ("GET", 401),
        ("POST", 201),
        ("GET", 401),
    ]


async def test_token_mode_uses_the_personal_token_and_knows_its_login(
    sandbox: Sandbox, double: GitHubDouble, repo: str, sleeps: FakeSleep
) -> None:
    token = double.add_personal_token("kep-bot-user")
    client = GitHubClient(sandbox.session, TokenAuth(token), api_url=sandbox.base_url, sleep=sleeps)
    gh = await client.for_installation(4242)  # installation ids mean nothing in token mode
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert double.requests[-1].identity == "user:kep-bot-user"
    assert await client.bot_login() == "kep-bot-user"
    assert await client.bot_login() == "kep-bot-user"
    assert len(requests(double, "GET", "/user")) == 1
    assert requests(double, "POST", TOKENS) == []


async def test_app_mode_login_is_the_bot_user_and_cached(
    client: GitHubClient, double: GitHubDouble
) -> None:
    logins = await asyncio.gather(client.bot_login(), client.bot_login())
    assert list(logins) == ["kepbot[bot]", "kepbot[bot]"]
    assert [r.identity for r in requests(double, "GET", "/app")] == ["app"]


class FleetTokens:
    """A `TokenShare` in memory, as Redis would hold it for a fleet (its lock never runs
    out by itself); `answering=False` is a store that cannot be reached."""

    def __init__(self, *, answering: bool = True) -> None:
        self.answering = answering
        self.tokens: dict[int, SharedToken] = {}
        self.locks: dict[int, str] = {}

    async def read(self, installation_id: int) -> SharedToken | None:
        return self.tokens.get(installation_id) if self.answering else None

    async def store(self, installation_id: int, token: SharedToken) -> None:
        if self.answering:
            self.tokens[installation_id] = token

    async def lock_refresh(self, installation_id: int, owner: str, seconds: float) -> RefreshLock:
        if not self.answering:
            return RefreshLock.UNAVAILABLE
        if installation_id in self.locks:
            return RefreshLock.HELD
        self.locks[installation_id] = owner
        return RefreshLock.TAKEN

    async def unlock_refresh(self, installation_id: int, owner: str) -> None:
        if self.locks.get(installation_id) == owner:
            del self.locks[installation_id]


Fleet = Callable[..., GitHubClient]


@pytest.fixture
def fleet(sandbox: Sandbox, credentials: AppCredentials, clock: ManualClock) -> Fleet:
    """Makes the client of one worker process of a fleet sharing tokens through `shared`."""

    def worker(
        shared: TokenShare, lock_seconds: float = SHARED_REFRESH_LOCK_SECONDS
    ) -> GitHubClient:
        auth = AppAuth(
            credentials.app_id,
            credentials.private_key,
            clock=clock,
            shared=shared,
            shared_lock_seconds=lock_seconds,
        )
        return GitHubClient(
            sandbox.session, auth, api_url=sandbox.base_url, clock=clock, sleep=FakeSleep(clock)
        )

    return worker


async def token(client: GitHubClient, installation: int) -> str:
    return await client.credentials.token_for(client.app_api, installation)


async def test_two_processes_sharing_tokens_mint_one_between_them(
    fleet: Fleet,
    double: GitHubDouble,
    installation: int,
) -> None:
    shared = FleetTokens()
    first, second = (fleet(shared) for _ in range(2))
    got = await asyncio.gather(*(token(c, installation) for c in [first, second] * 10))
    assert len(set(got)) == 1
    assert len(requests(double, "POST", TOKENS)) == 1
    assert shared.tokens[installation].value == got[0]
    assert shared.locks == {}  # released by its holder


async def test_a_refused_token_is_not_taken_back_from_the_share(
    fleet: Fleet,
    double: GitHubDouble,
    repo: str,
    installation: int,
) -> None:
    shared = FleetTokens()
    first, second = (fleet(shared) for _ in range(2))
    refused = await token(first, installation)
    gh = await second.for_installation(installation)  # the shared token: no request
    assert len(requests(double, "POST", TOKENS)) == 1
    double.inject("GET", r"^/repos/octo/enhancements$", 401)
    since = len(double.requests)
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    log = [(r.method, r.status) for r in double.requests[since:]]
    assert log == [("GET", 401), ("POST", 201), ("GET", 200)]  # not the refused one again
    renewed = shared.tokens[installation].value
    assert renewed != refused
    first.credentials.invalidate(installation, refused)  # refused to the first process too
    assert await token(first, installation) == renewed
    assert len(requests(double, "POST", TOKENS)) == 2


async def test_a_shared_token_is_taken_only_until_its_refresh_time(
    fleet: Fleet,
    clock: ManualClock,
    double: GitHubDouble,
    installation: int,
) -> None:
    shared = FleetTokens()
    first, second = (fleet(shared) for _ in range(2))
    old = await token(first, installation)
    assert shared.tokens[installation].refresh_at == clock() + 3600 - 300
    clock.advance(3600 - 301)
    assert await token(second, installation) == old  # a second before its refresh time
    clock.advance(1)
    renewed = await token(second, installation)
    assert renewed != old
    assert await token(first, installation) == renewed
    assert len(requests(double, "POST", TOKENS)) == 2


async def test_a_refresh_lock_left_by_a_dead_process_delays_a_token_by_its_time_only(
    fleet: Fleet,
    double: GitHubDouble,
    installation: int,
) -> None:
    shared = FleetTokens()
    shared.locks[installation] = "a process that died"
    client = fleet(shared, lock_seconds=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    got = await token(client, installation)
    assert 0.2 <= loop.time() - started < 5
    assert shared.tokens[installation].value == got  # shared with the others all the same
    assert shared.locks == {installation: "a process that died"}  # not its lock to release
    assert len(requests(double, "POST", TOKENS)) == 1


async def test_a_share_that_does_not_answer_leaves_each_process_its_own_tokens(
    fleet: Fleet,
    double: GitHubDouble,
    installation: int,
) -> None:
    shared = FleetTokens(answering=False)
    first, second = (fleet(shared) for _ in range(2))
    got = await asyncio.gather(*(token(c, installation) for c in [first, second] * 5))
    assert len(set(got)) == 2
    assert len(requests(double, "POST", TOKENS)) == 2
    assert await token(first, installation) == got[0]  # each caches its own
