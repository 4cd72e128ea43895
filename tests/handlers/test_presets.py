"""One proposal lifecycle per preset, end to end: opened, refused, approved, re-checked."""

import difflib
from dataclasses import dataclass

import pytest

from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "acme", "proposals"
REPO = f"{OWNER}/{NAME}"


def sections(*names: str) -> str:
    return "".join(f"## {name}\n\nText.\n\n" for name in names)


@dataclass(frozen=True)
class Case:
    preset: str
    word: str
    path: str  # the metadata file of the new proposal
    files: dict[str, str]  # the new proposal's files
    status_line: str  # the status line before approval
    approved_line: str  # and after
    edited_keys: tuple[str, ...]  # how the lines an approval may change start
    kind_label: str
    numbered_path: str = ""  # where the proposal moves when accepting assigns its number
    opened: str = "action_required"  # the check of the new proposal, before any command
    opened_path: str = ""  # where the proposal is once its PR is opened (numbered then)


CASES = [
    Case(
        "kep",
        "kep",
        "keps/sig-node/NNNN-budget/kep.yaml",
        {
            "keps/sig-node/NNNN-budget/kep.yaml": "title: Budget\nkep-number: NNNN\n"
            'authors:\n  - "@alice"\nowning-sig: sig-node\nstatus: provisional\n'
            'creation-date: 2026-11-01\nstage: alpha\nlatest-milestone: "v1.36"\n'
            'approvers:\n  - "@carol"\n',
            "keps/prod-readiness/sig-node/NNNN.yaml": (
                'kep-number: NNNN\nalpha:\n  approver: "@wojtek-t"\n'
            ),
            "keps/sig-node/NNNN-budget/README.md": "# KEP-NNNN: Budget\n\n"
            + sections(
                "Summary",
                "Motivation",
                "Proposal",
                "Design Details",
                "Test Plan",
                "Graduation Criteria",
                "Production Readiness Review Questionnaire",
            ),
        },
        "status: provisional",
        "status: implementable",
        ("status:", "last-updated:"),
        "kind/kep",
    ),
    Case(
        "kep-2017",
        "kep",
        "keps/sig-cli/draft-20261101-budget.md",
        {
            "keps/sig-cli/draft-20261101-budget.md": "---\nkep-number: draft-20261101\n"
            'title: Budget\nauthors:\n  - "@alice"\nowning-sig: sig-cli\nstatus: Draft\n'
            "creation-date: 2026-11-01\nlast-updated: 2026-11-01\n---\n\n# Budget\n\n"
            + sections(
                "Summary", "Motivation", "Proposal", "Graduation Criteria", "Implementation History"
            ),
        },
        "status: Draft",
        "status: Approved",
        ("status:", "last-updated:", "kep-number:"),
        "kind/kep",
        numbered_path="keps/sig-cli/0001-budget.md",  # numbering.when: accept
        opened="success",  # a new Draft needs no decision (KEP-1: fast merges of drafts)
    ),
    Case(
        "gep",
        "gep",
        "geps/gep-5001/metadata.yaml",
        {
            "geps/gep-5001/metadata.yaml": "apiVersion: "
            "internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\n"
            "number: 5001\nname: Budget\nstatus: Provisional\n"
            "authors:\n  - alice\n",
            "geps/gep-5001/index.md": "# GEP-5001: Budget\n\n* Status: Provisional\n\n"
            + sections("TLDR", "Goals", "API"),
        },
        "status: Provisional",
        "status: Implementable",
        ("status:",),
        "kind/gep",
    ),
    Case(
        "agentic",
        "proposal",
        "docs/proposals/XXXX-Budget.md",
        {
            "docs/proposals/XXXX-Budget.md": "Date: 1st November 2026<br/>\nAuthors: alice<br/>\n"
            "Status: Provisional<br/>\n\n# Budget\n\n"
            + sections("Non-Goals", "Motivation", "API", "Alternatives"),
        },
        "Status: Provisional<br/>",
        "Status: Implementable<br/>",
        ("Status:",),
        "kind/proposal",
        opened_path="docs/proposals/0001-Budget.md",  # numbering.when: open, the PR's number
    ),
    Case(
        "kpep",
        "kpep",
        "kpeps/NNNN-budget/README.md",
        {
            "kpeps/NNNN-budget/README.md": "# KPEP-NNNN: Budget\n\n| Field | Value |\n|---|---|\n"
            "| **Status** | `provisional` |\n| **Authors** | @alice |\n"
            "| **Created** | 2026-11-01 |\n| **Last updated** | 2026-11-01 |\n\n"
            + sections("Summary", "Motivation", "Proposal", "Design details", "Test plan"),
        },
        "| **Status** | `provisional` |",
        "| **Status** | `implementable` |",
        ("| **Status**", "| **Last updated**"),
        "kind/kpep",
    ),
]


def seed(case: Case) -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    double.add_repo(
        OWNER,
        NAME,
        {
            "README.md": "proposals\n",
            ".github/kepbot.yml": f"extends: {case.preset}\n",
            ".github/CODEOWNERS": f"* @{OWNER}/leads\n",
            "OWNERS_ALIASES": "aliases:\n  prod-readiness-approvers:\n    - wojtek-t\n",
        },
    )
    double.add_team_member(OWNER, "leads", "carol")
    double.set_permission(REPO, "bob", "write")
    double.add_installation(OWNER)
    return double


CREDENTIALS = app_credentials()


def text(box: Harness, path: str) -> str:
    return (box.double.file_at(REPO, "p", path) or b"").decode()


async def say(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.idle()


@pytest.mark.parametrize("case", CASES, ids=[c.preset for c in CASES])
async def test_lifecycle(case: Case) -> None:
    async with harness(seed(case), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = dict(case.files)
        number = double.open_pull_request(REPO, "p", files, "New proposal", author="alice")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()  # the head checked is the one opening the PR left
        opened = await box.check_run(REPO, double.branch_sha(REPO, "p") or "")
        assert opened.conclusion == case.opened, opened.output
        assert text(box, case.opened_path or case.path), "the proposal is where it should be"
        assert case.kind_label in double.labels(REPO, number)

        sha = double.branch_sha(REPO, "p")
        await say(box, number, f"/{case.word} approve", "bob")
        assert double.branch_sha(REPO, "p") == sha, "the refused command changed nothing"
        assert any("Not applied" in c.body for c in double.comments(REPO, number))

        before = text(box, case.opened_path or case.path)
        assert case.status_line in before
        await say(box, number, f"/{case.word} approve", "carol")
        after = text(box, case.numbered_path or case.opened_path or case.path)
        diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
        removed = [d[2:] for d in diff if d.startswith("- ")]
        added = [d[2:] for d in diff if d.startswith("+ ")]
        assert case.status_line in removed and case.approved_line in added
        assert all(line.startswith(case.edited_keys) for line in removed + added), diff
        approved = await box.check_run(REPO, double.branch_sha(REPO, "p") or "")
        assert approved.conclusion == "success", approved.output

        pushed = double.push(REPO, "p", {"docs/notes.md": "A human edit.\n"}, "notes", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=sha or ""))
        rechecked = await box.check_run(REPO, pushed)
        assert rechecked.conclusion == "success", rechecked.output
