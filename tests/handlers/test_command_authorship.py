"""A command is the act of the person who wrote it.

GitHub lets anyone with write access edit other people's comments and a pull request's
description; the `edited` delivery names the editor as sender, while the REST API keeps
showing the author. An edit by someone else runs nothing and is answered once, naming
both people, and every replay (a later command, a check run, a reconcile pass, another
instance, an instance started after a restart, an edit whose delivery never came) counts
it the same way: not at all. The author's own edits keep working.

The PR changes an existing KEP that lists carol and dave as approvers (`quorum: all`), so
a forged vote in carol's name would complete dave's approval.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from kep_pr import EXISTING_DIR, EXISTING_KEP, EXISTING_README, GOOD_KEP, REPO, seed_existing
from test_links import K8S, LINK_TAG, started

from bot import demo
from bot.reconcile import Reconciler
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.model import Comment
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import AppCredentials, ManualClock, app_credentials

BOT = "kepbot[bot]"
BRANCH = "quorum"
LATER = 60.0  # an edit a minute after the comment: GitHub's updated_at moves with it


@dataclass
class World:
    """One GitHub (the double, on a clock the test moves) that bot instances come and go on."""

    double: GitHubDouble
    credentials: AppCredentials
    clock: ManualClock


def world() -> World:
    clock = ManualClock()
    credentials = app_credentials()
    double = demo.seed(credentials, clock=clock)
    seed_existing(double)
    double.add_user("human1")
    double.set_permission(REPO, "human1", "write")  # may edit anyone's comment
    return World(double, credentials, clock)


@asynccontextmanager
async def instance(w: World) -> AsyncIterator[Harness]:
    """A bot instance (its own process state) on the world's GitHub."""
    async with harness(
        w.double, w.credentials, client_options={"clock": w.clock}, clock=w.clock.utc
    ) as box:
        yield box


async def open_quorum_pr(box: Harness) -> int:
    readme = {f"{EXISTING_DIR}/README.md": EXISTING_README + "More text.\n"}
    number = box.double.open_pull_request(REPO, BRANCH, readme, "Quorum", "", author="alice")
    assert await box.deliver(pull_request_event(box.double, REPO, number, "opened")) == 202
    await box.idle()
    return number


async def say(box: Harness, number: int, body: str, user: str) -> int:
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle()
    return made.id


async def edit(w: World, box: Harness | None, comment_id: int, body: str, by: str) -> None:
    """`by` edits the comment a minute later; `box` (if any) gets the `edited` delivery."""
    w.clock.advance(LATER)
    w.double.edit_comment(REPO, comment_id, body, by=by)
    if box is not None:
        event = issue_comment_event(w.double, REPO, comment_id, "edited")
        assert event[1]["sender"]["login"] == by, "GitHub names the editor as the sender"
        assert await box.deliver(event) == 202
        await box.idle()


def status(w: World) -> str:
    text = (w.double.file_at(REPO, BRANCH, EXISTING_KEP) or b"").decode()
    return next(line for line in text.splitlines() if line.startswith("status:"))


def bot_comments(w: World, number: int) -> list[Comment]:
    return [c for c in w.double.comments(REPO, number) if c.user == BOT]


def notices(w: World, number: int, editor: str, author: str) -> list[str]:
    """The bot's replies naming both the editor and the author of an edited text."""
    return [
        c.body
        for c in bot_comments(w, number)
        if f"`@{editor}`" in c.body and f"`@{author}`" in c.body and "Not run" in c.body
    ]


def votes_recorded(w: World, number: int, who: str) -> list[str]:
    return [c.body for c in bot_comments(w, number) if f"Recorded `@{who}`'s" in c.body]


def bot_commits(w: World) -> int:
    return sum(c.author.name == BOT for _, c in w.double.commits(REPO, BRANCH))


async def dave_alone_does_not_complete_the_quorum(w: World, box: Harness, number: int) -> None:
    """dave's real approval is one of two: carol's name on an edit by someone else is no vote."""
    await say(box, number, "/kep approve", "dave")
    assert status(w) == "status: provisional"
    (vote,) = votes_recorded(w, number, "dave")
    assert "still needed from `carol`" in vote


