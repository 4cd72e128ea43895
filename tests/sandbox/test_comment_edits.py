"""Editing someone else's comment, as GitHub allows it: the author and anyone with write
access (or more) may; the REST comment keeps its author and only `updated_at` moves; the
`edited` delivery names the editor as its sender."""

from __future__ import annotations

import pytest
from gidgethub import BadRequest

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import ManualClock, Sandbox, new_double


async def test_an_edit_by_someone_with_write_access_keeps_the_author() -> None:
    clock = ManualClock()
    double = new_double(clock=clock)
    repo = double.add_repo("octo", "enhancements", {"README.md": "x"})
    installation = double.add_installation("octo")
    number = double.open_pull_request(repo, "b", {"a.txt": "a"}, "PR", author="alice")
    made = double.add_comment(repo, number, "Looks good.", "carol")
    double.set_permission(repo, "human1", "write")
    clock.advance(90)
    double.edit_comment(repo, made.id, "Looks good.\n/kep approve", by="human1")
    async with testing.sandbox(double) as running:
        gh = await running.installation_client(installation)
        shown = await gh.getitem(f"/repos/{repo}/issues/comments/{made.id}")
    assert shown["user"]["login"] == "carol"
    assert shown["body"] == "Looks good.\n/kep approve"
    assert shown["created_at"] < shown["updated_at"]
    _, edited = issue_comment_event(double, repo, made.id, "edited")
    assert edited["sender"]["login"] == "human1"
    assert edited["comment"]["user"]["login"] == "carol"
    assert edited["changes"] == {"body": {"from": "Looks good."}}
    _, created = issue_comment_event(double, repo, made.id, "created")
    assert created["sender"]["login"] == "carol"

    changes = double.update_pull_request(repo, number, body="/kep withdraw", by="human1")
    _, body_edit = pull_request_event(double, repo, number, "edited", changes=changes)
    assert body_edit["sender"]["login"] == "human1"
    assert body_edit["pull_request"]["user"]["login"] == "alice"


async def test_only_the_author_and_writers_may_edit_a_comment(
    sandbox: Sandbox, double: GitHubDouble, repo: str
) -> None:
    number = double.open_pull_request(repo, "b", {"a.txt": "a"}, "PR", author="alice")
    made = double.add_comment(repo, number, "Looks good.", "carol")
    double.set_permission(repo, "reader", "read")
    with pytest.raises(PermissionError):
        double.edit_comment(repo, made.id, "/kep approve", by="reader")
    token = double.add_personal_token("reader")
    with pytest.raises(BadRequest) as refused:
        await sandbox.client(token).patch(
            f"/repos/{repo}/issues/comments/{made.id}", data={"body": "/kep approve"}
        )
    assert refused.value.status_code == 403
    writer = double.add_personal_token("human1")
    double.set_permission(repo, "human1", "write")
    await sandbox.client(writer).patch(
        f"/repos/{repo}/issues/comments/{made.id}", data={"body": "Looks good.\n/kep approve"}
    )
    _, edited = issue_comment_event(double, repo, made.id, "edited")
    assert edited["sender"]["login"] == "human1", "the REST edit is remembered too"
    assert double.comments(repo, number)[0].user == "carol"
