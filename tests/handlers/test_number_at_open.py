"""Numbers when the pull request is opened (docs/design.md B4, `numbering.when: open`), through
the server and the double.

kube-agentic-networking's docs/proposals/README.md: "While developing, you can use a
placeholder (e.g. `XXXX-my-proposal.md`) and rename to the PR number when the PR is
opened." The `agentic` preset says so as data; a PR the bot did not see opened is numbered
at merge, as before.
"""

from __future__ import annotations

from bot.engine.config import load_preset
from bot.sandbox.double import GitHubDouble
from bot.sandbox.harness import Harness, harness
from bot.sandbox.payloads import issue_comment_event, pull_request_event
from bot.sandbox.testing import app_credentials, new_double

OWNER, NAME = "acme", "agentic"
REPO = f"{OWNER}/{NAME}"
CREDENTIALS = app_credentials()
MARKER = "<!-- kepbot:numbers-at-open/"

# The header lines and sections of docs/proposals/0008-ToolAuthAPI.md, shortened.
TOOL_AUTH = """\
Date: 10th September 2025<br/>
Authors: guicassolato<br/>
Status: Provisional<br/>

# Tool Authorization API

## Non-Goals

Text.

## Use Cases & Motivation

Text.
"""
DRAFT = """\
Date: 1st November 2026<br/>
Authors: alice<br/>
Status: Provisional<br/>

# Agent Budgets

See [the API](XXXX-Agent-Budgets.md#api).

## Non-Goals

Text.

## Use Cases & Motivation

Text.

## API

Text.
"""
PLACEHOLDER = "docs/proposals/XXXX-Agent-Budgets.md"


def seed() -> GitHubDouble:
    double = new_double(CREDENTIALS)
    double.add_org(OWNER)
    files = {
        ".github/kepbot.yml": "extends: agentic\n",
        ".github/CODEOWNERS": f"* @{OWNER}/leads\n",
        "docs/proposals/0008-ToolAuthAPI.md": TOOL_AUTH,
    }
    double.add_repo(OWNER, NAME, files)
    double.add_team_member(OWNER, "leads", "carol")
    double.add_installation(OWNER)
    return double


def numbered(number: int) -> str:
    return f"docs/proposals/{number:04d}-Agent-Budgets.md"


def text_at(double: GitHubDouble, repo: str, ref: str, path: str) -> str | None:
    found = double.file_at(repo, ref, path)
    return None if found is None else found.decode()


def open_marked(double: GitHubDouble, number: int) -> list[str]:
    bodies = (c.body for c in double.comments(REPO, number) if c.user == double.bot_login)
    return [body for body in bodies if MARKER in body]


async def comment(box: Harness, number: int, body: str, user: str) -> None:
    made = box.double.add_comment(REPO, number, body, user)
    await box.deliver(issue_comment_event(box.double, REPO, made.id, "created"))
    await box.idle()


async def test_opening_a_placeholder_proposal_renames_it_to_the_pr_number_in_one_commit() -> None:
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {PLACEHOLDER: DRAFT}
        number = double.open_pull_request(REPO, "p", files, "Agent budgets", author="alice")
        pushed = double.branch_sha(REPO, "p")
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        (head, commit), (parent, _) = double.commits(REPO, "p")[:2]
        assert parent == pushed and commit.parents == (pushed,), "one commit on the PR's head"
        path = numbered(number)
        assert text_at(double, REPO, "p", PLACEHOLDER) is None
        assert text_at(double, REPO, "p", path) == DRAFT.replace(
            "XXXX-Agent-Budgets.md", f"{number:04d}-Agent-Budgets.md"
        )
        (said,) = open_marked(double, number)
        assert f"Proposal-{number:04d}" in said and path in said
        opened = await box.check_run(REPO, head)
        assert opened.conclusion == "action_required", opened.output  # new: waits for accept
        assert not opened.annotations, opened.annotations
        assert not double.check_runs(REPO, pushed or ""), "only the renamed head is checked"

        await comment(box, number, "/proposal accept", "carol")
        accepted = double.branch_sha(REPO, "p") or ""
        assert "Status: Provisional<br/>" in (text_at(double, REPO, "p", path) or "")
        run = await box.check_run(REPO, accepted)
        assert run.conclusion == "success", run.output

        # Pushed to again, the numbered proposal stays as it is: no second commit.
        again = double.push(REPO, "p", {path: DRAFT.replace("Text.", "More.")}, "edit", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=head))
        await box.idle()
        assert double.branch_sha(REPO, "p") == again
        assert len(open_marked(double, number)) == 1


async def test_a_fork_the_bot_cannot_push_to_is_offered_the_rename_once() -> None:
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {PLACEHOLDER: DRAFT}
        number = double.open_pull_request(
            REPO,
            "p",
            files,
            "Agent budgets",
            author="alice",
            fork_owner="alice",
            maintainer_can_modify=False,
        )
        fork = "alice/agentic"
        pushed = double.branch_sha(fork, "p") or ""
        await box.deliver(pull_request_event(double, REPO, number, "opened"))
        await box.idle()
        assert double.branch_sha(fork, "p") == pushed, "nothing is pushed to the fork"
        (offer,) = open_marked(double, number)
        path = numbered(number)
        assert f"git mv {PLACEHOLDER} {path}" in offer
        assert f"--- {PLACEHOLDER}" in offer and f"+++ {path}" in offer
        assert f"+See [the API]({number:04d}-Agent-Budgets.md#api)." in offer
        await box.check_run(REPO, pushed)

        edit = {PLACEHOLDER: DRAFT.replace("Text.", "More.")}
        again = double.push(fork, "p", edit, "edit", "alice")
        await box.deliver(pull_request_event(double, REPO, number, "synchronize", before=pushed))
        await box.idle()
        await box.check_run(REPO, again)
        assert double.branch_sha(fork, "p") == again
        assert len(open_marked(double, number)) == 1


async def test_a_placeholder_the_bot_did_not_see_opened_is_numbered_at_merge() -> None:
    assert load_preset("agentic").numbering.when == "open"
    async with harness(seed(), CREDENTIALS) as box:
        double = box.double
        files: dict[str, str | None] = {PLACEHOLDER: DRAFT}
        number = double.open_pull_request(REPO, "p", files, "Agent budgets", author="alice")
        merged = double.merge(REPO, number)  # no delivery until now: the bot was away
        await box.deliver(pull_request_event(double, REPO, number, "closed"))
        await box.idle()
        (_, commit), *_ = double.commits(REPO, "main")
        assert commit.parents == (merged,)
        assert text_at(double, REPO, "main", PLACEHOLDER) is None
        assert f"({number:04d}-Agent-Budgets.md#api)" in (
            text_at(double, REPO, "main", numbered(number)) or ""
        )
        assert not open_marked(double, number)
        bodies = [c.body for c in double.comments(REPO, number) if c.user == double.bot_login]
        assert any("Numbers assigned at merge" in body for body in bodies), bodies
