"""The bot's kept comments, one-time replies, reactions as a claim, and quoting user text
(bot.github.comments), through the double."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.github.client import KepbotAPI
from bot.github.comments import (
    MAX_BODY,
    bot_reacted,
    claim,
    find_comment,
    marker_tag,
    post_once,
    quote_user_text,
    react,
    upsert_comment,
)
from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox

from .conftest import KEP, requests

STATUS = "status"


@pytest.fixture
def pr(double: GitHubDouble, repo: str) -> int:
    return double.open_pull_request(repo, "kep", {KEP: "status: provisional\n"}, "KEP")


async def test_upsert_edits_one_comment_in_place(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    bot = double.bot_login
    first = await upsert_comment(gh, repo, pr, STATUS, "Status: provisional", bot)
    same = await upsert_comment(gh, repo, pr, STATUS, "Status: provisional", bot)
    moved = await upsert_comment(gh, repo, pr, STATUS, "Status: implementable", bot)
    again = await upsert_comment(gh, repo, pr, STATUS, "Status: implemented", bot)
    comment_id = first[0]
    assert first == (comment_id, True, True)
    assert same == (comment_id, False, False)
    assert moved == again == (comment_id, False, True)
    comments = double.comments(repo, pr)
    assert [c.id for c in comments] == [comment_id]
    assert comments[0].body == "<!-- kepbot:status -->\nStatus: implemented"
    assert comments[0].user == bot
    assert len(requests(double, "PATCH", "/issues/comments/")) == 2
    assert len(requests(double, "POST", f"/issues/{pr}/comments")) == 1


async def test_a_human_comment_with_the_marker_is_not_the_bots(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    forged = double.add_comment(repo, pr, f"{marker_tag(STATUS)}\nall approved", "mallory")
    comment_id, created, _ = await upsert_comment(
        gh, repo, pr, STATUS, "Status: x", double.bot_login
    )
    assert created and comment_id != forged.id
    assert double.comments(repo, pr)[0].body == f"{marker_tag(STATUS)}\nall approved"
    assert requests(double, "PATCH", "/issues/comments/") == []


async def test_the_bots_comment_is_found_beyond_the_first_page(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    for index in range(105):
        double.add_comment(repo, pr, f"comment {index}", "chatty")
    made, created, _ = await upsert_comment(gh, repo, pr, STATUS, "v1", double.bot_login)
    found, created_again, changed = await upsert_comment(
        gh, repo, pr, STATUS, "v2", double.bot_login
    )
    assert created and not created_again and changed and found == made
    assert len(double.comments(repo, pr)) == 106
    pages = {r.query.get("page") for r in requests(double, "GET", f"/issues/{pr}/comments")}
    assert "2" in pages


async def test_markers_do_not_match_each_others_prefix(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    bot = double.bot_login
    await upsert_comment(gh, repo, pr, "status:2", "second", bot)
    _, created, _ = await upsert_comment(gh, repo, pr, "status", "first", bot)
    assert created
    found = await find_comment(gh, repo, pr, "status", bot)
    assert found is not None and found["body"].endswith("first")


async def test_post_once(gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int) -> None:
    bot = double.bot_login
    marker = "refusal:4242:0"
    assert await post_once(gh, repo, pr, marker, "Only approvers can accept.", bot) is True
    assert await post_once(gh, repo, pr, marker, "Only approvers can accept.", bot) is False
    assert await post_once(gh, repo, pr, "refusal:4242:1", "Unknown verb.", bot) is True
    bodies = [c.body for c in double.comments(repo, pr)]
    assert bodies == [
        "<!-- kepbot:refusal:4242:0 -->\nOnly approvers can accept.",
        "<!-- kepbot:refusal:4242:1 -->\nUnknown verb.",
    ]


async def test_over_long_bodies_are_truncated_not_refused(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    await upsert_comment(gh, repo, pr, STATUS, "x" * 70_000, double.bot_login)
    body = double.comments(repo, pr)[0].body
    assert len(body) == MAX_BODY and body.endswith("(truncated)")


@pytest.mark.parametrize("marker", ["", "a b", "x-->", "a--b", "<b>"])
def test_invalid_markers_are_refused(marker: str) -> None:
    with pytest.raises(ValueError):
        marker_tag(marker)


async def test_claim_is_won_by_exactly_one_concurrent_caller(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    command = double.add_comment(repo, pr, "/kep accept", "carol")
    results = await asyncio.gather(*(claim(gh, repo, comment_id=command.id) for _ in range(2)))
    assert sorted(results) == [False, True]
    reactions = double.reactions(repo, comment_id=command.id)
    assert [(r.user, r.content) for r in reactions] == [(double.bot_login, "eyes")]
    assert await claim(gh, repo, comment_id=command.id) is False  # a redelivery later


async def test_claim_on_the_pull_request_body(
    gh: KepbotAPI, double: GitHubDouble, repo: str, pr: int
) -> None:
    assert await claim(gh, repo, number=pr) is True
    assert await claim(gh, repo, number=pr) is False
    assert [r.content for r in double.reactions(repo, number=pr)] == ["eyes"]
    with pytest.raises(ValueError):
        await claim(gh, repo)


async def test_react_and_bot_reacted(
    gh: KepbotAPI, sandbox: Sandbox, double: GitHubDouble, repo: str, pr: int
) -> None:
    command = double.add_comment(repo, pr, "/kep approve", "carol")
    human = sandbox.client(double.add_personal_token("carol"))
    await human.post(
        f"/repos/{repo}/issues/comments/{command.id}/reactions", data={"content": "+1"}
    )
    bot = double.bot_login
    assert await bot_reacted(gh, repo, command.id, bot, "+1") is False  # carol's is not ours
    await react(gh, repo, comment_id=command.id, content="+1")
    await react(gh, repo, comment_id=command.id, content="+1")  # a repeat is harmless
    assert await bot_reacted(gh, repo, command.id, bot, "+1") is True
    assert await bot_reacted(gh, repo, command.id, bot, "-1") is False
    await react(gh, repo, number=pr, content="confused")
    assert [r.content for r in double.reactions(repo, number=pr)] == ["confused"]
    assert sorted(r.user for r in double.reactions(repo, comment_id=command.id)) == ["carol", bot]


UNESCAPED = re.compile(r"(?<!\\)[\[\]`|*_]")
MENTION = re.compile(r"@[A-Za-z0-9]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@org/team please look", "@\u200dorg/team please look"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("[click](http://x)", "\\[click\\](http://x)"),
        ("](http://x)", "\\](http://x)"),
        ("a | b", "a \\| b"),
        ("`code` *bold* _it_", "\\`code\\` \\*bold\\* \\_it\\_"),
        ("fixes #12 and o/r#3", "fixes #\u200d12 and o/r#\u200d3"),
        ("/kep approve", "\\/kep approve"),
        ("# heading", "\\# heading"),
        ("line one\n\n/lgtm\r\n> quote", "line one /lgtm &gt; quote"),
        ("<!-- kepbot:status -->", "&lt;!-- kepbot:status --&gt;"),
        ("a\u202eevil\u200bb", "aevilb"),
        ("AT&T", "AT&amp;T"),
        ("plain words", "plain words"),
    ],
)
def test_quote_user_text(text: str, expected: str) -> None:
    quoted = quote_user_text(text)
    assert quoted == expected
    assert MENTION.search(quoted) is None
    assert "<" not in quoted and ">" not in quoted and "\n" not in quoted
    assert UNESCAPED.search(quoted) is None


def test_quote_user_text_is_bounded() -> None:
    quoted = quote_user_text("@everyone " * 10_000, limit=100)
    assert len(quoted) <= 100 + 10 * len("\u200d")
    assert quoted.endswith("…") and MENTION.search(quoted) is None
    assert quote_user_text("x" * 500) == "x" * 199 + "…"
