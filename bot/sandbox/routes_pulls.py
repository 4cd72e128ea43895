"""Pull-request endpoints: list, create, get, update, files, commits, reviews and merge.

Creating a pull request answers GitHub's validation errors (each seen on github.com, with
the documentation URL GitHub sends for this endpoint):
- an open PR for the same head and base: 422 "Validation Failed" with the custom error
  "A pull request already exists for owner:branch." (github/VisualStudio#453,
  vsoch/pull-request-action#86, gm3dmo/the-power#175);
- a head with nothing the base lacks: the custom error "No commits between main and branch"
  (peter-evans/create-pull-request#4088, Cloudflare-Studio/ask-bonk#90, tgymnich/fork-sync#112);
- a head branch that does not exist: `{"resource": "PullRequest", "field": "head",
  "code": "invalid"}` (shepherd-tools/shepherd#51, stackitcloud/cloud-provider-stackit#10), and
  a base that does not exist the same for `base` (dailymotion-oss/octopilot#134).
"""

from __future__ import annotations

from bot.sandbox import pulls
from bot.sandbox.branches import resolve_commit
from bot.sandbox.errors import ApiError, not_found, validation_failed
from bot.sandbox.model import ROLE_RANK, Issue, Repo
from bot.sandbox.routing import Ctx, Registry, Reply, created, no_content, ok, paged
from bot.sandbox.views_git import rest_commit_json
from bot.sandbox.views_issues import file_json, pull_json, review_json

registry = Registry()
PULLS = "/repos/{owner}/{repo}/pulls"
READ = ("pull_requests",)
MAX_FILES = 3000
MAX_COMMITS = 250
CREATE_DOCS = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"


def pull_issue(ctx: Ctx) -> Issue:
    try:
        number = int(ctx.param("number"))
    except ValueError as error:
        raise not_found() from error
    issue = ctx.repo.issues.get(number)
    if issue is None or issue.pull is None:
        raise not_found()
    return issue


def _sort_key(issue: Issue, sort: str) -> str | int:
    if sort == "updated":
        return issue.updated_at
    if sort == "popularity":
        return len(issue.comment_ids)
    return issue.created_at


@registry.route("GET", PULLS, permission=READ)
def list_pulls(ctx: Ctx) -> Reply:
    state, repo = ctx.state, ctx.repo
    wanted = ctx.query("state") or "open"
    head, base = ctx.query("head"), ctx.query("base")
    chosen: list[Issue] = []
    for issue in repo.issues.values():
        pr = issue.pull
        if pr is None or wanted not in ("all", issue.state):
            continue
        if base is not None and pr.base_ref != base:
            continue
        if head is not None:
            owner, _, ref = head.partition(":")
            if pr.head_repo.split("/")[0].lower() != owner.lower() or (ref and pr.head_ref != ref):
                continue
        chosen.append(issue)
    sort = ctx.query("sort") or "created"
    default_direction = "desc" if sort == "created" else "asc"
    descending = (ctx.query("direction") or default_direction) == "desc"
    chosen.sort(key=lambda issue: (_sort_key(issue, sort), issue.number), reverse=descending)
    return paged(ctx, [pull_json(state, ctx.urls, repo, issue) for issue in chosen])


def _create_refusal(field: str | None, code: str, message: str | None = None) -> ApiError:
    error: dict[str, str] = {"resource": "PullRequest"}
    if field is not None:
        error["field"] = field
    error["code"] = code
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error], documentation_url=CREATE_DOCS)


def _head_repo(ctx: Ctx, owner: str) -> Repo | None:
    """The repository `owner:branch` names: the base itself or `owner`'s fork of it."""
    base = ctx.repo
    if not owner or owner.lower() == base.owner.lower():
        return base
    for repo in ctx.state.repos.values():
        if repo.owner.lower() == owner.lower() and repo.parent == base.full_name:
            return repo
    return None


