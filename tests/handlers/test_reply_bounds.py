"""Replies are bounded: one comment gets at most one reply, gathering its refusals, and one
person gets at most `KEPBOT_REPLIES_PER_HOUR` replies (default 5) on a pull request in an
hour; past that their commands get only the 👍/👎 reaction. Each reply notifies everyone
subscribed and spends a content-creating request, which GitHub's secondary rate limit
counts for the whole installation."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kep_pr import REPO, comment, kep_text, open_pr
from test_links import K8S, started

from bot import demo
from bot.sandbox.harness import Harness, harness
from bot.sandbox.model import Comment
from bot.sandbox.testing import ManualClock, app_credentials
from bot.settings import Settings

BOT = "kepbot[bot]"


def replies(box: Harness, number: int) -> list[Comment]:
    """The bot's answers to commands (its status comment is no reply)."""
    return [
        c
        for c in box.double.comments(REPO, number)
        if c.user == BOT and "<!-- kepbot:status" not in c.body
    ]


def answers_to(box: Harness, number: int, comment_id: int) -> list[Comment]:
    """The replies whose marker names the comment (`c<id>`, or `c<id>-…` per command)."""
    marker = re.compile(rf"<!-- kepbot:c{comment_id}(?:-[^ ]*)? -->")
    return [c for c in replies(box, number) if marker.search(c.body)]


def bot_reactions(box: Harness, comment_id: int) -> set[str]:
    return {r.content for r in box.double.reactions(REPO, comment_id=comment_id) if r.user == BOT}


def read_only(box: Harness, login: str = "mallory") -> str:
    box.double.add_user(login)
    box.double.set_permission(REPO, login, "read")
    return login


async def test_a_thousand_commands_in_one_comment_get_one_reply(box: Harness) -> None:
    number = open_pr(box)
    who = read_only(box)
    flood = "\n".join(["/kep approve"] * 1000 + ["/kep aprove", "/kep help"])
    made = await comment(box, number, flood, who)
    (reply,) = replies(box, number)
    assert answers_to(box, number, made) == [reply]
    assert reply.body.count("Not applied") == 1, "the same refusal is said once"
    assert "`@mallory` is not an approver" in reply.body
    assert bot_reactions(box, made) == {"eyes", "-1"}
    assert "status: provisional" in kep_text(box)


async def test_several_refusals_of_one_comment_share_its_reply(box: Harness) -> None:
    number = open_pr(box)
    who = read_only(box)
    made = await comment(box, number, "/kep approve\n/kep aprove\n/kep link KEP-1", who)
    (reply,) = replies(box, number)
    assert answers_to(box, number, made) == [reply]
    for said in ("Not applied", "Unknown command `aprove`", "for implementation PRs"):
        assert said in reply.body


async def test_a_flood_of_comments_gets_the_bounded_number_of_replies(box: Harness) -> None:
    number = open_pr(box)
    who = read_only(box)
    made = [await comment(box, number, "/kep approve", who) for _ in range(8)]
    answered = [m for m in made if answers_to(box, number, m)]
    assert answered == made[:5]
    assert Settings.model_fields["kepbot_replies_per_hour"].default == 5
    for comment_id in made:
        assert bot_reactions(box, comment_id) == {"eyes", "-1"}, "every command is marked"
    assert len(replies(box, number)) == 5
    # The budget is one person's: carol still gets her answer.
    helped = await comment(box, number, "/kep help", "carol")
    assert len(answers_to(box, number, helped)) == 1


@asynccontextmanager
async def clocked(limit: int) -> AsyncIterator[tuple[Harness, ManualClock]]:
    clock = ManualClock()
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock)
    settings = {"kepbot_replies_per_hour": limit}
    async with harness(
        double, credentials, client_options={"clock": clock}, clock=clock.utc, settings=settings
    ) as box:
        yield box, clock


async def test_the_budget_is_a_setting_and_refills_after_an_hour() -> None:
    async with clocked(limit=2) as (box, clock):
        number = open_pr(box)
        who = read_only(box)
        made = []
        for _ in range(4):
            made.append(await comment(box, number, "/kep approve", who))
            clock.advance(600)  # 10 minutes apart: all four within the hour
        assert [m for m in made if answers_to(box, number, m)] == made[:2]
        clock.advance(3600 - 4 * 600 + 1)  # the first reply is now more than an hour old
        later = await comment(box, number, "/kep approve", who)
        assert len(answers_to(box, number, later)) == 1
        again = await comment(box, number, "/kep approve", who)
        assert answers_to(box, number, again) == [], "the second reply is still in the hour"
        assert bot_reactions(box, again) == {"eyes", "-1"}


async def test_link_commands_in_one_comment_get_one_reply() -> None:
    async with started() as links_world:
        double = links_world.double
        double.add_user("mallory")
        double.set_permission(K8S, "mallory", "read")
        number = links_world.open(K8S, "Work in progress.", author="alice")
        await links_world.event(K8S, number, "opened")
        flood = "\n".join(["/kep link KEP-753"] * 1000 + ["/kep approve"])
        made = await links_world.comment(K8S, number, flood, "mallory")
        answers = [
            c
            for c in double.comments(K8S, number)
            if c.user == BOT and "<!-- kepbot:link-c" in c.body
        ]
        assert len(answers) == 1, "one reply for the comment"
        assert "Not applied" in answers[0].body
        assert {r.content for r in double.reactions(K8S, comment_id=made)} == {"eyes", "-1"}
