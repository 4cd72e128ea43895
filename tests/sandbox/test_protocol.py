"""HTTP-level behaviour: API versions, GHES base path, unknown routes, malformed bodies,
and the request log."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import AppCredentials, Sandbox


async def test_supported_api_versions_are_accepted(sandbox: Sandbox, repo: str) -> None:
    for sent, selected in (
        (None, "2022-11-28"),
        ("2022-11-28", "2022-11-28"),
        ("2026-03-10", "2026-03-10"),
    ):
        headers = {"X-GitHub-Api-Version": sent} if sent else {}
        async with sandbox.session.get(
            f"{sandbox.base_url}/repos/{repo}", headers=headers
        ) as response:
            assert response.status == 200
            assert response.headers["x-github-api-version-selected"] == selected


async def test_unsupported_api_version_is_400(gh: GitHubAPI, repo: str) -> None:
    with pytest.raises(BadRequest) as error:
        await gh.getitem(f"/repos/{repo}", extra_headers={"X-GitHub-Api-Version": "v3"})
    assert error.value.status_code == 400
    assert '"v3", is not a supported version' in str(error.value)


async def test_version_2026_drops_singular_assignee_and_rate(
    gh: GitHubAPI, double: GitHubDouble, repo: str
) -> None:
    number = double.open_issue(repo, "t")
    old = await gh.getitem(f"/repos/{repo}/issues/{number}")
    new = await gh.getitem(
        f"/repos/{repo}/issues/{number}", extra_headers={"X-GitHub-Api-Version": "2026-03-10"}
    )
    assert "assignee" in old and "assignee" not in new and new["assignees"] == []
    limits = await gh.getitem("/rate_limit", extra_headers={"X-GitHub-Api-Version": "2026-03-10"})
    assert "rate" not in limits and "core" in limits["resources"]


async def test_ghes_base_path(double: GitHubDouble, credentials: AppCredentials, repo: str) -> None:
    installation = double.add_installation("octo")
    number = double.open_pull_request(
        repo, "many", {f"f{i:02d}.md": "x\n" for i in range(40)}, "Many"
    )
    async with testing.sandbox(double, credentials=credentials, base_path="/api/v3") as running:
        assert running.base_url.endswith("/api/v3")
        gh = await running.installation_client(installation)
        files = [f async for f in gh.getiter(f"/repos/{repo}/pulls/{number}/files")]
        assert len(files) == 40
        pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
        assert pr["url"] == f"{running.base_url}/repos/{repo}/pulls/{number}"
        assert double.requests[-1].path == f"/repos/{repo}/pulls/{number}"
        async with running.session.get(
            running.base_url.removesuffix("/api/v3") + f"/repos/{repo}"
        ) as r:
            assert r.status == 404


async def test_unknown_route_and_method_are_json_404(sandbox: Sandbox, repo: str) -> None:
    async with sandbox.session.get(f"{sandbox.base_url}/repos/{repo}/nothing-here") as response:
        assert response.status == 404
        assert (await response.json())["message"] == "Not Found"
    async with sandbox.session.post(f"{sandbox.base_url}/repos/{repo}") as response:
        assert response.status == 404


async def test_malformed_json_is_400(sandbox: Sandbox, double: GitHubDouble, repo: str) -> None:
    token = double.installation_token(double.add_installation("octo"))
    async with sandbox.session.post(
        f"{sandbox.base_url}/repos/{repo}/labels",
        data=b"{not json",
        headers={"Authorization": f"token {token}"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["message"] == "Problems parsing JSON"


async def test_request_log_records_what_the_bot_did(
    gh: GitHubAPI, double: GitHubDouble, repo: str, installation: int
) -> None:
    await gh.post(f"/repos/{repo}/labels", data={"name": "kind/kep", "color": "00ff00"})
    entry = double.requests[-1]
    assert (entry.method, entry.path, entry.status) == ("POST", f"/repos/{repo}/labels", 201)
    assert entry.identity == f"installation:{installation}"
    assert entry.body == {"name": "kind/kep", "color": "00ff00"}
    token_requests = [r for r in double.requests if r.path.endswith("/access_tokens")]
    assert token_requests and token_requests[0].identity == "app"


async def test_request_log_keeps_the_headers_but_not_the_secret(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    token = double.installation_token(installation)
    sent = {"Authorization": f"Bearer {token}", "X-GitHub-Api-Version": "2022-11-28"}
    for headers in (sent, {"Authorization": token}, {}):
        async with sandbox.session.get(f"{sandbox.base_url}/repos/{repo}", headers=headers):
            pass
    with_scheme, bare, anonymous = double.requests[-3:]
    assert with_scheme.headers["x-github-api-version"] == "2022-11-28"
    assert with_scheme.auth_scheme == "Bearer" and bare.auth_scheme == ""
    assert anonymous.auth_scheme is None
    for entry in (with_scheme, bare, anonymous):
        assert "authorization" not in entry.headers and token not in repr(entry)
        assert entry.headers["host"] == sandbox.base_url.removeprefix("http://")
