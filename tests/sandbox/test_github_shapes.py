"""GitHub's objects fit the types the gateway gives them (bot/github/shapes.py): the double's
REST answers and webhook payloads, and GitHub's own examples (shared/github: octokit's
example deliveries, real captured ones, the REST examples of GitHub's OpenAPI description)."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from bot.github import shapes
from bot.github.shapes import (
    Comment,
    GitRef,
    Issue,
    Pull,
    PullCommit,
    Reaction,
    Repository,
    SearchPage,
)
from bot.sandbox import GitHubDouble, payloads
from bot.sandbox.testing import Sandbox

REPO = "kubernetes/enhancements"


def misfits(value: Any, hint: Any, where: str = "$") -> list[str]:
    """Where `value` (decoded JSON) does not fit the type `hint` (a shape, or a field's type)."""
    origin = get_origin(hint)
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        found: list[str] = []
        for key, field in get_type_hints(hint, include_extras=True).items():
            optional = get_origin(field) is NotRequired
            if optional:
                field = get_args(field)[0]
            if key in value:
                found += misfits(value[key], field, f"{where}.{key}")
            elif not optional:
                found.append(f"{where}.{key}: missing")
        return found
    if origin in (Union, types.UnionType):
        options = [misfits(value, option, where) for option in get_args(hint)]
        return [] if any(not found for found in options) else min(options, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not an array"]
        return [
            m
            for i, item in enumerate(value)
            for m in misfits(item, get_args(hint)[0], f"{where}[{i}]")
        ]
    if origin is Mapping:
        return [] if isinstance(value, dict) else [f"{where}: not an object"]
    if hint is None or hint is type(None):
        return [] if value is None else [f"{where}: {value!r}, not null"]
    if hint is object:
        return []
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r}, not an integer"]
    if hint in (str, bool):
        return [] if isinstance(value, hint) else [f"{where}: {value!r}, not {hint.__name__}"]
    raise TypeError(f"no check for {hint!r}")


def test_the_check_sees_what_does_not_fit() -> None:
    user = {"login": "alice", "id": 1, "type": "User"}
    assert misfits(user, shapes.User) == []
    assert misfits({"login": "alice", "id": True, "type": "User"}, shapes.User) == [
        "$.id: True, not an integer"
    ]
    assert misfits({"id": 1, "type": "User"}, shapes.User) == ["$.login: missing"]
    assert misfits({"object": {"sha": None}}, GitRef) == ["$.object.sha: None, not str"]
    reaction = {"user": None, "content": "eyes", "created_at": "2026-01-01T00:00:00Z"}
    assert misfits(reaction, Reaction) == []
    assert misfits({**reaction, "user": {"login": "a"}}, Reaction) != []


@pytest.fixture
async def answers(sandbox: Sandbox, double: GitHubDouble) -> dict[str, Any]:
    """What the double answers and delivers, by what it is, for a repository with a pull
    request (labelled, commented on, reacted to) and a plain issue."""
    double.add_org("kubernetes")
    double.add_repo("kubernetes", "enhancements", {"README.md": "r\n"})
    installation = double.add_installation("kubernetes")
    number = double.open_pull_request(REPO, "kep", {"keps/a.md": "a\n"}, "KEP a", "Body", "alice")
    double.label_issue(REPO, number, "kind/kep")
    comment = double.add_comment(REPO, number, "/kep accept", "bob")
    gh = await sandbox.installation_client(installation)
    base = f"/repos/{REPO}"
    await gh.post(f"{base}/issues/comments/{comment.id}/reactions", data={"content": "eyes"})
    search = "/search/issues?q=repo:kubernetes/enhancements"
    _, opened = payloads.pull_request_opened(double, REPO, number)
    _, commented = payloads.issue_comment_event(double, REPO, comment.id, "created")
    return {
        "pull": await gh.getitem(f"{base}/pulls/{number}"),
        "pulls": await gh.getitem(f"{base}/pulls?state=all"),
        "issue": await gh.getitem(f"{base}/issues/{number}"),
        "comments": await gh.getitem(f"{base}/issues/{number}/comments"),
        "comment": await gh.post(f"{base}/issues/{number}/comments", data={"body": "hi"}),
        "reactions": await gh.getitem(f"{base}/issues/comments/{comment.id}/reactions"),
        "repository": await gh.getitem(base),
        "commits": await gh.getitem(f"{base}/pulls/{number}/commits"),
        "ref": await gh.getitem(f"{base}/git/ref/heads/kep"),
        "search": await gh.getitem(search),
        "opened": opened,
        "commented": commented,
    }


def test_the_doubles_answers_fit_the_gateways_types(answers: dict[str, Any]) -> None:
    cases: list[tuple[str, Any, Any]] = [
        ("pull", answers["pull"], Pull),
        ("issue", answers["issue"], Issue),
        ("comment", answers["comment"], Comment),
        ("repository", answers["repository"], Repository),
        ("ref", answers["ref"], GitRef),
        ("search", answers["search"], SearchPage),
        ("opened.pull_request", answers["opened"]["pull_request"], Pull),
        ("opened.repository", answers["opened"]["repository"], Repository),
        ("commented.issue", answers["commented"]["issue"], Issue),
        ("commented.comment", answers["commented"]["comment"], Comment),
        ("commented.repository", answers["commented"]["repository"], Repository),
    ]
    listed = {"pulls": Pull, "comments": Comment, "reactions": Reaction, "commits": PullCommit}
    for name, shape in listed.items():
        assert answers[name], name
        cases += [(f"{name}[{i}]", item, shape) for i, item in enumerate(answers[name])]
    assert answers["search"]["items"]
    found = {name: misfits(value, shape) for name, value, shape in cases}
    assert {name: errors for name, errors in found.items() if errors} == {}


EXAMPLES: dict[str, dict[str, Any]] = {
    "octokit-webhooks/pull_request/opened.payload.json": {"pull_request": Pull},
    "octokit-webhooks/pull_request/synchronize.payload.json": {"pull_request": Pull},
    "octokit-webhooks/pull_request/closed.payload.json": {"pull_request": Pull},
    "octokit-webhooks/pull_request/reopened.payload.json": {"pull_request": Pull},
    "octokit-webhooks/pull_request/labeled.payload.json": {"pull_request": Pull},
    "derived/pull_request/closed.merged.derived.payload.json": {"pull_request": Pull},
    "drone-go-scm/pull_request/pr_edited.json": {"pull_request": Pull},
    "octokit-webhooks/issue_comment/created.payload.json": {"issue": Issue, "comment": Comment},
    "octokit-webhooks/issue_comment/edited.payload.json": {"issue": Issue, "comment": Comment},
    "drone-go-scm/issue_comment/comment.json": {"issue": Issue, "comment": Comment},
}
REST_EXAMPLES: dict[str, Any] = {
    "GET /repos/{owner}/{repo}": Repository,
    "GET /repos/{owner}/{repo}/pulls/{pull_number}": Pull,
    "GET /repos/{owner}/{repo}/pulls": list[Pull],
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/commits": list[PullCommit],
    "GET /repos/{owner}/{repo}/issues/{issue_number}": Issue,
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": list[Comment],
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": Comment,
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": list[Reaction],
    "GET /repos/{owner}/{repo}/git/ref/{ref}": GitRef,
    "GET /search/issues": SearchPage,
}

ELIDED = {("GET /search/issues", "lexical-fallback")}  # its items are written "..."


def _body(example: Any) -> Any:
    """An OpenAPI example object holds its body in `value`."""
    if isinstance(example, dict) and "value" in example:
        return example["value"]
    return example


def test_githubs_example_deliveries_fit_the_gateways_types(github_shared: Path) -> None:
    found: dict[str, list[str]] = {}
    for name, parts in EXAMPLES.items():
        payload = json.loads((github_shared / "payloads" / name).read_text())
        for part, shape in {"repository": Repository, **parts}.items():
            found[f"{name}: {part}"] = misfits(payload[part], shape)
    assert {name: errors for name, errors in found.items() if errors} == {}


def test_githubs_rest_examples_fit_the_gateways_types(github_shared: Path) -> None:
    examples = json.loads((github_shared / "rest-examples.json").read_text())
    found: dict[str, list[str]] = {}
    for endpoint, shape in REST_EXAMPLES.items():
        answers = examples[endpoint]["response_examples"]
        bodies = [
            body
            for status, named in answers.items()
            if status.startswith("2")
            for name, example in named.items()
            if (endpoint, name) not in ELIDED
            for body in [_body(example)]
        ]
        assert bodies, endpoint
        for index, body in enumerate(bodies):
            found[f"{endpoint} #{index}"] = misfits(body, shape)
    assert {name: errors for name, errors in found.items() if errors} == {}
