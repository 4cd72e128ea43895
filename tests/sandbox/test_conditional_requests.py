"""Conditional requests as GitHub answers them: ETags that belong to the token that got
them, a 304 without `Link` (a client keeps each page's next link), and the open pull
request list by update time, which a push to a pull request's head moves."""

from __future__ import annotations

from typing import Any

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import SEED_FILES, AppCredentials, ManualClock, Sandbox, new_double


async def test_an_etag_belongs_to_the_token_that_got_it(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    url = f"{sandbox.base_url}/repos/{repo}/pulls?state=open"
    first = await sandbox.installation_token(installation)
    second = await sandbox.installation_token(installation)
    assert first != second
    async with sandbox.session.get(url, headers={"Authorization": f"token {first}"}) as answer:
        etag = answer.headers["ETag"]
        assert "Authorization" in answer.headers["Vary"]
    same = {"Authorization": f"token {first}", "If-None-Match": etag}
    async with sandbox.session.get(url, headers=same) as answer:
        assert answer.status == 304
    renewed = {"Authorization": f"token {second}", "If-None-Match": etag}
    async with sandbox.session.get(url, headers=renewed) as answer:
        assert answer.status == 200, "another token's ETag does not match"


async def test_a_list_page_answered_304_has_no_link_and_a_client_pages_on(
    sandbox: Sandbox, double: GitHubDouble, repo: str, installation: int
) -> None:
    for index in range(3):
        double.open_pull_request(repo, f"b{index}", {f"f{index}.md": "x\n"}, f"PR {index}")
    cache: dict[str, Any] = {}
    gh = sandbox.client(await sandbox.installation_token(installation), cache=cache)
    url = f"/repos/{repo}/pulls?state=open&per_page=2"
    first = [pull["number"] async for pull in gh.getiter(url)]
    start = len(double.requests)
    again = [pull["number"] async for pull in gh.getiter(url)]
    assert again == first and len(first) == 3
    assert [r.status for r in double.requests[start:]] == [304, 304], "both pages, both free"
    token = await sandbox.installation_token(installation)
    headers = {"Authorization": f"token {token}"}
    async with sandbox.session.get(f"{sandbox.base_url}{url}", headers=headers) as answer:
        assert "next" in answer.headers["Link"]
        headers["If-None-Match"] = answer.headers["ETag"]
    async with sandbox.session.get(f"{sandbox.base_url}{url}", headers=headers) as answer:
        assert answer.status == 304 and "Link" not in answer.headers


async def test_a_push_to_the_head_moves_the_pull_request_up_the_list(
    credentials: AppCredentials,
) -> None:
    clock = ManualClock()
    double = new_double(credentials, clock=clock)
    repo = double.add_repo("octo", "enhancements", SEED_FILES)
    installation = double.add_installation("octo")
    older = double.open_pull_request(repo, "older", {"a.md": "a\n"}, "Older")
    clock.advance(60)
    newer = double.open_pull_request(repo, "newer", {"b.md": "b\n"}, "Newer")
    clock.advance(60)
    async with testing.sandbox(double, credentials=credentials) as running:
        gh = await running.installation_client(installation)
        url = f"/repos/{repo}/pulls?state=open&sort=updated&direction=desc"
        before = await gh.getitem(url)
        assert [p["number"] for p in before] == [newer, older]
        double.push(repo, "unrelated", {"c.md": "c\n"})
        assert [p["updated_at"] for p in await gh.getitem(url)] == [p["updated_at"] for p in before]
        clock.advance(60)
        file = f"/repos/{repo}/contents/a.md"
        found = await gh.getitem(f"{file}?ref=older")
        edit = {"message": "Edit", "content": "YWEK", "branch": "older", "sha": found["sha"]}
        await gh.put(file, data=edit)  # through the API, as the bot commits
        after = await gh.getitem(url)
        assert [p["number"] for p in after] == [older, newer]
        assert after[0]["updated_at"] > before[0]["updated_at"]
        clock.advance(60)
        double.push(repo, "newer", {"b.md": "b2\n"})
        assert [p["number"] for p in await gh.getitem(url)] == [newer, older]