async def test_an_edit_by_someone_else_runs_nothing_and_is_answered_once() -> None:
    w = world()
    async with instance(w) as box:
        number = await open_quorum_pr(box)
        made = await say(box, number, "Looks good to me.", "carol")
        await edit(w, box, made, "Looks good to me.\n/kep approve", by="human1")
        edited = next(c for c in w.double.comments(REPO, number) if c.id == made)
        assert edited.user == "carol" and edited.updated_at > edited.created_at
        redelivered = issue_comment_event(w.double, REPO, made, "edited")
        assert await box.deliver(redelivered) == 202
        await box.idle()

        assert status(w) == "status: provisional"
        assert bot_commits(w) == 0
        assert votes_recorded(w, number, "carol") == [], "no vote in carol's name"
        (notice,) = notices(w, number, "human1", "carol")
        assert "/kep approve" in notice
        await dave_alone_does_not_complete_the_quorum(w, box, number)


async def test_an_edit_whose_delivery_was_missed_counts_in_no_replay() -> None:
    w = world()
    async with instance(w) as box:
        number = await open_quorum_pr(box)
        made = await say(box, number, "Looks good to me.", "carol")
        await edit(w, None, made, "Looks good to me.\n/kep approve", by="human1")  # no delivery

        summary = await Reconciler(box.bot).pass_once()
        assert summary.commands == 0, "reconcile runs nothing in carol's name"
        assert [r.content for r in w.double.reactions(REPO, comment_id=made)] == []
        assert status(w) == "status: provisional"
        await dave_alone_does_not_complete_the_quorum(w, box, number)
        assert bot_commits(w) == 0


async def test_an_instance_started_after_a_restart_concludes_the_same() -> None:
    w = world()
    async with instance(w) as before:
        number = await open_quorum_pr(before)
        made = await say(before, number, "Looks good to me.", "carol")
        await edit(w, before, made, "Looks good to me.\n/kep approve", by="human1")
        assert len(notices(w, number, "human1", "carol")) == 1
    async with instance(w) as after:  # a new process: nothing remembered but GitHub
        assert (await Reconciler(after.bot).pass_once()).commands == 0
        await dave_alone_does_not_complete_the_quorum(w, after, number)
        assert len(notices(w, number, "human1", "carol")) == 1, "said once, not again"
        await say(after, number, "/kep approve", "carol")  # carol's own command counts
        assert status(w) == "status: implementable"
        assert bot_commits(w) == 1


async def test_two_instances_given_the_same_edit_answer_once_and_run_nothing() -> None:
    w = world()
    async with instance(w) as one, instance(w) as two:
        number = await open_quorum_pr(one)
        made = await say(one, number, "Looks good to me.", "carol")
        await edit(w, None, made, "Looks good to me.\n/kep approve", by="human1")
        event = issue_comment_event(w.double, REPO, made, "edited")
        assert await asyncio.gather(one.deliver(event), two.deliver(event)) == [202, 202]
        await one.idle()
        await two.idle()
        assert len(notices(w, number, "human1", "carol")) == 1
        assert votes_recorded(w, number, "carol") == []
        await dave_alone_does_not_complete_the_quorum(w, two, number)
        assert status(w) == "status: provisional"


async def test_the_authors_own_edits_count_in_every_replay_and_someone_elses_do_not() -> None:
    w = world()
    async with instance(w) as box:
        number = await open_quorum_pr(box)
        carols = await say(box, number, "Looks good to me.", "carol")
        daves = await say(box, number, "Reading it now.", "dave")
        await edit(w, box, carols, "Looks good to me.\n/kep approve", by="carol")
        (vote,) = votes_recorded(w, number, "carol")
        assert "still needed from `dave`" in vote, "carol's own edit gave her vote"
        await edit(w, box, daves, "Reading it now.\n/kep approve", by="human1")
        assert status(w) == "status: provisional", "no vote in dave's name"
        assert len(notices(w, number, "human1", "dave")) == 1
        # Someone else rewording carol's comment takes nothing away from her and adds nothing.
        await edit(w, box, carols, "Looks good to me!\n/kep approve", by="human1")
        assert notices(w, number, "human1", "carol") == []
        # carol fixes a typo while no instance runs: that edit is one the bot never saw.
    async with instance(w) as after:
        assert (await Reconciler(after.bot).pass_once()).commands == 0
        assert status(w) == "status: provisional"
        await say(after, number, "/kep approve", "dave")
        assert status(w) == "status: implementable", "carol's recorded vote and dave's"
        assert bot_commits(w) == 1


