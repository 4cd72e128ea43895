"""Authentication: App JWT (RS256, iat/exp rules) → installation token → repository access;
expiry; token narrowing; personal tokens; anonymous callers."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import AppCredentials, ManualClock, Sandbox, new_double


def make_jwt(credentials: AppCredentials, *, iat: int, exp: int, key: str | None = None) -> str:
    claims = {"iat": iat, "exp": exp, "iss": str(credentials.app_id)}
    return jwt.encode(claims, key or credentials.private_key, algorithm="RS256")


async def test_jwt_identifies_the_app_and_its_bot_login(
    sandbox: Sandbox, installation: int
) -> None:
    app = await sandbox.app_client().getitem("/app")
    assert app["slug"] == "kepbot" and app["id"] == sandbox.credentials.app_id
    installations = [i async for i in sandbox.app_client().getiter("/app/installations")]
    assert [i["id"] for i in installations] == [installation]
    found = await sandbox.app_client().getitem("/repos/octo/enhancements/installation")
    assert found["id"] == installation and found["account"]["login"] == "octo"


async def test_token_from_jwt_reads_the_installed_repositories(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    response = await sandbox.app_client().post(
        f"/app/installations/{installation}/access_tokens", data=b""
    )
    assert response["token"].startswith("ghs_") and response["expires_at"].endswith("Z")
    gh = sandbox.client(response["token"])
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    listed = await gh.getitem("/installation/repositories")
    assert [r["full_name"] for r in listed["repositories"]] == [repo]
    assert double.requests[-1].identity == f"installation:{installation}"


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset", "message"),
    [
        (-60, 601, "too far in the future"),
        (-700, 600, "must be a numeric value representing the future time"),
        (120, 500, "'Issued at' claim"),
    ],
)
async def test_jwt_time_rules(
    sandbox: Sandbox, installation: int, iat_offset: int, exp_offset: int, message: str
) -> None:
    now = int(time.time())
    token = make_jwt(sandbox.credentials, iat=now + iat_offset, exp=now + iat_offset + exp_offset)
    with pytest.raises(BadRequest) as error:
        await sandbox.client().post(
            f"/app/installations/{installation}/access_tokens", data=b"", jwt=token
        )
    assert error.value.status_code == 401
    assert message in str(error.value)


async def test_jwt_of_exactly_ten_minutes_is_accepted(sandbox: Sandbox, installation: int) -> None:
    now = int(time.time())
    token = make_jwt(sandbox.credentials, iat=now - 60, exp=now + 540)
    app = await sandbox.client().getitem("/app", jwt=token)
    assert app["id"] == sandbox.credentials.app_id


async def test_jwt_signed_with_another_key_is_refused(sandbox: Sandbox, installation: int) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    token = make_jwt(sandbox.credentials, iat=now - 60, exp=now + 300, key=stranger.decode())
    with pytest.raises(BadRequest) as error:
        await sandbox.client().getitem("/app", jwt=token)
    assert error.value.status_code == 401
    assert str(error.value) == "A JSON web token could not be decoded"


async def test_installation_token_cannot_call_app_endpoints(gh: GitHubAPI) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.getitem("/app")
    assert error.value.status_code == 401


async def test_expired_installation_token_is_bad_credentials(credentials: AppCredentials) -> None:
    clock = ManualClock()
    double = new_double(credentials, clock=clock, token_lifetime=60)
    repo = double.add_repo("octo", "enhancements", {"a.md": "a"})
    installation = double.add_installation("octo")
    async with testing.sandbox(double, credentials=credentials) as running:
        gh = await running.installation_client(installation)
        await gh.getitem(f"/repos/{repo}")
        clock.advance(61)
        with pytest.raises(BadRequest) as error:
            await gh.getitem(f"/repos/{repo}")
        assert error.value.status_code == 401
        assert str(error.value) == "Bad credentials"


async def test_other_accounts_private_repos_are_invisible(
    sandbox: Sandbox, gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.add_repo("someone", "secret", {"a.md": "a"}, private=True)
    double.add_repo("someone", "public", {"a.md": "a"})
    with pytest.raises(BadRequest) as hidden:
        await gh.getitem("/repos/someone/secret")
    assert hidden.value.status_code == 404
    assert (await gh.getitem("/repos/someone/public"))["private"] is False
    with pytest.raises(BadRequest) as refused:
        await gh.post("/repos/someone/public/issues/1/comments", data={"body": "hi"})
    assert refused.value.status_code in (403, 404)


async def test_token_narrowed_to_repositories_and_permissions(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    double.add_repo("octo", "private-notes", {"a.md": "a"}, private=True)
    response = await sandbox.app_client().post(
        f"/app/installations/{installation}/access_tokens",
        data={"repositories": ["enhancements"], "permissions": {"issues": "read"}},
    )
    assert response["repository_selection"] == "selected"
    gh = sandbox.client(response["token"])
    with pytest.raises(BadRequest) as hidden:
        await gh.getitem("/repos/octo/private-notes")
    assert hidden.value.status_code == 404
    with pytest.raises(BadRequest) as refused:
        await gh.post(f"/repos/{repo}/labels", data={"name": "x", "color": "000000"})
    assert refused.value.status_code == 403
    assert str(refused.value) == "Resource not accessible by integration"
    with pytest.raises(BadRequest) as too_much:
        await sandbox.app_client().post(
            f"/app/installations/{installation}/access_tokens",
            data={"permissions": {"administration": "write"}},
        )
    assert too_much.value.status_code == 422


async def test_unknown_installation_is_404(sandbox: Sandbox) -> None:
    with pytest.raises(BadRequest) as error:
        await sandbox.app_client().post("/app/installations/999/access_tokens", data=b"")
    assert error.value.status_code == 404


async def test_personal_token_acts_as_its_user(
    sandbox: Sandbox, double: GitHubDouble, repo: str
) -> None:
    double.add_user("kep-bot", name="KEP Bot")
    gh = sandbox.client(double.add_personal_token("kep-bot"))
    me = await gh.getitem("/user")
    assert (me["login"], me["type"], me["name"]) == ("kep-bot", "User", "KEP Bot")
    with pytest.raises(BadRequest) as refused:
        await gh.post(f"/repos/{repo}/labels", data={"name": "x", "color": "000000"})
    assert refused.value.status_code == 403
    double.set_permission(repo, "kep-bot", "triage")
    await gh.post(f"/repos/{repo}/labels", data={"name": "x", "color": "000000"})
    assert "x" in double.repo_labels(repo)


async def test_anonymous_and_garbage_credentials(sandbox: Sandbox, repo: str) -> None:
    anonymous = sandbox.client()
    assert (await anonymous.getitem(f"/repos/{repo}"))["full_name"] == repo
    with pytest.raises(BadRequest) as needs_auth:
        await anonymous.post(f"/repos/{repo}/issues/1/comments", data={"body": "x"})
    assert needs_auth.value.status_code == 401
    with pytest.raises(BadRequest) as garbage:
        await sandbox.client("not-a-token").getitem(f"/repos/{repo}")
    assert garbage.value.status_code == 401
    assert str(garbage.value) == "Bad credentials"
    assert garbage.value.headers["x-ratelimit-limit"] == "60"
