"""The product's core loop on a KEP pull request: commands, roles, edits on the branch."""

import asyncio
import difflib

from kep_pr import GOOD_KEP, KEP, README, REPO, comment, head, kep_text, open_pr

from bot import demo
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials


async def test_accept_then_approve_by_an_approver(box: Harness) -> None:
    number = open_pr(box)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    assert (await box.check_run(REPO, head(box))).conclusion == "action_required"

    await comment(box, number, "Looks good.\n/kep accept", "carol")
    assert kep_text(box) == GOOD_KEP, "already provisional: accepting writes nothing"
    run = await box.check_run(REPO, head(box))  # the one run, updated in place
    assert run.conclusion == "success"

    before = kep_text(box)
    await comment(box, number, "/kep approve", "carol")
    after = kep_text(box)
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    assert removed == ["status: provisional"]
    assert added[0] == "status: implementable"
    assert [line.split(":")[0] for line in added[1:]] == ["last-updated"]
    assert (await box.check_run(REPO, head(box))).conclusion == "success"
    assert "kep/implementable" in box.double.labels(REPO, number)
    assert {"kind/kep", "sig/node"} <= set(box.double.labels(REPO, number))


async def test_unauthorised_command_changes_nothing_and_says_why(box: Harness) -> None:
    number = open_pr(box)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.check_run(REPO, head(box))
    sha = head(box)
    comment_id = await comment(box, number, "/kep approve", "bob")
    assert head(box) == sha, "no commit"
    replies = [c.body for c in box.double.comments(REPO, number) if c.user == "kepbot[bot]"]
    refusal = [r for r in replies if "Not applied" in r]
    assert len(refusal) == 1
    assert "`@bob` is not an approver" in refusal[0]
    assert "sig-node-leads" in refusal[0], "names who can"
    reactions = box.double.reactions(REPO, comment_id=comment_id)
    assert {r.content for r in reactions} == {"eyes", "-1"}


async def test_self_approval_is_refused(box: Harness) -> None:
    box.double.add_team_member(demo.OWNER, "sig-node-leads", "alice")
    number = open_pr(box)
    await comment(box, number, "/kep approve", "alice")
    assert "status: provisional" in kep_text(box)
    assert any("self-approval" in c.body for c in box.double.comments(REPO, number))


async def test_quoted_and_fenced_commands_are_ignored(box: Harness) -> None:
    number = open_pr(box)
    body = "> /kep approve\n\n```\n/kep approve\n```\n<!-- /kep approve -->\n`/kep approve`"
    comment_id = await comment(box, number, body, "carol")
    assert "status: provisional" in kep_text(box)
    assert box.double.reactions(REPO, comment_id=comment_id) == []


async def test_the_bots_own_comments_are_ignored(box: Harness) -> None:
    number = open_pr(box)
    made = box.double.add_comment(REPO, number, "/kep approve", "kepbot[bot]")
    event = issue_comment_event(box.double, REPO, made.id, "created")
    await box.deliver(event)
    await box.idle()
    assert "status: provisional" in kep_text(box)


async def test_unknown_verb_gets_the_closest(box: Harness) -> None:
    number = open_pr(box)
    await comment(box, number, "/kep aprove", "carol")
    (reply,) = [c.body for c in box.double.comments(REPO, number) if "Unknown command" in c.body]
    assert "`approve`" in reply


async def test_help_lists_the_commands(box: Harness) -> None:
    number = open_pr(box)
    await comment(box, number, "/kep help", "bob")
    (reply,) = [c.body for c in box.double.comments(REPO, number) if "/kep approve" in c.body]
    assert "/kep replace" in reply


async def test_the_same_delivery_twice_gives_one_commit(box: Harness) -> None:
    number = open_pr(box)
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")
    event = issue_comment_event(box.double, REPO, made.id, "created")
    commits_before = len(box.double.commits(REPO, "kep"))
    await box.deliver(event, delivery_id="one")
    await box.deliver(event, delivery_id="two")  # a duplicate event with another id
    await box.idle()
    assert len(box.double.commits(REPO, "kep")) == commits_before + 1


