"""Webhook deliveries built from the double's own state, shaped like GitHub's.

Each builder returns `(event name, payload)`. `sign` and `delivery_headers` produce what
GitHub sends with a delivery, so a test can POST it to the bot exactly as GitHub would.
The shapes are checked against octokit's webhook schemas and real example payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

from bot.sandbox import pulls
from bot.sandbox.double import GitHubDouble
from bot.sandbox.model import CheckRun, Json, Repo
from bot.sandbox.routes_checks import check_run_json
from bot.sandbox.views import app_json, installation_json, login_json, node_id, org_json, repo_json
from bot.sandbox.views_issues import comment_json, issue_json, pull_json

Event = tuple[str, Json]
ZERO_SHA = "0" * 40


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_headers(
    double: GitHubDouble,
    event: str,
    body: bytes,
    secret: str,
    *,
    delivery_id: str | None = None,
    hook_id: int = 1,
) -> dict[str, str]:
    """Headers of an App webhook delivery of `body` for `event`."""
    signature_sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/sandbox",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(double.state.app.id),
        "X-Hub-Signature": f"sha1={signature_sha1}",
        "X-Hub-Signature-256": sign(secret, body),
    }


def encode(payload: Json) -> bytes:
    return json.dumps(payload).encode()


def _envelope(double: GitHubDouble, repo: Repo, sender: str) -> Json:
    """The repository, sender, organization and installation parts every repo event has."""
    state, urls = double.state, double.urls
    envelope: Json = {
        "repository": repo_json(state, urls, repo),
        "sender": login_json(state, urls, sender),
    }
    if state.user(repo.owner).type == "Organization":
        envelope["organization"] = org_json(state, urls, repo.owner)
    installation = state.installation_for(repo)
    if installation is not None:
        envelope["installation"] = {
            "id": installation.id,
            "node_id": node_id("Installation", installation.id),
        }
    return envelope


def pull_request_event(
    double: GitHubDouble,
    repo: str,
    number: int,
    action: str,
    *,
    sender: str | None = None,
    changes: Json | None = None,
    before: str | None = None,
) -> Event:
    """A `pull_request` delivery (opened, edited, synchronize, reopened, closed, ...)."""
    target = double.state.repo(repo)
    issue = double.pull(repo, number)
    pr = pulls.pull_of(issue)
    who = sender or (pr.merged_by if action == "closed" and pr.merged_by else issue.user)
    if action == "edited" and sender is None:
        who = issue.edited_by or issue.user  # GitHub names the editor, not the author
    payload: Json = {
        "action": action,
        "number": number,
        "pull_request": pull_json(double.state, double.urls, target, issue),
    }
    if action == "synchronize":
        payload["before"] = before or ZERO_SHA
        payload["after"] = pulls.head_sha(double.state, pr)
    if action == "edited":
        payload["changes"] = changes or {}
    payload.update(_envelope(double, target, who))
    return "pull_request", payload


def pull_request_opened(double: GitHubDouble, repo: str, number: int) -> Event:
    return pull_request_event(double, repo, number, "opened")


def pull_request_synchronize(double: GitHubDouble, repo: str, number: int, before: str) -> Event:
    return pull_request_event(double, repo, number, "synchronize", before=before)


def pull_request_edited(double: GitHubDouble, repo: str, number: int, changes: Json) -> Event:
    return pull_request_event(double, repo, number, "edited", changes=changes)


def pull_request_reopened(double: GitHubDouble, repo: str, number: int) -> Event:
    return pull_request_event(double, repo, number, "reopened")


def pull_request_closed(double: GitHubDouble, repo: str, number: int) -> Event:
    """`closed`, with `pull_request.merged` telling a merge from a plain close."""
    return pull_request_event(double, repo, number, "closed")


def issue_comment_event(
    double: GitHubDouble, repo: str, comment_id: int, action: str, *, sender: str | None = None
) -> Event:
    """An `issue_comment` delivery: created, edited (with `changes.body.from`) or deleted.

    The sender is whoever acted: the author for `created`, the last editor for `edited`
    (someone with write access may edit another's comment; `comment.user` stays the author).
    """
    state, urls = double.state, double.urls
    target = state.repo(repo)
    comment = state.comments[comment_id]
    issue = target.issues[comment.number]
    payload: Json = {"action": action}
    who = comment.user
    if action == "edited":
        payload["changes"] = {"body": {"from": comment.previous_body or ""}}
        who = comment.edited_by or comment.user
    payload["issue"] = issue_json(state, urls, target, issue)
    payload["comment"] = comment_json(state, urls, target, comment)
    payload.update(_envelope(double, target, sender or who))
    return "issue_comment", payload


def _check_suite(double: GitHubDouble, repo: Repo, run: CheckRun) -> Json:
    state, urls = double.state, double.urls
    runs = [r for r in state.check_runs.values() if r.suite_id == run.suite_id]
    done = all(r.status == "completed" for r in runs)
    branch = next(
        (ref.removeprefix("refs/heads/") for ref, sha in repo.refs.items() if sha == run.head_sha),
        None,
    )
    parents = state.objects.commits[run.head_sha].parents
    pull_refs = check_run_json(state, urls, run)["pull_requests"]
    return {
        "id": run.suite_id,
        "node_id": node_id("CheckSuite", run.suite_id),
        "head_branch": branch,
        "head_sha": run.head_sha,
        "status": "completed" if done else "in_progress",
        "conclusion": run.conclusion if done else None,
        "url": f"{urls.repo(repo.full_name)}/check-suites/{run.suite_id}",
        "before": parents[0] if parents else ZERO_SHA,
        "after": run.head_sha,
        "pull_requests": pull_refs,
        "app": app_json(state, urls, state.app),
        "created_at": run.started_at or state.now(),
        "updated_at": run.completed_at or run.started_at or state.now(),
    }


def check_run_event(
    double: GitHubDouble,
    repo: str,
    check_run_id: int,
    action: str = "rerequested",
    *,
    identifier: str | None = None,
    sender: str | None = None,
) -> Event:
    """A `check_run` delivery; `requested_action` carries the button's `identifier`."""
    state = double.state
    target = state.repo(repo)
    run = state.check_runs[check_run_id]
    check_run = check_run_json(state, double.urls, run)
    check_run["check_suite"] = _check_suite(double, target, run)
    payload: Json = {"action": action, "check_run": check_run}
    if action == "requested_action":
        payload["requested_action"] = {"identifier": identifier or ""}
    payload.update(_envelope(double, target, sender or target.owner))
    return "check_run", payload


def installation_event(
    double: GitHubDouble,
    installation_id: int,
    action: str = "created",
    *,
    sender: str | None = None,
) -> Event:
    state, urls = double.state, double.urls
    installation = state.installations[installation_id]
    repos = [state.repo(name) for name in sorted(state.installed_repos(installation))]
    return "installation", {
        "action": action,
        "installation": installation_json(state, urls, installation, webhook=True),
        "repositories": [
            {
                "id": repo.id,
                "node_id": node_id("Repository", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "private": repo.private,
            }
            for repo in repos
        ],
        "sender": login_json(state, urls, sender or installation.account),
    }


def ping_event(double: GitHubDouble, *, hook_id: int = 1, repo: str | None = None) -> Event:
    """The `ping` GitHub sends when the App's webhook is set up."""
    state, urls = double.state, double.urls
    now = state.now()
    hook_url = f"{urls.api}/app/hook"
    payload: Json = {
        "zen": "Anything added dilutes everything else.",
        "hook_id": hook_id,
        "hook": {
            "type": "App",
            "id": hook_id,
            "name": "web",
            "active": True,
            "app_id": state.app.id,
            "events": ["check_run", "issue_comment", "pull_request"],
            "config": {"content_type": "json", "url": f"{urls.web}/webhook", "insecure_ssl": "0"},
            "updated_at": now,
            "created_at": now,
            "url": hook_url,
            "test_url": f"{hook_url}/test",
            "ping_url": f"{hook_url}/pings",
            "deliveries_url": f"{hook_url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        },
    }
    if repo is not None:
        target = state.repo(repo)
        payload["repository"] = repo_json(state, urls, target)
        payload["sender"] = login_json(state, urls, target.owner)
    return "ping", payload