@registry.route("POST", PULLS, permission=READ, write=True, user_role="read")
def create_pull(ctx: Ctx) -> Reply:
    state, repo = ctx.state, ctx.repo
    head = ctx.field("head", str, required=True)
    base = ctx.field("base", str, required=True)
    title, body = ctx.field("title", str), ctx.field("body", str)
    draft = ctx.field("draft", bool) or False
    may_modify = ctx.field("maintainer_can_modify", bool)
    assert head is not None and base is not None
    owner, _, ref = head.rpartition(":")
    head_repo = _head_repo(ctx, owner)
    head_sha = resolve_commit(state, head_repo, f"refs/heads/{ref}") if head_repo else None
    if head_repo is None or head_sha is None:
        raise _create_refusal("head", "invalid")
    base_sha = repo.branch(base)
    if base_sha is None:
        raise _create_refusal("base", "invalid")
    for issue in repo.issues.values():
        pr = issue.pull
        if (
            pr is not None
            and issue.state == "open"
            and pr.head_repo.lower() == head_repo.full_name.lower()
            and pr.head_ref == ref
            and pr.base_ref == base
        ):
            message = f"A pull request already exists for {head_repo.owner}:{ref}."
            raise _create_refusal(None, "custom", message)
    merge_base = state.objects.merge_base(base_sha, head_sha)
    if not state.objects.commits_between(merge_base, head_sha):
        raise _create_refusal(None, "custom", f"No commits between {base} and {head}")
    if not title:
        raise _create_refusal("title", "missing_field")
    issue = pulls.open_pull(
        state,
        repo,
        head_repo=head_repo,
        head_ref=ref,
        base_ref=base,
        title=title,
        body=body,
        author=ctx.actor,
        draft=draft,
        maintainer_can_modify=True if may_modify is None else may_modify,
    )
    reply = pull_json(state, ctx.urls, repo, issue)
    return created(reply, location=reply["url"])


@registry.route("GET", PULLS + "/{number}", permission=READ)
def get_pull(ctx: Ctx) -> Reply:
    return ok(pull_json(ctx.state, ctx.urls, ctx.repo, pull_issue(ctx)))


@registry.route("PATCH", PULLS + "/{number}", permission=READ, write=True, user_role="read")
def update_pull(ctx: Ctx) -> Reply:
    state, repo, issue = ctx.state, ctx.repo, pull_issue(ctx)
    pr = pulls.pull_of(issue)
    author = issue.user.lower() == ctx.actor.lower()
    low_role = ROLE_RANK[state.role(repo, ctx.actor)] < ROLE_RANK["write"]
    if ctx.identity.kind == "user" and not author and low_role:
        raise ApiError(403, "Resource not accessible by personal access token")
    title, body = ctx.field("title", str), ctx.field("body", str)
    new_state, base = ctx.field("state", str), ctx.field("base", str)
    may_modify = ctx.field("maintainer_can_modify", bool)
    if new_state is not None and new_state not in ("open", "closed"):
        raise validation_failed("PullRequest", "state", "invalid", value=new_state)
    if base is not None:
        if repo.branch(base) is None:
            raise validation_failed("PullRequest", "base", "invalid", value=base)
        pr.base_ref = base
    if title is not None:
        issue.title = title
    if body is not None:
        issue.body = body
    if may_modify is not None:
        pr.maintainer_can_modify = may_modify
    if new_state is not None:
        pulls.set_state(state, repo, issue, new_state, ctx.actor)
    issue.updated_at = state.now()
    return ok(pull_json(state, ctx.urls, repo, issue))


@registry.route("GET", PULLS + "/{number}/files", permission=READ)
def list_files(ctx: Ctx) -> Reply:
    issue = pull_issue(ctx)
    pr = pulls.pull_of(issue)
    head = pulls.compared_range(ctx.state, ctx.repo, pr)[1]
    changes = pulls.changed_files(ctx.state, ctx.repo, pr)[:MAX_FILES]
    return paged(ctx, [file_json(ctx.urls, ctx.repo, head, change) for change in changes])


@registry.route("GET", PULLS + "/{number}/commits", permission=READ)
def list_commits(ctx: Ctx) -> Reply:
    pr = pulls.pull_of(pull_issue(ctx))
    shas = pulls.pull_commits(ctx.state, ctx.repo, pr)[:MAX_COMMITS]
    return paged(ctx, [rest_commit_json(ctx.state, ctx.urls, ctx.repo, sha) for sha in shas])


@registry.route("GET", PULLS + "/{number}/reviews", permission=READ)
def list_reviews(ctx: Ctx) -> Reply:
    issue = pull_issue(ctx)
    reviews = pulls.pull_of(issue).reviews
    return paged(
        ctx, [review_json(ctx.state, ctx.urls, ctx.repo, issue.number, r) for r in reviews]
    )


@registry.route("GET", PULLS + "/{number}/merge", permission=READ)
def check_merged(ctx: Ctx) -> Reply:
    if not pulls.pull_of(pull_issue(ctx)).merged:
        raise not_found()
    return no_content()


@registry.route("PUT", PULLS + "/{number}/merge", permission=("contents",), write=True)
def merge_pull(ctx: Ctx) -> Reply:
    issue = pull_issue(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    ctx.body = body
    method = ctx.field("merge_method", str) or "merge"
    if method not in ("merge", "squash", "rebase"):
        raise validation_failed("PullRequest", "merge_method", "invalid", value=method)
    sha = pulls.merge(
        ctx.state,
        ctx.repo,
        issue,
        actor=ctx.actor,
        method=method,
        title=ctx.field("commit_title", str),
        message=ctx.field("commit_message", str),
        expected_head=ctx.field("sha", str),
    )
    return ok({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})
