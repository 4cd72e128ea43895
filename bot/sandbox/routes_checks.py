"""Check runs (create, update, get, list for a ref, annotations) and commit statuses."""

from __future__ import annotations

from typing import Any

from bot.sandbox import checks
from bot.sandbox.branches import resolve_commit
from bot.sandbox.errors import ApiError, not_found, unprocessable, validation_failed
from bot.sandbox.model import CheckRun, CommitStatus, Json, Repo, State
from bot.sandbox.pulls import head_sha
from bot.sandbox.routing import Ctx, Registry, Reply, created, ok, paged, paginate
from bot.sandbox.views import Urls, app_json, login_json, node_id, repo_json

registry = Registry()
RUNS = "/repos/{owner}/{repo}/check-runs"
CHECKS_WRITE: dict[str, Any] = {"permission": ("checks",), "write": True}
STATUS_STATES = ("error", "failure", "pending", "success")


def _pull_refs(state: State, urls: Urls, repo: Repo, sha: str) -> list[Json]:
    """Open PRs of this repository whose head is `sha` in this same repository (not forks)."""
    found: list[Json] = []
    for issue in repo.issues.values():
        pr = issue.pull
        if pr is None or issue.state != "open" or pr.head_repo != repo.full_name:
            continue
        if head_sha(state, pr) != sha:
            continue
        stub = {"id": repo.id, "url": urls.repo(repo.full_name), "name": repo.name}
        found.append(
            {
                "url": f"{urls.repo(repo.full_name)}/pulls/{issue.number}",
                "id": pr.id,
                "number": issue.number,
                "head": {"ref": pr.head_ref, "sha": sha, "repo": stub},
                "base": {"ref": pr.base_ref, "sha": repo.branch(pr.base_ref), "repo": stub},
            }
        )
    return found


def check_run_json(state: State, urls: Urls, run: CheckRun) -> Json:
    repo = state.repo(run.repo)
    api = f"{urls.repo(repo.full_name)}/check-runs/{run.id}"
    output = {key: run.output.get(key) for key in ("title", "summary", "text")}
    output.update(
        {"annotations_count": len(run.annotations), "annotations_url": f"{api}/annotations"}
    )
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id,
        "url": api,
        "html_url": f"{urls.web}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url or f"{urls.web}/apps/{state.app.slug}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": output,
        "name": run.name,
        "check_suite": {"id": run.suite_id},
        "app": app_json(state, urls, state.app),
        "pull_requests": _pull_refs(state, urls, repo, run.head_sha),
    }


def _apps_only(ctx: Ctx) -> None:
    if ctx.identity.kind != "installation":
        raise ApiError(403, "You must authenticate via a GitHub App.")


def _apply(ctx: Ctx, run: CheckRun) -> None:
    """Apply name/status/conclusion/output/actions of a create or update request to `run`."""
    body = ctx.json()
    status = checks.validate_progress(
        ctx.field("status", str), ctx.field("conclusion", str), ctx.field("completed_at", str)
    )
    for name in ("name", "external_id", "details_url", "started_at"):
        value = ctx.field(name, str)
        if value is not None:
            setattr(run, name, value)
    if status is not None:
        run.status = status
        if status == "in_progress" and run.started_at is None:
            run.started_at = ctx.state.now()
    if "conclusion" in body and body["conclusion"] is not None:
        run.conclusion = body["conclusion"]
        run.completed_at = ctx.field("completed_at", str) or ctx.state.now()
    if body.get("output") is not None:
        texts, annotations = checks.validate_output(body["output"])
        run.output = texts
        run.annotations += annotations
    if body.get("actions") is not None:
        run.actions = checks.validate_actions(body["actions"])


@registry.route("POST", RUNS, **CHECKS_WRITE)
def create_check_run(ctx: Ctx) -> Reply:
    _apps_only(ctx)
    state, repo = ctx.state, ctx.repo
    name = ctx.field("name", str, required=True)
    sha = ctx.field("head_sha", str, required=True)
    assert name is not None and sha is not None
    if sha not in state.objects.commits:
        raise unprocessable(f"No commit found for SHA: {sha}")
    suites = [
        r.suite_id
        for r in state.check_runs.values()
        if r.repo == repo.full_name and r.head_sha == sha
    ]
    run = CheckRun(
        id=state.next_id("check_run"),
        repo=repo.full_name,
        name=name,
        head_sha=sha,
        status="queued",
        conclusion=None,
        started_at=state.now(),
        completed_at=None,
        suite_id=suites[0] if suites else state.next_id("check_suite"),
    )
    _apply(ctx, run)
    state.check_runs[run.id] = run
    body = check_run_json(state, ctx.urls, run)
    return created(body, location=body["url"])


def _run(ctx: Ctx) -> CheckRun:
    try:
        run = ctx.state.check_runs.get(int(ctx.param("check_run_id")))
    except ValueError as error:
        raise not_found() from error
    if run is None or run.repo != ctx.repo.full_name:
        raise not_found()
    return run