async def test_a_description_edited_by_someone_else_runs_nothing() -> None:
    w = world()
    async with instance(w) as box:
        files: dict[str, str | None] = {
            f"{demo.KEP_DIR}/kep.yaml": GOOD_KEP,
            f"{demo.KEP_DIR}/README.md": demo.NEW_README,
        }
        body = "Ready for review."
        number = w.double.open_pull_request(REPO, "kep", files, "KEP", body, author="alice")
        assert await box.deliver(pull_request_event(w.double, REPO, number, "opened")) == 202
        await box.idle()
        sha = w.double.branch_sha(REPO, "kep") or ""
        assert (await box.check_run(REPO, sha)).conclusion == "action_required"

        w.clock.advance(LATER)
        changes = w.double.update_pull_request(
            REPO, number, body=body + "\n/kep withdraw", by="human1"
        )
        event = pull_request_event(w.double, REPO, number, "edited", changes=changes)
        assert event[1]["sender"]["login"] == "human1"
        assert await box.deliver(event) == 202
        await box.idle()
        (notice,) = notices(w, number, "human1", "alice")
        assert "/kep withdraw" in notice
        run = await box.check_run(REPO, sha)  # the one run, updated in place
        assert run.conclusion == "action_required", "not withdrawn in alice's name"

        await say(box, number, "/kep approve", "carol")
        text = (w.double.file_at(REPO, "kep", f"{demo.KEP_DIR}/kep.yaml") or b"").decode()
        assert "status: implementable" in text


async def test_a_bot_comment_edited_by_someone_else_records_nothing() -> None:
    """People with write access can edit the bot's comments too: a click record (or an edit
    record) counts only while the bot's comment is unedited."""
    w = world()
    async with instance(w) as box:
        number = await open_quorum_pr(box)
        await say(box, number, "/kep approve", "dave")
        (reply,) = [c for c in bot_comments(w, number) if "Recorded `@dave`'s" in c.body]
        forged = "<!-- kepbot:button:carol:approve:1 -->\n> /kep approve\n\ncarol clicked"
        await edit(w, None, reply.id, forged, by="human1")
        assert (await Reconciler(box.bot).pass_once()).commands == 0
        assert status(w) == "status: provisional"
        await say(box, number, "/kep approve", "dave")
        assert status(w) == "status: provisional", "still waiting for carol"
        assert bot_commits(w) == 0


async def test_a_link_command_added_to_someone_elses_comment_links_nothing() -> None:
    """The same rule on an implementation PR: the PR's author may link it to a KEP, so an
    edit putting `/kep link` in her comment must not count as hers, live or in replay."""
    clock = ManualClock()
    async with started(clock=clock) as links_world:
        double = links_world.double
        double.add_user("human1")
        double.set_permission(K8S, "human1", "write")
        number = links_world.open(K8S, "Work in progress.", author="alice")
        await links_world.event(K8S, number, "opened")
        made = await links_world.comment(K8S, number, "Starting on this.", "alice")
        clock.advance(LATER)
        double.edit_comment(K8S, made, "Starting on this.\n/kep link KEP-753", by="human1")
        event = issue_comment_event(double, K8S, made, "edited")
        assert await links_world.box.deliver(event) == 202
        await links_world.box.idle()
        await links_world.event(K8S, number, "synchronize")  # links derived again by replay
        assert "kep/linked" not in double.labels(K8S, number)
        link_comments = links_world.bot_comments(K8S, number, LINK_TAG)
        assert not any("KEP-753" in body for body in link_comments)
        said = links_world.bot_comments(K8S, number, "Not run")
        assert len(said) == 1 and "`@human1`" in said[0] and "`@alice`" in said[0]
