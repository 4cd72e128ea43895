"""A new KEP's pull request in the demo repository, shared by the end-to-end tests."""

from bot import demo
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event

REPO, KEP = demo.REPO, f"{demo.KEP_DIR}/kep.yaml"
README = demo.NEW_README  # every section an implementable KEP needs
GOOD_KEP = demo.FIXED_KEP


def open_pr(box: Harness, body: str = "", branch: str = "kep") -> int:
    files: dict[str, str | None] = {
        KEP: GOOD_KEP,
        f"{demo.KEP_DIR}/README.md": README,
        demo.NEW_REVIEW_PATH: demo.NEW_REVIEW,
    }
    return box.double.open_pull_request(REPO, branch, files, "KEP", body, author="alice")


async def comment(box: Harness, number: int, body: str, user: str) -> int:
    """`user` comments `body`; the delivery is sent and handled. The comment's id."""
    made = box.double.add_comment(REPO, number, body, user)
    assert await box.deliver(issue_comment_event(box.double, REPO, made.id, "created")) == 202
    await box.idle()
    return made.id


def head(box: Harness, branch: str = "kep") -> str:
    return box.double.branch_sha(REPO, branch) or ""


def kep_text(box: Harness, branch: str = "kep") -> str:
    return (box.double.file_at(REPO, branch, KEP) or b"").decode()


def bot_replies(box: Harness, number: int) -> list[str]:
    return [c.body for c in box.double.comments(REPO, number) if c.user == "kepbot[bot]"]


# A KEP already on the default branch, provisional, listing two approvers (carol and dave).
EXISTING_DIR = "keps/sig-node/1234-quorum-demo"
EXISTING_KEP = f"{EXISTING_DIR}/kep.yaml"
_SECTIONS = ("Proposal", "Design Details", "Test Plan", "Graduation Criteria")
EXISTING_README = (
    demo.README.format(number=1234, title="Quorum demo", summary="A demo.")
    + "".join(f"## {section}\nText.\n" for section in _SECTIONS)
    + "## Production Readiness Review Questionnaire\nText.\n"
)
EXISTING = """\
title: Quorum demo
kep-number: 1234
authors:
  - "@alice"
owning-sig: sig-node
status: provisional
creation-date: 2026-01-05
reviewers:
  - "@bob"
approvers:
  - "@carol"
  - "@dave"
stage: alpha
latest-milestone: "v1.36"
"""
EXISTING_REVIEW = 'kep-number: 1234\nalpha:\n  approver: "@wojtek-t"\n'


def seed_existing(double: GitHubDouble) -> None:
    """The proposal on the default branch, approved by carol and dave, with its production
    readiness review."""
    double.add_user("dave")
    files: dict[str, str | None] = {
        EXISTING_KEP: EXISTING,
        f"{EXISTING_DIR}/README.md": EXISTING_README,
        "keps/prod-readiness/sig-node/1234.yaml": EXISTING_REVIEW,
    }
    double.push(REPO, "main", files)