@registry.route("PATCH", RUNS + "/{check_run_id}", **CHECKS_WRITE)
def update_check_run(ctx: Ctx) -> Reply:
    _apps_only(ctx)
    run = _run(ctx)
    _apply(ctx, run)
    return ok(check_run_json(ctx.state, ctx.urls, run))


@registry.route("GET", RUNS + "/{check_run_id}", permission=("checks",))
def get_check_run(ctx: Ctx) -> Reply:
    return ok(check_run_json(ctx.state, ctx.urls, _run(ctx)))


@registry.route("GET", RUNS + "/{check_run_id}/annotations", permission=("checks",))
def list_annotations(ctx: Ctx) -> Reply:
    run = _run(ctx)
    blob_href = f"{ctx.urls.web}/{run.repo}/blob/{run.head_sha}"
    return paged(ctx, [{**a, "blob_href": f"{blob_href}/{a['path']}"} for a in run.annotations])


def _commit_of(ctx: Ctx) -> str:
    ref = ctx.param("ref")
    sha = resolve_commit(ctx.state, ctx.repo, ref)
    if sha is None:
        raise unprocessable(f"No commit found for SHA: {ref}")
    return sha


@registry.route("GET", "/repos/{owner}/{repo}/commits/{ref:.+}/check-runs", permission=("checks",))
def list_check_runs_for_ref(ctx: Ctx) -> Reply:
    sha = _commit_of(ctx)
    runs = [
        run
        for run in ctx.state.check_runs.values()
        if run.repo == ctx.repo.full_name and run.head_sha == sha
    ]
    name, status = ctx.query("check_name"), ctx.query("status")
    runs = [r for r in runs if (name is None or r.name == name) and (status in (None, r.status))]
    if (ctx.query("filter") or "latest") == "latest":
        latest = {run.name: run for run in sorted(runs, key=lambda r: r.id)}
        runs = list(latest.values())
    runs.sort(key=lambda r: r.id, reverse=True)
    page, headers = paginate(ctx, runs)
    body = {
        "total_count": len(runs),
        "check_runs": [check_run_json(ctx.state, ctx.urls, run) for run in page],
    }
    return ok(body, headers=headers)


def status_json(state: State, urls: Urls, repo: Repo, status: CommitStatus) -> Json:
    return {
        "url": f"{urls.repo(repo.full_name)}/statuses/{status.sha}",
        "avatar_url": None,
        "id": status.id,
        "node_id": node_id("StatusContext", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": status.created_at,
        "updated_at": status.created_at,
        "creator": login_json(state, urls, status.creator),
    }


@registry.route(
    "POST", "/repos/{owner}/{repo}/statuses/{sha}", permission=("statuses",), write=True
)
def create_status(ctx: Ctx) -> Reply:
    state, repo, sha = ctx.state, ctx.repo, ctx.param("sha")
    value = ctx.field("state", str, required=True)
    if value not in STATUS_STATES:
        raise validation_failed("Status", "state", "invalid", value=value)
    if sha not in state.objects.commits:
        raise unprocessable(f"No commit found for SHA: {sha}")
    context = ctx.field("context", str) or "default"
    same = [s for s in repo.statuses if s.sha == sha and s.context.lower() == context.lower()]
    if len(same) >= 1000:
        raise validation_failed(
            "Status",
            "context",
            "custom",
            "This SHA and context has reached the maximum number of statuses.",
        )
    status = CommitStatus(
        state.next_id("status"),
        sha,
        value,
        context,
        ctx.field("description", str),
        ctx.field("target_url", str),
        ctx.actor,
        state.now(),
    )
    repo.statuses.append(status)
    body = status_json(state, ctx.urls, repo, status)
    return created(body, location=body["url"])


@registry.route("GET", "/repos/{owner}/{repo}/commits/{ref:.+}/status", permission=("statuses",))
def combined_status(ctx: Ctx) -> Reply:
    state, repo = ctx.state, ctx.repo
    sha = _commit_of(ctx)
    latest: dict[str, CommitStatus] = {}
    for status in sorted(repo.statuses, key=lambda s: s.id):
        if status.sha == sha:
            latest[status.context.lower()] = status
    states = {status.state for status in latest.values()}
    combined = "pending"
    if states & {"error", "failure"}:
        combined = "failure"
    elif states and states == {"success"}:
        combined = "success"
    return ok(
        {
            "state": combined,
            "statuses": [status_json(state, ctx.urls, repo, s) for s in latest.values()],
            "sha": sha,
            "total_count": len(latest),
            "repository": repo_json(state, ctx.urls, repo),
            "commit_url": f"{ctx.urls.repo(repo.full_name)}/commits/{sha}",
            "url": f"{ctx.urls.repo(repo.full_name)}/commits/{sha}/status",
        }
    )
