"""Decision rules end to end: a quorum of listed approvers, `--dry-run`, `explain`."""

from kep_pr import (
    EXISTING,
    EXISTING_DIR,
    EXISTING_KEP,
    EXISTING_README,
    bot_replies,
    seed_existing,
)

from bot import demo
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event

REPO = demo.REPO
BRANCH = "quorum"
DIR, KEP, README = EXISTING_DIR, EXISTING_KEP, EXISTING_README


def open_pr(box: Harness, files: dict[str, str | None]) -> int:
    return box.double.open_pull_request(REPO, BRANCH, files, "Quorum", "", author="alice")


async def comment(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle()


def kep_text(box: Harness) -> str:
    return (box.double.file_at(REPO, BRANCH, KEP) or b"").decode()


def head(box: Harness) -> str:
    return box.double.branch_sha(REPO, BRANCH) or ""


async def test_all_listed_approvers_move_it_one_by_one(box: Harness) -> None:
    seed_existing(box.double)
    number = open_pr(box, {f"{DIR}/README.md": README + "More text.\n"})
    commits = len(box.double.commits(REPO, BRANCH))

    await comment(box, number, "/kep approve", "carol")
    assert "status: provisional" in kep_text(box), "one of two approvers: no move yet"
    assert len(box.double.commits(REPO, BRANCH)) == commits
    (recorded,) = [r for r in bot_replies(box, number) if "Recorded" in r]
    assert "1 of 2" in recorded and "still needed from `dave`" in recorded

    await comment(box, number, "/kep approve", "carol")  # the same person twice is one vote
    assert "status: provisional" in kep_text(box)

    await comment(box, number, "/kep approve", "dave")
    assert "status: implementable" in kep_text(box), "the last approver moves it"
    assert len(box.double.commits(REPO, BRANCH)) == commits + 1


async def test_partial_approvals_show_in_the_check_and_status_comment(box: Harness) -> None:
    seed_existing(box.double)
    moved = EXISTING.replace("status: provisional", "status: implementable")
    number = open_pr(box, {KEP: moved})
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await box.check_run(REPO, head(box))

    await comment(box, number, "/kep approve", "dave")
    run = await box.check_run(REPO, head(box))  # the one run, updated in place
    assert run.conclusion == "action_required"
    summary = run.output["summary"]
    assert "given by `dave`" in summary and "still needed from `carol`" in summary
    assert any("still needed from `carol`" in r for r in bot_replies(box, number))

    await comment(box, number, "/kep approve", "carol")
    run = await box.check_run(REPO, head(box))
    assert run.conclusion != "action_required"
    assert "still needed" not in run.output["summary"]


async def test_dry_run_replies_with_the_diff_and_changes_nothing(box: Harness) -> None:
    number = box.double.open_pull_request(
        REPO, BRANCH, {KEP: EXISTING.replace("1234", "NNNN")}, "New", "", author="alice"
    )
    commits = len(box.double.commits(REPO, BRANCH))
    before = kep_text(box)

    await comment(box, number, "/kep approve --dry-run", "carol")
    assert kep_text(box) == before
    assert len(box.double.commits(REPO, BRANCH)) == commits
    (reply,) = [r for r in bot_replies(box, number) if "Dry run" in r]
    assert "```diff" in reply
    assert "-status: provisional" in reply and "+status: implementable" in reply

    # The dry run was no decision: replay still waits for a real approval.
    await box.deliver(pull_request_event(box.double, REPO, number, "synchronize"))
    run = await box.check_run(REPO, head(box))
    assert "**Waiting for a decision:**" in run.output["summary"]
    await comment(box, number, "/kep approve", "carol")
    assert "status: implementable" in kep_text(box)
    assert len(box.double.commits(REPO, BRANCH)) == commits + 1


async def test_explain_names_the_rule(box: Harness) -> None:
    seed_existing(box.double)
    number = open_pr(box, {f"{DIR}/README.md": README + "More.\n"})
    await comment(box, number, "/kep explain @bob", "alice")
    (reply,) = [r for r in bot_replies(box, number) if "How the roles resolve" in r]
    assert "`@bob`" in reply
    assert "**denied**" in reply and "**granted**" not in reply

    await comment(box, number, "/kep explain", "dave")
    (reply,) = [r for r in bot_replies(box, number) if "`@dave`:" in r]
    assert "`/kep approve` → `implementable`" in reply
    assert "**granted**: `@dave` is listed in approvers" in reply


async def test_explain_refuses_what_is_not_a_login(box: Harness) -> None:
    seed_existing(box.double)
    number = open_pr(box, {f"{DIR}/README.md": README + "More.\n"})
    await comment(box, number, "/kep explain <b>x</b>", "alice")
    assert any("is not a GitHub login" in r for r in bot_replies(box, number))
