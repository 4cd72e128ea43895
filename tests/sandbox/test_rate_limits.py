"""Primary rate limits: headers on every response, per-caller budgets, 304s for free,
exhaustion answered as GitHub does."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import Sandbox, new_double


async def test_every_response_carries_rate_limit_headers_that_decrement(
    gh: GitHubAPI, repo: str, installation: int
) -> None:
    await gh.getitem(f"/repos/{repo}")
    assert gh.rate_limit is not None
    limit, first = gh.rate_limit.limit, gh.rate_limit.remaining  # gidgethub mutates the object
    await gh.getitem(f"/repos/{repo}/contents/README.md")
    assert limit == 5000
    assert gh.rate_limit.remaining == first - 1


async def test_budgets_are_per_caller(
    sandbox: Sandbox, gh: GitHubAPI, double: GitHubDouble, repo: str, installation: int
) -> None:
    await gh.getitem(f"/repos/{repo}")
    anonymous = sandbox.client()
    await anonymous.getitem(f"/repos/{repo}")
    assert anonymous.rate_limit is not None and anonymous.rate_limit.limit == 60
    assert double.rate_limit_remaining(f"installation:{installation}") == 4999


async def test_conditional_get_304_does_not_count(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    cache: dict[str, Any] = {}
    gh = sandbox.client(await sandbox.installation_token(installation), cache=cache)
    label = f"installation:{installation}"
    first = await gh.getitem(f"/repos/{repo}/contents/README.md")
    after_first = double.rate_limit_remaining(label)
    second = await gh.getitem(f"/repos/{repo}/contents/README.md")
    assert second == first
    assert double.requests[-1].status == 304
    assert double.rate_limit_remaining(label) == after_first
    double.push(repo, "main", {"README.md": "changed\n"})
    third = await gh.getitem(f"/repos/{repo}/contents/README.md")
    assert double.requests[-1].status == 200 and third["sha"] != first["sha"]
    assert double.rate_limit_remaining(label) == (after_first or 0) - 1


async def test_rate_limit_endpoint_is_free_and_reports_core_and_search(
    gh: GitHubAPI, double: GitHubDouble, installation: int
) -> None:
    status = await gh.getitem("/rate_limit")
    again = await gh.getitem("/rate_limit")
    assert status["resources"]["core"] == again["resources"]["core"]
    assert status["rate"] == status["resources"]["core"]
    assert status["resources"]["search"]["limit"] == 30


async def test_exhausted_budget_answers_403_with_remaining_zero(
    gh: GitHubAPI, double: GitHubDouble, repo: str, installation: int
) -> None:
    double.set_rate_limit_remaining(f"installation:{installation}", 1)
    await gh.getitem(f"/repos/{repo}")
    assert gh.rate_limit is not None and gh.rate_limit.remaining == 0
    with pytest.raises(RateLimitExceeded) as error:
        await gh.getitem(f"/repos/{repo}")
    assert error.value.status_code == 403
    assert str(error.value) == f"API rate limit exceeded for installation ID {installation}."
    assert error.value.headers["x-ratelimit-remaining"] == "0"
    assert int(error.value.headers["x-ratelimit-reset"]) > 0
    assert double.requests[-1].status == 403


async def test_exhausted_budget_can_answer_429(credentials: Any) -> None:
    double = new_double(credentials, rate_limit=2, exhausted_status=429)
    repo = double.add_repo("octo", "r", {"a": "a"})
    async with testing.sandbox(double, credentials=credentials) as running:
        gh = running.client(double.installation_token(double.add_installation("octo")))
        await gh.getitem(f"/repos/{repo}")
        await gh.getitem(f"/repos/{repo}")
        with pytest.raises(BadRequest) as error:
            await gh.getitem(f"/repos/{repo}")
        assert error.value.status_code == 429
        assert not isinstance(error.value, RateLimitExceeded)


async def test_search_has_its_own_budget(
    gh: GitHubAPI, double: GitHubDouble, repo: str, installation: int
) -> None:
    await gh.getitem("/search/issues?q=repo:octo/enhancements")
    assert gh.rate_limit is not None and gh.rate_limit.limit == 30
    assert double.rate_limit_remaining(f"installation:{installation}", "search") == 29
