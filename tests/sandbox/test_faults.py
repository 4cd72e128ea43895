"""Injected faults as the bot's client sees them: gidgethub exception types, documented
secondary-rate-limit bodies with or without retry-after, GitHub's 401 body, bounded
repetition, latency."""

from __future__ import annotations

import time

import pytest
from gidgethub import BadRequest, GitHubBroken, InvalidField, RateLimitExceeded
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox


async def test_5xx_raises_github_broken_then_recovers(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    fault = double.inject("GET", r"/repos/octo/enhancements$", 502, times=2)
    for _ in range(2):
        with pytest.raises(GitHubBroken) as error:
            await gh.getitem(f"/repos/{repo}")
        assert error.value.status_code == 502
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert fault.hits == 2


async def test_503_has_githubs_body(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    double.inject("*", r"/pulls", 503)
    with pytest.raises(GitHubBroken) as error:
        await gh.getitem(f"/repos/{repo}/pulls")
    assert error.value.status_code == 503


async def test_secondary_rate_limit_is_a_bad_request_with_retry_after(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.inject("POST", r"/comments$", 403)
    number = double.open_issue(repo, "t")
    with pytest.raises(BadRequest) as error:
        await gh.post(f"/repos/{repo}/issues/{number}/comments", data={"body": "x"})
    assert not isinstance(error.value, RateLimitExceeded)
    assert error.value.status_code == 403
    assert error.value.headers["retry-after"] == "60"
    assert int(error.value.headers["x-ratelimit-remaining"]) > 0
    assert str(error.value).startswith("You have exceeded a secondary rate limit.")
    assert double.comments(repo, number) == []
    assert (double.requests[-1].status, double.requests[-1].body) == (403, {"body": "x"})


async def test_429_with_custom_retry_after(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    double.inject("GET", r".*", 429, headers={"retry-after": "3"})
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}")
    assert error.value.status_code == 429 and error.value.headers["retry-after"] == "3"


@pytest.mark.parametrize("status", [403, 429])
async def test_retry_after_can_be_left_out(
    gh: GitHubAPI, double: GitHubDouble, repo: str, status: int
) -> None:
    double.inject("GET", r".*", status, headers={"Retry-After": None})
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}")
    assert error.value.status_code == status and "retry-after" not in error.value.headers
    assert str(error.value).startswith("You have exceeded a secondary rate limit.")


async def test_injected_401_is_githubs_bad_credentials(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    token = double.installation_token(installation)
    fault = double.inject("GET", r".*", 401)
    answers = []
    for sent in (token, "nope"):  # the injected 401, then a real refusal
        headers = {"Authorization": f"token {sent}"}
        async with sandbox.session.get(
            f"{sandbox.base_url}/repos/{repo}", headers=headers
        ) as response:
            answers.append((response.status, await response.json()))
    assert fault.hits == 1
    assert answers[0] == answers[1]
    assert answers[0][1]["message"] == "Bad credentials"


async def test_injected_primary_exhaustion_raises_rate_limit_exceeded(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    body = {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "x"}
    double.inject("GET", r".*", 403, headers={"x-ratelimit-remaining": "0"}, body=body)
    with pytest.raises(RateLimitExceeded):
        await gh.getitem(f"/repos/{repo}")


async def test_injected_validation_error(gh: GitHubAPI, double: GitHubDouble, repo: str) -> None:
    double.inject(
        "POST",
        r"/labels$",
        422,
        body={
            "message": "Validation Failed",
            "errors": [{"resource": "Label", "field": "name", "code": "invalid"}],
        },
    )
    with pytest.raises(InvalidField):
        await gh.post(f"/repos/{repo}/labels", data={"name": "x"})


async def test_latency_delays_but_answers_normally(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.inject("GET", r"/repos/octo/enhancements$", latency=0.2)
    started = time.monotonic()
    assert (await gh.getitem(f"/repos/{repo}"))["full_name"] == repo
    assert time.monotonic() - started >= 0.2
    assert double.requests[-1].duration >= 0.2


async def test_faults_match_method_and_path_only(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    double.inject("POST", r"/labels$", 500, times=None)
    assert (await gh.getitem(f"/repos/{repo}"))["name"] == "enhancements"
    with pytest.raises(GitHubBroken):
        await gh.post(f"/repos/{repo}/labels", data={"name": "a"})
    with pytest.raises(GitHubBroken):
        await gh.post(f"/repos/{repo}/labels", data={"name": "b"})
    double.clear_faults()
    await gh.post(f"/repos/{repo}/labels", data={"name": "c"})
    assert list(double.repo_labels(repo)) == ["c"]
