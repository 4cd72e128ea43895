"""Milestones, and an issue's own fields (`PATCH /repos/{o}/{r}/issues/{n}`).

As on GitHub: `GET milestones` lists the open ones unless `state` says `closed` or `all`,
ordered by `due_on` (`sort=completeness` by the share of closed issues), ascending unless
`direction=desc`; a milestone title is the repository's once (**422** `already_exists`);
`PATCH issues/{n}` takes `milestone` (a milestone number, or null to clear; **422** for one
the repository does not have), `labels` (replaces them all), `title`, `body` and `state`, on
issues and pull requests alike. A user below triage may edit only the title and body of
their own issue.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import pulls
from bot.sandbox.errors import ApiError, not_found, validation_failed
from bot.sandbox.model import ROLE_RANK, Issue, Milestone
from bot.sandbox.routes_issues import ISSUE_OR_PR, ISSUES, _issue, _label_names, _repo_label
from bot.sandbox.routing import Ctx, Registry, Reply, created, ok, paged
from bot.sandbox.views_issues import issue_json
from bot.sandbox.views_milestones import milestone_json

registry = Registry()
MILESTONES = "/repos/{owner}/{repo}/milestones"
STATES = ("open", "closed", "all")
TRIAGE_ONLY = ("milestone", "labels", "state")


def _milestone(ctx: Ctx) -> Milestone:
    try:
        found = ctx.repo.milestones.get(int(ctx.param("number")))
    except ValueError as error:
        raise not_found() from error
    if found is None:
        raise not_found()
    return found


def _shape(ctx: Ctx, milestone: Milestone) -> dict[str, Any]:
    return milestone_json(ctx.state, ctx.urls, ctx.repo, milestone)


def _completeness(ctx: Ctx, milestone: Milestone) -> float:
    inside = [i for i in ctx.repo.issues.values() if i.milestone == milestone.number]
    done = sum(1 for i in inside if i.state != "open")
    return done / len(inside) if inside else 0.0


@registry.route("GET", MILESTONES, permission=ISSUE_OR_PR)
def list_milestones(ctx: Ctx) -> Reply:
    state = ctx.query("state", "open")
    sort = ctx.query("sort", "due_on")
    if state not in STATES:
        raise validation_failed("Milestone", "state", "invalid", value=state)
    if sort not in ("due_on", "completeness"):
        raise validation_failed("Milestone", "sort", "invalid", value=sort)
    chosen = [m for m in ctx.repo.milestones.values() if state == "all" or m.state == state]
    if sort == "completeness":
        chosen.sort(key=lambda m: (_completeness(ctx, m), m.number))
    else:  # GitHub puts milestones without a due date last
        chosen.sort(key=lambda m: (m.due_on is None, m.due_on or "", m.number))
    if ctx.query("direction") == "desc":
        chosen.reverse()
    return paged(ctx, [_shape(ctx, m) for m in chosen])


@registry.route("GET", MILESTONES + "/{number}", permission=ISSUE_OR_PR)
def get_milestone(ctx: Ctx) -> Reply:
    return ok(_shape(ctx, _milestone(ctx)))


def _fields(ctx: Ctx, milestone: Milestone) -> None:
    state = ctx.field("state", str)
    if state is not None and state not in ("open", "closed"):
        raise validation_failed("Milestone", "state", "invalid", value=state)
    description, due_on = ctx.field("description", str), ctx.field("due_on", str)
    if state is not None and state != milestone.state:
        milestone.state = state
        milestone.closed_at = ctx.state.now() if state == "closed" else None
    if description is not None:
        milestone.description = description
    if due_on is not None:
        milestone.due_on = due_on
    milestone.updated_at = ctx.state.now()


def _taken(ctx: Ctx, title: str, number: int | None = None) -> bool:
    return any(m.title == title and m.number != number for m in ctx.repo.milestones.values())


@registry.route("POST", MILESTONES, permission=("issues",), write=True, user_role="write")
def create_milestone(ctx: Ctx) -> Reply:
    title = ctx.field("title", str, required=True)
    if not title or not title.strip():
        raise validation_failed("Milestone", "title", "missing_field")
    if _taken(ctx, title):
        raise validation_failed("Milestone", "title", "already_exists", value=title)
    now = ctx.state.now()
    number = max(ctx.repo.milestones, default=0) + 1
    milestone = Milestone(ctx.state.next_id("milestone"), number, title, ctx.actor, now, now)
    _fields(ctx, milestone)
    ctx.repo.milestones[number] = milestone
    shape = _shape(ctx, milestone)
    return created(shape, location=shape["url"])


@registry.route("PATCH", MILESTONES + "/{number}", permission=("issues",), write=True)
def update_milestone(ctx: Ctx) -> Reply:
    milestone = _milestone(ctx)
    title = ctx.field("title", str)
    if title is not None:
        if not title.strip():
            raise validation_failed("Milestone", "title", "missing_field")
        if _taken(ctx, title, milestone.number):
            raise validation_failed("Milestone", "title", "already_exists", value=title)
        milestone.title = title
    _fields(ctx, milestone)
    return ok(_shape(ctx, milestone))


def _may_edit(ctx: Ctx, issue: Issue) -> None:
    if ctx.identity.kind != "user":
        return
    triage = ROLE_RANK[ctx.state.role(ctx.repo, ctx.actor)] >= ROLE_RANK["triage"]
    own = issue.user.lower() == ctx.actor.lower()
    if not triage and (not own or any(name in ctx.json() for name in TRIAGE_ONLY)):
        raise ApiError(403, "Resource not accessible by personal access token")


def _new_milestone(ctx: Ctx) -> int | None:
    value = ctx.json()["milestone"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise validation_failed("Issue", "milestone", "invalid", value=value)
    try:
        number = int(value)
    except ValueError as error:
        raise validation_failed("Issue", "milestone", "invalid", value=value) from error
    if number not in ctx.repo.milestones:
        raise validation_failed("Issue", "milestone", "invalid", value=value)
    return number


@registry.route("PATCH", ISSUES + "/{number}", permission=ISSUE_OR_PR, write=True, user_role="read")
def update_issue(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    _may_edit(ctx, issue)
    title, body, state = ctx.field("title", str), ctx.field("body", str), ctx.field("state", str)
    if state is not None and state not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid", value=state)
    if "milestone" in ctx.json():
        issue.milestone = _new_milestone(ctx)
    if "labels" in ctx.json():
        chosen: list[str] = []
        for name in _label_names(ctx):
            label = _repo_label(ctx, name, create=True)
            if label.name not in chosen:
                chosen.append(label.name)
        issue.labels = chosen
    if title is not None:
        if not title.strip():
            raise validation_failed("Issue", "title", "missing_field")
        issue.title = title
        issue.edited_by = ctx.actor
    if body is not None:
        issue.body = body
        issue.edited_by = ctx.actor
    if state is not None and state != issue.state:
        if issue.pull is not None:
            pulls.set_state(ctx.state, ctx.repo, issue, state, ctx.actor)
        else:
            issue.state = state
            issue.closed_at = ctx.state.now() if state == "closed" else None
            issue.closed_by = ctx.actor if state == "closed" else None
            issue.state_reason = "completed" if state == "closed" else "reopened"
    issue.updated_at = ctx.state.now()
    return ok(issue_json(ctx.state, ctx.urls, ctx.repo, issue))
