"""`/kep undo` end to end: the exact previous bytes come back, and only the person who gave
the undone command or an approver may ask."""

from kep_pr import REPO, comment, head, kep_text, open_pr

from bot.sandbox.harness import Harness
from bot.sandbox.payloads import pull_request_event


async def approved(box: Harness) -> tuple[int, str]:
    """A new KEP accepted and approved by carol: its number and its text before approval."""
    number = open_pr(box)
    await box.deliver(pull_request_event(box.double, REPO, number, "opened"))
    await comment(box, number, "/kep accept", "carol")
    before = kep_text(box)
    await comment(box, number, "/kep approve", "carol")
    assert "status: implementable" in kep_text(box)
    return number, before


async def test_undo_restores_the_exact_previous_bytes(box: Harness) -> None:
    number, before = await approved(box)
    commits = len(box.double.commits(REPO, "kep"))
    await comment(box, number, "/kep undo", "carol")
    assert kep_text(box) == before
    assert len(box.double.commits(REPO, "kep")) == commits + 1
    run = await box.check_run(REPO, head(box))
    assert run.conclusion == "success", "replay undoes the approve too: provisional is decided"
    assert "verb:approve" in [a["identifier"] for a in run.actions]
    status = [c.body for c in box.double.comments(REPO, number) if "kepbot:status" in c.body]
    assert status and "`provisional`" in status[-1] and "`implementable`" not in status[-1]

    await comment(box, number, "/kep approve", "carol")  # approving again works as before
    assert "status: implementable" in kep_text(box)


async def test_undo_by_someone_else_is_refused(box: Harness) -> None:
    box.double.add_user("mallory")
    number, _ = await approved(box)
    text, commits = kep_text(box), len(box.double.commits(REPO, "kep"))
    await comment(box, number, "/kep undo", "mallory")
    assert kep_text(box) == text
    assert len(box.double.commits(REPO, "kep")) == commits
    replies = [c.body for c in box.double.comments(REPO, number) if "Not undone" in c.body]
    assert len(replies) == 1 and "`@carol`" in replies[0]
    run = await box.check_run(REPO, head(box))
    assert run.conclusion == "success"
