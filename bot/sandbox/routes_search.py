"""GET /search/issues: the qualifiers the bot uses (repo, org/user, is/type, state, label,
author, head, base, in, updated, milestone) plus free text, over the repositories the
caller can see."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.access import token_scope
from bot.sandbox.errors import validation_failed
from bot.sandbox.model import Issue, Repo
from bot.sandbox.routing import Ctx, Registry, Reply, ok, paginate
from bot.sandbox.views_issues import issue_json

registry = Registry()
TERM = re.compile(r'(-?)(?:([a-zA-Z_-]+):)?("[^"]*"|\S+)')
Test = Callable[[Repo, Issue], bool]


@dataclass
class Query:
    tests: list[Test] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    fields: tuple[str, ...] = ("title", "body")


def _is(value: str) -> Test | None:
    def is_pull(_: Repo, issue: Issue) -> bool:
        return issue.pull is not None

    def is_issue(_: Repo, issue: Issue) -> bool:
        return issue.pull is None

    def in_state(_: Repo, issue: Issue) -> bool:
        return issue.state == value

    def merged(_: Repo, issue: Issue) -> bool:
        return issue.pull is not None and issue.pull.merged == (value == "merged")

    tests: dict[str, Test] = {"pr": is_pull, "pull-request": is_pull, "issue": is_issue}
    tests.update({"open": in_state, "closed": in_state, "merged": merged, "unmerged": merged})
    return tests.get(value)


def _qualifier(name: str, value: str) -> Test | None:
    lowered = value.lower()
    if name in ("is", "type", "state"):
        return _is(lowered)

    def repo_is(repo: Repo, _: Issue) -> bool:
        return repo.full_name.lower() == lowered

    def owner_is(repo: Repo, _: Issue) -> bool:
        return repo.owner.lower() == lowered

    def labelled(_: Repo, issue: Issue) -> bool:
        return lowered in {label.lower() for label in issue.labels}

    def authored(_: Repo, issue: Issue) -> bool:
        return issue.user.lower() == lowered

    def head_is(_: Repo, issue: Issue) -> bool:
        return issue.pull is not None and issue.pull.head_ref == value

    def base_is(_: Repo, issue: Issue) -> bool:
        return issue.pull is not None and issue.pull.base_ref == value

    def updated(_: Repo, issue: Issue) -> bool:
        return _compare(issue.updated_at, value)

    def in_milestone(repo: Repo, issue: Issue) -> bool:
        found = repo.milestones.get(issue.milestone or 0)
        return found is not None and found.title.lower() == lowered

    tests: dict[str, Test] = {
        "updated": updated,
        "milestone": in_milestone,
        "repo": repo_is,
        "org": owner_is,
        "user": owner_is,
        "label": labelled,
        "author": authored,
        "head": head_is,
        "base": base_is,
    }
    return tests.get(name)


def _compare(stamp: str, condition: str) -> bool:
    """`stamp` (ISO 8601, UTC) against `>=T`, `>T`, `<=T`, `<T` or `T` (that day, or that
    moment when `T` has a time); GitHub compares the timestamps of one zone alike."""
    for operator in (">=", "<=", ">", "<"):
        if condition.startswith(operator):
            bound = condition[len(operator) :]
            start = operator in (">=", "<")  # a day alone: from its start, or after its end
            limit = bound if "T" in bound else bound + ("T00:00:00Z" if start else "T23:59:59Z")
            if operator == ">=":
                return stamp >= limit
            if operator == ">":
                return stamp > limit
            if operator == "<=":
                return stamp <= limit
            return stamp < limit
    return stamp.startswith(condition) if "T" not in condition else stamp == condition


def _negate(test: Test) -> Test:
    def negated(repo: Repo, issue: Issue) -> bool:
        return not test(repo, issue)

    return negated


def parse(text: str) -> Query:
    query = Query()
    for negated, name, raw in TERM.findall(text):
        value = raw.strip('"')
        if name.lower() == "in":
            query.fields = tuple(part for part in value.lower().split(",") if part)
            continue
        test = _qualifier(name.lower(), value) if name else None
        if test is None:
            query.words.append(f"{name}:{value}" if name else value)
        else:
            query.tests.append(_negate(test) if negated else test)
    return query


def _matches(query: Query, repo: Repo, issue: Issue) -> bool:
    if not all(test(repo, issue) for test in query.tests):
        return False
    haystack = " ".join(
        str(getattr(issue, name) or "") for name in query.fields if name in ("title", "body")
    ).lower()
    return all(word.lower() in haystack for word in query.words)


def _visible(ctx: Ctx) -> list[Repo]:
    identity, state = ctx.identity, ctx.state
    if identity.kind == "installation" and identity.token is not None:
        scope = token_scope(state, identity.token)
        return [repo for repo in state.repos.values() if repo.full_name.lower() in scope]
    if identity.kind == "user":
        return [r for r in state.repos.values() if state.role(r, ctx.actor) != "none"]
    return [repo for repo in state.repos.values() if not repo.private]


def _sort_key(issue: Issue, sort: str) -> str | int:
    if sort == "updated":
        return issue.updated_at
    if sort == "comments":
        return len(issue.comment_ids)
    return issue.created_at


@registry.route("GET", "/search/issues", resource="search")
def search_issues(ctx: Ctx) -> Reply:
    text = ctx.query("q")
    if not text:
        raise validation_failed("Search", "q", "missing")
    query = parse(text)
    found = [
        (repo, issue)
        for repo in _visible(ctx)
        for issue in repo.issues.values()
        if _matches(query, repo, issue)
    ]
    sort = ctx.query("sort") or ""
    descending = (ctx.query("order") or "desc") == "desc"
    found.sort(key=lambda pair: (_sort_key(pair[1], sort), pair[1].id), reverse=descending)
    page, headers = paginate(ctx, found[:1000])
    items = [{**issue_json(ctx.state, ctx.urls, r, i), "type": None, "score": 1.0} for r, i in page]
    body = {
        "total_count": len(found),
        "incomplete_results": False,
        "search_type": "lexical",
        "items": items,
    }
    return ok(body, headers=headers)
