"""A new KEP's pull request in the demo repository, shared by the end-to-end tests."""

from bot import demo
from bot.sandbox.harness import Harness
from bot.sandbox.payloads import issue_comment_event

REPO, KEP = demo.REPO, f"{demo.KEP_DIR}/kep.yaml"
README = demo.NEW_README  # every section an implementable KEP needs
GOOD_KEP = demo.FIXED_KEP


def open_pr(box: Harness, body: str = "", branch: str = "kep") -> int:
    files: dict[str, str | None] = {KEP: GOOD_KEP, f"{demo.KEP_DIR}/README.md": README}
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
