"""Webhook payloads built by bot.sandbox.payloads match GitHub's: octokit's JSON Schemas where
they exist, and the keys and value types of real example deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import GitHubDouble, payloads
from bot.sandbox.model import CheckRun
from bot.sandbox.payloads import Event

from .shapes import SchemaChecker, compare_to_examples

REPO = "kubernetes/enhancements"
NOTES_SECRET = "It's a Secret to Everybody"
NOTES_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@dataclass
class Scenario:
    """A repository in an org, with the App installed, PRs, comments and a check run."""

    double: GitHubDouble
    installation: int
    opened: int
    merged: int
    closed: int
    before: str
    comment: int
    check_run: int
    changes: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def scenario(double: GitHubDouble) -> Scenario:
    double.add_org("kubernetes")
    double.add_repo("kubernetes", "enhancements", {"README.md": "# KEPs\n"})
    installation = double.add_installation("kubernetes")
    double.set_permission(REPO, "dawn", "maintain")
    opened = double.open_pull_request(REPO, "kep", {"keps/a.md": "a\n"}, "KEP: a", "Body", "alice")
    before = double.branch_sha(REPO, "kep")
    assert before is not None
    double.push(REPO, "kep", {"keps/a.md": "a2\n"}, "update", "alice")
    double.label_issue(REPO, opened, "kind/kep")
    changes = double.update_pull_request(REPO, opened, title="KEP: a (v2)", body="New body")
    merged = double.open_pull_request(REPO, "m", {"keps/m.md": "m\n"}, "KEP: m", None, "bob")
    double.merge(REPO, merged, by="dawn")
    closed = double.open_pull_request(
        REPO, "c", {"c.md": "c\n"}, "Fork work", "", "carol", fork_owner="carol"
    )
    double.update_pull_request(REPO, closed, state="closed", by="carol")
    comment = double.add_comment(REPO, opened, "/kep accept", "dawn")
    double.edit_comment(REPO, comment.id, "/kep approve")
    head = double.branch_sha(REPO, "kep")
    assert head is not None
    run = _check_run(double, head)
    return Scenario(double, installation, opened, merged, closed, before, comment.id, run, changes)


def _check_run(double: GitHubDouble, head: str) -> int:
    state = double.state
    run = CheckRun(
        id=state.next_id("check_run"),
        repo=REPO,
        name="kepbot",
        head_sha=head,
        status="completed",
        conclusion="action_required",
        started_at=state.now(),
        completed_at=state.now(),
        suite_id=state.next_id("check_suite"),
        output={"title": "Waiting", "summary": "An approver must accept", "text": None},
        actions=[{"label": "Re-run", "description": "Check again", "identifier": "rerun"}],
    )
    state.check_runs[run.id] = run
    return run.id


@dataclass(frozen=True)
class Case:
    build: Callable[[Scenario], Event]
    event: str
    action: str | None
    examples: tuple[str, ...]
    schema: str | None = None  # event schema, relative to octokit-webhooks-schemas
    schema_action: str | None = None  # validate as this sibling action (same shape)
    parts: tuple[tuple[str, str], ...] = ()  # top-level parts checked by common schemas


def _fresh_opened(s: Scenario) -> Event:
    number = s.double.open_pull_request(REPO, "fresh", {"f.md": "f\n"}, "Fresh", "", "erin")
    return payloads.pull_request_opened(s.double, REPO, number)


def _reopened(s: Scenario) -> Event:
    s.double.update_pull_request(REPO, s.closed, state="open", by="carol")
    return payloads.pull_request_reopened(s.double, REPO, s.closed)


def _deleted_comment(s: Scenario) -> Event:
    s.double.delete_comment(REPO, s.comment)
    return payloads.issue_comment_event(s.double, REPO, s.comment, "deleted")


ENVELOPE = (
    ("repository", "common/repository.schema.json"),
    ("sender", "common/user.schema.json"),
    ("organization", "common/organization.schema.json"),
    ("installation", "common/installation-lite.schema.json"),
)
COMMENT_EXAMPLES = (
    "octokit-webhooks/issue_comment/created.payload.json",
    "octokit-webhooks/issue_comment/created.with-installation.payload.json",
    "octokit-webhooks/issue_comment/edited.payload.json",
    "octokit-webhooks/issue_comment/deleted.payload.json",
    "drone-go-scm/issue_comment/comment.json",
)
CHECK_RUN_EXAMPLES = (
    "octokit-webhooks/check_run/rerequested.payload.json",
    "octokit-webhooks/check_run/requested_action.payload.json",
)

CASES = {
    "pull_request.opened": Case(
        _fresh_opened,
        "pull_request",
        "opened",
        (
            "octokit-webhooks/pull_request/opened.payload.json",
            "octokit-webhooks/pull_request/opened.with-organization.payload.json",
        ),
        "pull_request/opened.schema.json",
    ),
    "pull_request.synchronize": Case(
        lambda s: payloads.pull_request_synchronize(s.double, REPO, s.opened, s.before),
        "pull_request",
        "synchronize",
        ("octokit-webhooks/pull_request/synchronize.payload.json",),
        "pull_request/synchronize.schema.json",
    ),
    "pull_request.edited": Case(
        lambda s: payloads.pull_request_edited(s.double, REPO, s.opened, s.changes),
        "pull_request",
        "edited",
        ("drone-go-scm/pull_request/pr_edited.json",),
        "pull_request/edited.schema.json",
    ),
    "pull_request.reopened": Case(
        _reopened,
        "pull_request",
        "reopened",
        ("octokit-webhooks/pull_request/reopened.payload.json",),
        "pull_request/opened.schema.json",
        schema_action="opened",
    ),
    "pull_request.closed (merged)": Case(
        lambda s: payloads.pull_request_closed(s.double, REPO, s.merged),
        "pull_request",
        "closed",
        ("derived/pull_request/closed.merged.derived.payload.json",),
        "pull_request/closed.schema.json",
    ),
    "pull_request.closed (not merged)": Case(
        lambda s: payloads.pull_request_closed(s.double, REPO, s.closed),
        "pull_request",
        "closed",
        ("octokit-webhooks/pull_request/closed.payload.json",),
        "pull_request/closed.schema.json",
    ),
    "issue_comment.created": Case(
        lambda s: payloads.issue_comment_event(s.double, REPO, s.comment, "created"),
        "issue_comment",
        "created",
        COMMENT_EXAMPLES,
        "issue_comment/created.schema.json",
    ),
    "issue_comment.edited": Case(
        lambda s: payloads.issue_comment_event(s.double, REPO, s.comment, "edited"),
        "issue_comment",
        "edited",
        COMMENT_EXAMPLES,
        "issue_comment/edited.schema.json",
    ),
    "issue_comment.deleted": Case(
        _deleted_comment,
        "issue_comment",
        "deleted",
        COMMENT_EXAMPLES,
        "issue_comment/created.schema.json",
        schema_action="created",
    ),
    "check_run.rerequested": Case(
        lambda s: payloads.check_run_event(s.double, REPO, s.check_run, "rerequested"),
        "check_run",
        "rerequested",
        CHECK_RUN_EXAMPLES,
        parts=ENVELOPE,
    ),
    "check_run.requested_action": Case(
        lambda s: payloads.check_run_event(
            s.double, REPO, s.check_run, "requested_action", identifier="rerun"
        ),
        "check_run",
        "requested_action",
        CHECK_RUN_EXAMPLES,
        parts=ENVELOPE,
    ),
    "installation.created": Case(
        lambda s: payloads.installation_event(s.double, s.installation),
        "installation",
        "created",
        ("octokit-webhooks/installation/created.payload.json",),
        parts=(
            ("installation", "common/installation.schema.json"),
            ("sender", "common/user.schema.json"),
        ),
    ),
    "ping": Case(
        lambda s: payloads.ping_event(s.double, repo=REPO),
        "ping",
        None,
        ("octokit-webhooks/ping/with-app_id.payload.json",),
        parts=(
            ("repository", "common/repository.schema.json"),
            ("sender", "common/user.schema.json"),
        ),
    ),
}


def _load(github_shared: Path, relative: str) -> Any:
    return json.loads((github_shared / "payloads" / relative).read_text())


@pytest.mark.parametrize("name", list(CASES))
def test_payload_matches_schema_and_real_examples(
    name: str, scenario: Scenario, github_shared: Path
) -> None:
    case = CASES[name]
    event, payload = case.build(scenario)
    payload = json.loads(json.dumps(payload))  # what goes over the wire
    assert event == case.event
    assert payload.get("action") == case.action
    checker = SchemaChecker(github_shared / "payloads" / "octokit-webhooks-schemas")
    if case.schema is not None:
        subject = {**payload, "action": case.schema_action or case.action}
        assert checker.errors(subject, case.schema) == []
    for part, schema_id in case.parts:
        if part in payload:
            assert checker.errors(payload[part], schema_id) == [], part
    examples = [_load(github_shared, relative) for relative in case.examples]
    skip = frozenset(part for part, _ in case.parts)
    closed = case.schema is None  # without a schema, invented keys are caught by the examples
    assert compare_to_examples(payload, examples, closed=closed, skip=skip) == []


def test_pull_request_payload_reflects_state(scenario: Scenario) -> None:
    _, merged = payloads.pull_request_closed(scenario.double, REPO, scenario.merged)
    assert merged["pull_request"]["merged"] is True
    assert merged["pull_request"]["merged_by"]["login"] == "dawn"
    assert merged["sender"]["login"] == "dawn"
    assert merged["installation"]["id"] == scenario.installation
    _, closed = payloads.pull_request_closed(scenario.double, REPO, scenario.closed)
    assert closed["pull_request"]["merged"] is False
    assert closed["pull_request"]["head"]["repo"]["full_name"] == "carol/enhancements"
    _, sync = payloads.pull_request_synchronize(
        scenario.double, REPO, scenario.opened, scenario.before
    )
    assert sync["before"] == scenario.before
    assert sync["after"] == sync["pull_request"]["head"]["sha"] != scenario.before
    _, edited = payloads.pull_request_edited(
        scenario.double, REPO, scenario.opened, scenario.changes
    )
    assert edited["changes"] == {"title": {"from": "KEP: a"}, "body": {"from": "Body"}}


def test_issue_comment_payload_is_on_a_pull_request(scenario: Scenario) -> None:
    _, created = payloads.issue_comment_event(scenario.double, REPO, scenario.comment, "created")
    assert created["issue"]["number"] == scenario.opened
    assert created["issue"]["pull_request"]["url"].endswith(f"/pulls/{scenario.opened}")
    assert created["comment"]["author_association"] == "COLLABORATOR"
    _, edited = payloads.issue_comment_event(scenario.double, REPO, scenario.comment, "edited")
    assert edited["changes"] == {"body": {"from": "/kep accept"}}
    assert edited["comment"]["body"] == "/kep approve"


def test_check_run_requested_action_carries_the_identifier(scenario: Scenario) -> None:
    _, payload = payloads.check_run_event(
        scenario.double, REPO, scenario.check_run, "requested_action", identifier="rerun"
    )
    assert payload["requested_action"] == {"identifier": "rerun"}
    assert payload["check_run"]["app"]["slug"] == "kepbot"
    assert payload["check_run"]["pull_requests"][0]["number"] == scenario.opened


def test_signature_matches_githubs_test_vector(double: GitHubDouble) -> None:
    assert payloads.sign(NOTES_SECRET, b"Hello, World!") == NOTES_SIGNATURE
    body = b'{"zen": "x"}'
    headers = payloads.delivery_headers(double, "ping", body, NOTES_SECRET, delivery_id="d-1")
    assert headers["X-Hub-Signature-256"] == payloads.sign(NOTES_SECRET, body)
    assert headers["X-GitHub-Event"] == "ping" and headers["X-GitHub-Delivery"] == "d-1"
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == str(double.state.app.id)
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")


def test_the_checks_catch_a_broken_payload(scenario: Scenario, github_shared: Path) -> None:
    checker = SchemaChecker(github_shared / "payloads" / "octokit-webhooks-schemas")
    _, payload = payloads.pull_request_opened(scenario.double, REPO, scenario.opened)
    payload = json.loads(json.dumps(payload))
    broken = {**payload, "pull_request": {**payload["pull_request"], "invented": 1}}
    del broken["pull_request"]["number"]
    broken["pull_request"]["draft"] = "no"
    assert checker.errors(broken, "pull_request/opened.schema.json") == [
        "$.pull_request.draft: 'no' is not of type 'boolean'",
        "$.pull_request: 'number' is a required property",
        "$.pull_request: Additional properties are not allowed ('invented' was unexpected)",
    ]
    broken["pull_request"]["user"] = {**payload["pull_request"]["user"], "html_url": "nope"}
    broken["pull_request"]["created_at"] = "yesterday"  # formats count, in `$ref`d schemas too
    problems = checker.errors(broken, "pull_request/opened.schema.json")
    assert "$.pull_request.user.html_url: 'nope' is not a 'uri'" in problems
    assert "$.pull_request.created_at: 'yesterday' is not a 'date-time'" in problems
    example = _load(github_shared, "octokit-webhooks/pull_request/opened.payload.json")
    differences = compare_to_examples(broken, [example], closed=True)
    assert "$.pull_request: missing 'number'" in differences
    assert "$.pull_request: unexpected 'invented'" in differences
    assert "$.pull_request.draft: string where examples have ['boolean']" in differences
