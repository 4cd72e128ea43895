"""Credentials against the double: the App JWT's claims, installation tokens cached and
refreshed once, a token refused mid-work replaced, token mode, and the bot's own login."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from gidgethub import BadRequest

from bot.github.auth import AppAuth, TokenAuth
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