async def test_two_approvers_at_once(box: Harness) -> None:
    box.double.add_team_member(demo.OWNER, "sig-node-leads", "dave")
    number = open_pr(box)
    first = box.double.add_comment(REPO, number, "/kep approve", "carol")
    second = box.double.add_comment(REPO, number, "/kep approve", "dave")
    await asyncio.gather(
        box.deliver(issue_comment_event(box.double, REPO, first.id, "created")),
        box.deliver(issue_comment_event(box.double, REPO, second.id, "created")),
    )
    await box.idle()
    assert "status: implementable" in kep_text(box)
    bot_commits = [c for _, c in box.double.commits(REPO, "kep") if "→ implementable" in c.message]
    assert len(bot_commits) == 1


async def test_a_human_commit_between_read_and_write_is_kept(box: Harness) -> None:
    """docs/design.md I3: the bot's write is conditional; a push it did not read survives."""
    number = open_pr(box)
    readme = f"{demo.KEP_DIR}/README.md"
    box.double.inject("PUT", r"/contents/", latency=0.5)  # the bot's write waits...
    made = box.double.add_comment(REPO, number, "/kep approve", "carol")
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))

    def proposal_read() -> bool:  # the comments are read after the proposal's files
        return any(r.method == "GET" and r.path.endswith("/comments") for r in box.double.requests)

    await box.until(proposal_read)
    human = GOOD_KEP.replace('  - "@bob"\n', '  - "@bob"\n  - "@erin"\n')
    box.double.push(REPO, "kep", {KEP: human, readme: README + "More.\n"}, "human", "alice")
    await box.idle()
    text = kep_text(box)
    assert "status: implementable" in text and '  - "@erin"' in text, "both changes kept"
    assert (box.double.file_at(REPO, "kep", readme) or b"").decode().endswith("More.\n")
    statuses = [r.status for r in box.double.requests if r.method == "PUT"]
    assert statuses == [409, 200], "the stale write was refused, then redone on the new text"


async def test_the_same_comment_through_two_instances_gives_one_commit() -> None:
    credentials = app_credentials()
    double = demo.seed(credentials)
    async with harness(double, credentials) as one, harness(double, credentials) as two:
        number = open_pr(one)
        made = double.add_comment(REPO, number, "/kep approve", "carol")
        event = issue_comment_event(double, REPO, made.id, "created")
        before = len(double.commits(REPO, "kep"))
        await asyncio.gather(one.deliver(event), two.deliver(event))
        await one.idle()
        await two.idle()
        assert "status: implementable" in kep_text(one)
        assert len(double.commits(REPO, "kep")) == before + 1
        eyes = [r for r in double.reactions(REPO, comment_id=made.id) if r.content == "eyes"]
        assert len(eyes) == 1


async def test_a_pr_cannot_grant_itself_rights(box: Harness) -> None:
    """docs/design.md I5: roles come from the default branch's configuration, not the PR's."""
    grant = "extends: kep\nroles:\n  approver:\n    users: [mallory]\n"
    files: dict[str, str | None] = {
        KEP: GOOD_KEP,
        f"{demo.KEP_DIR}/README.md": README,
        ".github/kepbot.yml": grant,
        ".github/CODEOWNERS": "* @mallory\n",
    }
    number = box.double.open_pull_request(REPO, "kep", files, "KEP", author="alice")
    await comment(box, number, "/kep approve", "mallory")
    assert "status: provisional" in kep_text(box)
    assert any("`@mallory` is not an approver" in c.body for c in box.double.comments(REPO, number))


async def test_a_fork_the_bot_cannot_write_to_gets_a_suggestion(box: Harness) -> None:
    files: dict[str, str | None] = {KEP: GOOD_KEP, f"{demo.KEP_DIR}/README.md": README}
    number = box.double.open_pull_request(
        REPO, "kep", files, "KEP", author="alice", fork_owner="alice", maintainer_can_modify=False
    )
    await comment(box, number, "/kep approve", "carol")
    fork_text = (box.double.file_at("alice/enhancements", "kep", KEP) or b"").decode()
    assert "status: provisional" in fork_text, "nothing pushed to the fork"
    (suggestion,) = [c.body for c in box.double.comments(REPO, number) if "```diff" in c.body]
    assert "-status: provisional" in suggestion and "+status: implementable" in suggestion
