"""`/kep undo` end to end: the exact previous bytes come back, and only the person who gave
the undone command or an approver may ask."""

from bot import demo
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event

REPO, KEP = demo.REPO, f"{demo.KEP_DIR}/kep.yaml"
README = (
    demo.README.format(number="NNNN", title="Pod restart budget", summary="Budgets.")
    + "".join(
        f"## {section}\nText.\n"
        for section in ("Proposal", "Design Details", "Test Plan", "Graduation Criteria")
    )
    + "## Production Readiness Review Questionnaire\nText.\n"
)
GOOD_KEP = demo.NEW_KEP.replace("provisonal", "provisional").replace("11-31", "11-21")


def open_pr(box: Harness) -> int:
    files: dict[str, str | None] = {KEP: GOOD_KEP, f"{demo.KEP_DIR}/README.md": README}
    return box.double.open_pull_request(REPO, "kep", files, "KEP", "", author="alice")


async def comment(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle()


def head(box: Harness) -> str:
    return box.double.branch_sha(REPO, "kep") or ""


def kep_text(box: Harness) -> str:
    return (box.double.file_at(REPO, "kep", KEP) or b"").decode()


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
