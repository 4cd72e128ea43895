"""Issues (PRs included), issue comments, labels and reactions.

A reaction that the same user already left answers 200 with the existing one (201 when new);
removing a label the issue does not carry is 404; creating a duplicate repo label is 422.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from bot.sandbox.errors import ApiError, not_found, validation_failed
from bot.sandbox.model import Comment, Issue, Label, Reaction
from bot.sandbox.routing import Ctx, Registry, Reply, created, no_content, ok, paged
from bot.sandbox.views import REACTION_CONTENTS, label_json, login_json, reaction_json
from bot.sandbox.views_issues import comment_json, issue_json

registry = Registry()
REST_ONLY_COMMENT_FIELDS = {"pin": None, "minimized": None}
ISSUES = "/repos/{owner}/{repo}/issues"
ISSUE_OR_PR = ("issues", "pull_requests")
HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")
DEFAULT_LABEL_COLOR = "ededed"


def _issue(ctx: Ctx) -> Issue:
    try:
        number = int(ctx.param("number"))
    except ValueError as error:
        raise not_found() from error
    issue = ctx.repo.issues.get(number)
    if issue is None:
        raise not_found()
    return issue


def _comment(ctx: Ctx) -> Comment:
    try:
        comment = ctx.state.comments.get(int(ctx.param("comment_id")))
    except ValueError as error:
        raise not_found() from error
    if comment is None or comment.deleted or comment.repo != ctx.repo.full_name:
        raise not_found()
    return comment


# Before `/{number}`, which would take "comments" for an issue number.
@registry.route("GET", ISSUES + "/comments", permission=ISSUE_OR_PR)
def list_repo_comments(ctx: Ctx) -> Reply:
    """Every issue and PR comment of the repository: by ascending id, or by `sort` (`created`,
    `updated`) in `direction` (default `desc`, ignored without `sort`); `since` keeps those
    updated at or after it."""
    sort, since = ctx.query("sort"), ctx.query("since")
    if sort not in (None, "created", "updated"):
        raise validation_failed("IssueComment", "sort", "invalid")
    name = ctx.repo.full_name
    comments = [c for c in ctx.state.comments.values() if c.repo == name and not c.deleted]
    if since:
        comments = [c for c in comments if c.updated_at >= since]
    comments.sort(key=lambda c: c.id)
    if sort is not None:
        newest_first = ctx.query("direction", "desc") != "asc"
        field = "updated_at" if sort == "updated" else "created_at"
        comments.sort(key=lambda c: (getattr(c, field), c.id), reverse=newest_first)
    return paged(ctx, [_rest_comment(ctx, c) for c in comments])


@registry.route("GET", ISSUES + "/{number}", permission=ISSUE_OR_PR)
def get_issue(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    body = issue_json(ctx.state, ctx.urls, ctx.repo, issue)
    closer = issue.closed_by
    body["closed_by"] = login_json(ctx.state, ctx.urls, closer) if closer else None
    body["pinned_comment"] = None
    return ok(body)


# -- comments ----------------------------------------------------------------------------


def _rest_comment(ctx: Ctx, comment: Comment) -> dict[str, Any]:
    return {**comment_json(ctx.state, ctx.urls, ctx.repo, comment), **REST_ONLY_COMMENT_FIELDS}


@registry.route("GET", ISSUES + "/{number}/comments", permission=ISSUE_OR_PR)
def list_comments(ctx: Ctx) -> Reply:
    issue, since = _issue(ctx), ctx.query("since")
    comments = [ctx.state.comments[i] for i in issue.comment_ids]
    if since:
        comments = [c for c in comments if c.updated_at >= since]
    return paged(ctx, [_rest_comment(ctx, c) for c in comments])


def _body_text(ctx: Ctx) -> str:
    body = ctx.field("body", str, required=True)
    if not body or not body.strip():
        raise validation_failed("IssueComment", "body", "missing_field")
    if len(body) > 65536:
        raise validation_failed("IssueComment", "body", "custom", "Body is too long")
    return body


@registry.route(
    "POST", ISSUES + "/{number}/comments", permission=ISSUE_OR_PR, write=True, user_role="read"
)
def create_comment(ctx: Ctx) -> Reply:
    issue, body = _issue(ctx), _body_text(ctx)
    now = ctx.state.now()
    comment = Comment(
        ctx.state.next_id("comment"), ctx.repo.full_name, issue.number, ctx.actor, body, now, now
    )
    ctx.state.comments[comment.id] = comment
    issue.comment_ids.append(comment.id)
    issue.updated_at = now
    shape = _rest_comment(ctx, comment)
    return created(shape, location=shape["url"])


@registry.route("GET", ISSUES + "/comments/{comment_id}", permission=ISSUE_OR_PR)
def get_comment(ctx: Ctx) -> Reply:
    return ok(_rest_comment(ctx, _comment(ctx)))


def _own_or_write(ctx: Ctx, comment: Comment) -> None:
    own = comment.user.lower() == ctx.actor.lower()
    if (
        ctx.identity.kind == "user"
        and not own
        and ctx.state.role(ctx.repo, ctx.actor)
        not in (
            "write",
            "maintain",
            "admin",
        )
    ):
        raise ApiError(403, "Resource not accessible by personal access token")


@registry.route(
    "PATCH", ISSUES + "/comments/{comment_id}", permission=ISSUE_OR_PR, write=True, user_role="read"
)
def update_comment(ctx: Ctx) -> Reply:
    comment = _comment(ctx)
    _own_or_write(ctx, comment)
    body = _body_text(ctx)
    comment.previous_body, comment.body = comment.body, body
    comment.updated_at = ctx.state.now()
    comment.edited_by = ctx.actor
    return ok(_rest_comment(ctx, comment))


@registry.route(
    "DELETE",
    ISSUES + "/comments/{comment_id}",
    permission=ISSUE_OR_PR,
    write=True,
    user_role="read",
)
def delete_comment(ctx: Ctx) -> Reply:
    comment = _comment(ctx)
    _own_or_write(ctx, comment)
    comment.deleted = True
    ctx.repo.issues[comment.number].comment_ids.remove(comment.id)
    return no_content()


# -- reactions ---------------------------------------------------------------------------


def _react(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    content = ctx.field("content", str, required=True)
    if content not in REACTION_CONTENTS:
        raise validation_failed("Reaction", "content", "invalid", value=content)
    for existing in reactions:
        if existing.user.lower() == ctx.actor.lower() and existing.content == content:
            return ok(reaction_json(ctx.state, ctx.urls, existing))
    reaction = Reaction(ctx.state.next_id("reaction"), ctx.actor, content, ctx.state.now())
    reactions.append(reaction)
    return created(reaction_json(ctx.state, ctx.urls, reaction))


def _listed(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    content = ctx.query("content")
    chosen = [r for r in reactions if content is None or r.content == content]
    return paged(ctx, [reaction_json(ctx.state, ctx.urls, r) for r in chosen])


REACT: dict[str, Any] = {"permission": ("issues",), "write": True, "user_role": "read"}


@registry.route("POST", ISSUES + "/comments/{comment_id}/reactions", **REACT)
def react_to_comment(ctx: Ctx) -> Reply:
    return _react(ctx, _comment(ctx).reactions)


@registry.route("GET", ISSUES + "/comments/{comment_id}/reactions", permission=("issues",))
def list_comment_reactions(ctx: Ctx) -> Reply:
    return _listed(ctx, _comment(ctx).reactions)


@registry.route("DELETE", ISSUES + "/comments/{comment_id}/reactions/{reaction_id}", **REACT)
def delete_comment_reaction(ctx: Ctx) -> Reply:
    reactions = _comment(ctx).reactions
    doomed = [r for r in reactions if str(r.id) == ctx.param("reaction_id")]
    for reaction in doomed:
        reactions.remove(reaction)
    return no_content()


@registry.route("POST", ISSUES + "/{number}/reactions", **REACT)
def react_to_issue(ctx: Ctx) -> Reply:
    return _react(ctx, _issue(ctx).reactions)


@registry.route("GET", ISSUES + "/{number}/reactions", permission=("issues",))
def list_issue_reactions(ctx: Ctx) -> Reply:
    return _listed(ctx, _issue(ctx).reactions)


# -- labels ------------------------------------------------------------------------------

LABELS_WRITE: dict[str, Any] = {"permission": ISSUE_OR_PR, "write": True, "user_role": "triage"}


def _repo_label(ctx: Ctx, name: str, *, create: bool) -> Label:
    label = ctx.repo.labels.get(name.lower())
    if label is None:
        if not create:
            raise not_found()
        label = Label(ctx.state.next_id("label"), name, DEFAULT_LABEL_COLOR)
        ctx.repo.labels[name.lower()] = label
    return label


def _label_names(ctx: Ctx) -> list[str]:
    raw: Any = ctx.body
    if isinstance(raw, dict):
        raw = raw.get("labels", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise validation_failed("Label", "labels", "invalid")
    names = [item.get("name") if isinstance(item, dict) else item for item in raw]
    if not all(isinstance(name, str) and name for name in names):
        raise validation_failed("Label", "name", "invalid")
    return [str(name) for name in names]


def _issue_labels(ctx: Ctx, issue: Issue) -> Reply:
    labels = [ctx.repo.labels[name.lower()] for name in issue.labels]
    return ok([label_json(ctx.urls, ctx.repo, label) for label in labels])


@registry.route("GET", ISSUES + "/{number}/labels", permission=ISSUE_OR_PR)
def list_issue_labels(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    labels = [ctx.repo.labels[name.lower()] for name in issue.labels]
    return paged(ctx, [label_json(ctx.urls, ctx.repo, label) for label in labels])


@registry.route("POST", ISSUES + "/{number}/labels", **LABELS_WRITE)
def add_labels(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    present = {name.lower() for name in issue.labels}
    for name in _label_names(ctx):
        label = _repo_label(ctx, name, create=True)
        if label.name.lower() not in present:
            issue.labels.append(label.name)
            present.add(label.name.lower())
    issue.updated_at = ctx.state.now()
    return _issue_labels(ctx, issue)


@registry.route("PUT", ISSUES + "/{number}/labels", **LABELS_WRITE)
def set_labels(ctx: Ctx) -> Reply:
    issue = _issue(ctx)
    chosen: list[str] = []
    for name in _label_names(ctx):
        label = _repo_label(ctx, name, create=True)
        if label.name not in chosen:
            chosen.append(label.name)
    issue.labels = chosen
    issue.updated_at = ctx.state.now()
    return _issue_labels(ctx, issue)


@registry.route("DELETE", ISSUES + "/{number}/labels/{name}", **LABELS_WRITE)
def remove_label(ctx: Ctx) -> Reply:
    issue, name = _issue(ctx), unquote(ctx.param("name"))
    kept = [label for label in issue.labels if label.lower() != name.lower()]
    if len(kept) == len(issue.labels):
        raise ApiError(404, "Label does not exist")
    issue.labels = kept
    issue.updated_at = ctx.state.now()
    return _issue_labels(ctx, issue)


@registry.route("GET", "/repos/{owner}/{repo}/labels", permission=ISSUE_OR_PR)
def list_repo_labels(ctx: Ctx) -> Reply:
    labels = sorted(ctx.repo.labels.values(), key=lambda label: label.name.lower())
    return paged(ctx, [label_json(ctx.urls, ctx.repo, label) for label in labels])


@registry.route("GET", "/repos/{owner}/{repo}/labels/{name}", permission=ISSUE_OR_PR)
def get_label(ctx: Ctx) -> Reply:
    label = _repo_label(ctx, unquote(ctx.param("name")), create=False)
    return ok(label_json(ctx.urls, ctx.repo, label))


@registry.route("POST", "/repos/{owner}/{repo}/labels", **LABELS_WRITE)
def create_label(ctx: Ctx) -> Reply:
    name = ctx.field("name", str, required=True)
    color, description = _colour_and_description(ctx, DEFAULT_LABEL_COLOR)
    assert name is not None
    if name.lower() in ctx.repo.labels:
        raise validation_failed("Label", "name", "already_exists", value=name)
    label = Label(ctx.state.next_id("label"), name, color.lower(), description)
    ctx.repo.labels[name.lower()] = label
    shape = label_json(ctx.urls, ctx.repo, label)
    return created(shape, location=shape["url"])


def _colour_and_description(ctx: Ctx, color_unset: str) -> tuple[str, str | None]:
    color = (ctx.field("color", str) or color_unset).removeprefix("#")
    description = ctx.field("description", str)
    if not HEX_COLOR.match(color):
        raise validation_failed("Label", "color", "invalid", value=color)
    if description is not None and len(description) > 100:
        raise validation_failed("Label", "description", "invalid", value=description)
    return color, description


@registry.route("PATCH", "/repos/{owner}/{repo}/labels/{name}", **LABELS_WRITE)
def update_label(ctx: Ctx) -> Reply:
    """Update a label's colour and description (renaming is not modelled)."""
    label = _repo_label(ctx, unquote(ctx.param("name")), create=False)
    color, description = _colour_and_description(ctx, label.color)
    label.color = color.lower()
    if description is not None:
        label.description = description
    return ok(label_json(ctx.urls, ctx.repo, label))
