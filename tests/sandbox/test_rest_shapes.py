"""REST responses carry at least the top-level fields of GitHub's examples
(shared/github/rest-examples.json), endpoint by endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gidgethub import BadRequest
from gidgethub.aiohttp import GitHubAPI

from bot.sandbox import GitHubDouble
from bot.sandbox.testing import Sandbox

ORG_REPO = "kubernetes/enhancements"
FORK = "kubernetes-forks/enhancements"
KEP = "keps/sig-node/1-a/kep.yaml"


@dataclass
class Scene:
    sandbox: Sandbox
    token: str
    double: GitHubDouble
    gh: GitHubAPI
    app: GitHubAPI
    installation: int
    pull: int
    comment: int
    check_run: int
    head: str


@pytest.fixture
async def scene(sandbox: Sandbox, double: GitHubDouble) -> Scene:
    """The kubernetes org and a fork of its repository, a KEP pull request with a review, a
    comment, a label and a check run: something for every call the shapes are checked on."""
    double.add_org("kubernetes")
    double.add_org("kubernetes-forks")
    double.add_repo("kubernetes", "enhancements", {KEP: "title: a\n", "README.md": "r\n"})
    double.fork(ORG_REPO, "kubernetes-forks")
    installation = double.add_installation("kubernetes")
    double.add_team_member("kubernetes", "leads", "dawn", role="maintainer")
    double.add_org_member("kubernetes", "steering", role="admin")
    double.set_permission(ORG_REPO, "bob", "write")
    pull = double.open_pull_request(ORG_REPO, "kep", {"keps/b.md": "b\n"}, "KEP b", "", "alice")
    double.add_review(ORG_REPO, pull, "bob", "APPROVED", "lgtm")
    comment = double.add_comment(ORG_REPO, pull, "/kep accept", "bob")
    double.label_issue(ORG_REPO, pull, "kind/kep")
    token = await sandbox.installation_token(installation)
    gh = sandbox.client(token)
    head = double.branch_sha(ORG_REPO, "kep")
    assert head is not None
    run = await gh.post(f"/repos/{ORG_REPO}/check-runs", data={"name": "kepbot", "head_sha": head})
    app = sandbox.app_client()
    return Scene(sandbox, token, double, gh, app, installation, pull, comment.id, run["id"], head)


async def _delete(w: Scene, path: str, body: Any = None) -> Any:
    """DELETE returning the body (gidgethub's delete() discards it)."""
    headers = {"Authorization": f"token {w.token}"}
    url = w.sandbox.base_url + path
    async with w.sandbox.session.delete(url, json=body, headers=headers) as response:
        assert response.status == 200
        return await response.json()


Call = Callable[[Scene], Awaitable[Any]]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _contents_put(w: Scene, create: bool) -> Any:
    path = "new.md" if create else KEP
    data: dict[str, Any] = {"message": "m", "content": _b64("x\n")}
    if not create:
        data["sha"] = (await w.gh.getitem(f"/repos/{ORG_REPO}/contents/{KEP}"))["sha"]
    return await w.gh.put(f"/repos/{ORG_REPO}/contents/{path}", data=data)


async def _error(call: Awaitable[Any]) -> Any:
    with pytest.raises(BadRequest) as error:
        await call
    return {"message": str(error.value)}


async def _created_tree(w: Scene) -> Any:
    blob = await w.gh.post(f"/repos/{ORG_REPO}/git/blobs", data={"content": "c"})
    entry = {"path": "c.md", "mode": "100644", "type": "blob", "sha": blob["sha"]}
    return await w.gh.post(f"/repos/{ORG_REPO}/git/trees", data={"tree": [entry]})


async def _created_commit(w: Scene) -> Any:
    tree = await _created_tree(w)
    data = {"message": "m", "tree": tree["sha"], "parents": [w.head]}
    return await w.gh.post(f"/repos/{ORG_REPO}/git/commits", data=data)


async def _react_twice(w: Scene, url: str) -> Any:
    await w.gh.post(url, data={"content": "heart"})
    return await w.gh.post(url, data={"content": "heart"})


def _issue(w: Scene, suffix: str = "") -> str:
    return f"/repos/{ORG_REPO}/issues/{w.pull}{suffix}"


R = f"/repos/{ORG_REPO}"
CALLS: dict[tuple[str, str], Call] = {
    ("GET /repos/{owner}/{repo}", "200"): lambda w: w.gh.getitem(f"/repos/{FORK}"),
    ("GET /repos/{owner}/{repo}/installation", "200"): lambda w: w.app.getitem(f"{R}/installation"),
    ("POST /app/installations/{installation_id}/access_tokens", "201"): lambda w: w.app.post(
        f"/app/installations/{w.installation}/access_tokens", data=b""
    ),
    ("GET /app", "200"): lambda w: w.app.getitem("/app"),
    ("GET /app/installations/{installation_id}", "200"): lambda w: w.app.getitem(
        f"/app/installations/{w.installation}"
    ),
    ("GET /installation/repositories", "200"): lambda w: w.gh.getitem("/installation/repositories"),
    ("GET /repos/{owner}/{repo}/contents/{path}", "200"): lambda w: w.gh.getitem(
        f"{R}/contents/{KEP}"
    ),
    ("PUT /repos/{owner}/{repo}/contents/{path}", "201"): lambda w: _contents_put(w, True),
    ("PUT /repos/{owner}/{repo}/contents/{path}", "200"): lambda w: _contents_put(w, False),
    ("DELETE /repos/{owner}/{repo}/contents/{path}", "200"): lambda w: _contents_deleted(w),
    ("GET /repos/{owner}/{repo}/git/ref/{ref}", "200"): lambda w: w.gh.getitem(
        f"{R}/git/ref/heads/main"
    ),
    ("GET /repos/{owner}/{repo}/git/matching-refs/{ref}", "200"): lambda w: w.gh.getitem(
        f"{R}/git/matching-refs/heads/"
    ),
    ("POST /repos/{owner}/{repo}/git/refs", "201"): lambda w: w.gh.post(
        f"{R}/git/refs", data={"ref": "refs/heads/new", "sha": w.head}
    ),
    ("PATCH /repos/{owner}/{repo}/git/refs/{ref}", "200"): lambda w: w.gh.patch(
        f"{R}/git/refs/heads/kep", data={"sha": w.head}
    ),
    ("GET /repos/{owner}/{repo}/git/trees/{tree_sha}", "200"): lambda w: w.gh.getitem(
        f"{R}/git/trees/main?recursive=1"
    ),
    ("POST /repos/{owner}/{repo}/git/trees", "201"): _created_tree,
    ("GET /repos/{owner}/{repo}/git/blobs/{file_sha}", "200"): lambda w: _blob(w),
    ("POST /repos/{owner}/{repo}/git/blobs", "201"): lambda w: w.gh.post(
        f"{R}/git/blobs", data={"content": "x"}
    ),
    ("GET /repos/{owner}/{repo}/git/commits/{commit_sha}", "200"): lambda w: w.gh.getitem(
        f"{R}/git/commits/{w.head}"
    ),
    ("POST /repos/{owner}/{repo}/git/commits", "201"): _created_commit,
    ("GET /repos/{owner}/{repo}/branches/{branch}", "200"): lambda w: w.gh.getitem(
        f"{R}/branches/main"
    ),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}", "200"): lambda w: w.gh.getitem(
        f"{R}/pulls/{w.pull}"
    ),
    ("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", "200"): lambda w: w.gh.patch(
        f"{R}/pulls/{w.pull}", data={"title": "t"}
    ),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", "200"): lambda w: w.gh.getitem(
        f"{R}/pulls/{w.pull}/files"
    ),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}/commits", "200"): lambda w: w.gh.getitem(
        f"{R}/pulls/{w.pull}/commits"
    ),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", "200"): lambda w: w.gh.getitem(
        f"{R}/pulls/{w.pull}/reviews"
    ),
    ("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", "200"): lambda w: w.gh.put(
        f"{R}/pulls/{w.pull}/merge", data={}
    ),
    ("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", "405"): lambda w: _not_mergeable(w),
    ("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", "409"): lambda w: _error(
        w.gh.put(f"{R}/pulls/{w.pull}/merge", data={"sha": "0" * 40})
    ),
    ("GET /repos/{owner}/{repo}/pulls", "200"): lambda w: w.gh.getitem(f"{R}/pulls"),
    ("GET /repos/{owner}/{repo}/issues/{issue_number}", "200"): lambda w: w.gh.getitem(_issue(w)),
    ("GET /repos/{owner}/{repo}/issues/{issue_number}/labels", "200"): lambda w: w.gh.getitem(
        _issue(w, "/labels")
    ),
    ("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", "200"): lambda w: w.gh.post(
        _issue(w, "/labels"), data={"labels": ["a"]}
    ),
    ("PUT /repos/{owner}/{repo}/issues/{issue_number}/labels", "200"): lambda w: w.gh.put(
        _issue(w, "/labels"), data={"labels": ["a", "b"]}
    ),
    ("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "200"): lambda w: (
        _remove_label(w)
    ),
    ("GET /repos/{owner}/{repo}/labels/{name}", "200"): lambda w: w.gh.getitem(
        f"{R}/labels/kind%2Fkep"
    ),
    ("POST /repos/{owner}/{repo}/labels", "201"): lambda w: w.gh.post(
        f"{R}/labels", data={"name": "new", "color": "00ff00"}
    ),
    ("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", "200"): lambda w: w.gh.getitem(
        _issue(w, "/comments")
    ),
    ("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", "201"): lambda w: w.gh.post(
        _issue(w, "/comments"), data={"body": "b"}
    ),
    ("GET /repos/{owner}/{repo}/issues/comments/{comment_id}", "200"): lambda w: w.gh.getitem(
        f"{R}/issues/comments/{w.comment}"
    ),
    ("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", "200"): lambda w: w.gh.patch(
        f"{R}/issues/comments/{w.comment}", data={"body": "b"}
    ),
    ("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "201"): lambda w: (
        w.gh.post(f"{R}/issues/comments/{w.comment}/reactions", data={"content": "+1"})
    ),
    ("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "200"): lambda w: (
        _react_twice(w, f"{R}/issues/comments/{w.comment}/reactions")
    ),
    ("GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "200"): lambda w: (
        _listed_reactions(w)
    ),
    ("POST /repos/{owner}/{repo}/issues/{issue_number}/reactions", "201"): lambda w: w.gh.post(
        _issue(w, "/reactions"), data={"content": "eyes"}
    ),
    ("POST /repos/{owner}/{repo}/issues/{issue_number}/reactions", "200"): lambda w: _react_twice(
        w, _issue(w, "/reactions")
    ),
    ("POST /repos/{owner}/{repo}/check-runs", "201"): lambda w: w.gh.post(
        f"{R}/check-runs", data={"name": "n", "head_sha": w.head, "conclusion": "success"}
    ),
    ("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", "200"): lambda w: w.gh.patch(
        f"{R}/check-runs/{w.check_run}", data={"status": "in_progress"}
    ),
    ("GET /repos/{owner}/{repo}/check-runs/{check_run_id}", "200"): lambda w: w.gh.getitem(
        f"{R}/check-runs/{w.check_run}"
    ),
    ("GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", "200"): lambda w: (
        _annotations(w)
    ),
    ("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", "200"): lambda w: w.gh.getitem(
        f"{R}/commits/{w.head}/check-runs"
    ),
    ("POST /repos/{owner}/{repo}/statuses/{sha}", "201"): lambda w: w.gh.post(
        f"{R}/statuses/{w.head}", data={"state": "success", "context": "c"}
    ),
    ("GET /repos/{owner}/{repo}/commits/{ref}/status", "200"): lambda w: w.gh.getitem(
        f"{R}/commits/kep/status"
    ),
    ("GET /repos/{owner}/{repo}/collaborators/{username}/permission", "200"): lambda w: (
        w.gh.getitem(f"{R}/collaborators/bob/permission")
    ),
    ("GET /orgs/{org}/teams/{team_slug}/memberships/{username}", "200"): lambda w: w.gh.getitem(
        "/orgs/kubernetes/teams/leads/memberships/dawn"
    ),
    ("GET /orgs/{org}/memberships/{username}", "200"): lambda w: w.gh.getitem(
        "/orgs/kubernetes/memberships/steering"
    ),
    ("GET /search/issues", "200"): lambda w: w.gh.getitem(f"/search/issues?q=repo:{ORG_REPO}"),
    ("GET /rate_limit", "200"): lambda w: w.gh.getitem("/rate_limit"),
}
# Example variants that describe situations the double does not produce.
SKIPPED_VARIANTS = {
    "response-if-content-is-a-symlink",
    "response-if-content-is-a-submodule",
    "lexical-fallback",  # semantic search is not modelled
    "pinned_comment",  # pinned issue comments are not modelled
}
# Variants answered by another request than the endpoint's main one.
VARIANT_CALLS: dict[str, Call] = {
    "response-if-content-is-a-directory": lambda w: w.gh.getitem(f"{R}/contents/keps/sig-node/1-a"),
}
# Examples with no JSON object to compare, or endpoints the bot does not call.
NOT_COMPARED = {
    "GET /repos/{owner}/{repo}/compare/{basehead}": "the example is a patch, not JSON",
    "POST /repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest": "not implemented",
}


async def _contents_deleted(w: Scene) -> Any:
    sha = (await w.gh.getitem(f"{R}/contents/README.md"))["sha"]
    return await _delete(w, f"{R}/contents/README.md", {"message": "m", "sha": sha})


async def _remove_label(w: Scene) -> Any:
    w.double.label_issue(ORG_REPO, w.pull, "extra")
    return await _delete(w, _issue(w, "/labels/extra"))


async def _blob(w: Scene) -> Any:
    sha = (await w.gh.getitem(f"{R}/contents/README.md"))["sha"]
    return await w.gh.getitem(f"{R}/git/blobs/{sha}")


async def _not_mergeable(w: Scene) -> Any:
    w.double.set_mergeable(ORG_REPO, w.pull, False)
    return await _error(w.gh.put(f"{R}/pulls/{w.pull}/merge", data={}))


async def _listed_reactions(w: Scene) -> Any:
    await w.gh.post(f"{R}/issues/comments/{w.comment}/reactions", data={"content": "+1"})
    return await w.gh.getitem(f"{R}/issues/comments/{w.comment}/reactions")


async def _annotations(w: Scene) -> Any:
    annotation = {
        "path": KEP,
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "warning",
        "message": "m",
        "title": "t",
        "raw_details": "d",
    }
    output = {"title": "t", "summary": "s", "annotations": [annotation]}
    await w.gh.patch(f"{R}/check-runs/{w.check_run}", data={"output": output})
    return await w.gh.getitem(f"{R}/check-runs/{w.check_run}/annotations")


def _examples(github_shared: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((github_shared / "rest-examples.json").read_text())
    return loaded


def _top_level(value: Any) -> set[str]:
    """Keys of an object, of an array's first item, or of a versioned example's `value`."""
    if isinstance(value, list):
        return set(value[0]) if value else set()
    if isinstance(value, dict) and "value" in value and "x-github-breaking-changes" in value:
        return set(value["value"])
    return set(value) if isinstance(value, dict) else set()


@pytest.mark.parametrize(("operation", "status"), list(CALLS), ids=[f"{o} {s}" for o, s in CALLS])
async def test_response_has_the_examples_top_level_fields(
    scene: Scene, github_shared: Path, operation: str, status: str
) -> None:
    variants = _examples(github_shared)[operation]["response_examples"][status]
    ours = await CALLS[(operation, status)](scene)
    for name, example in variants.items():
        if name in SKIPPED_VARIANTS:
            continue
        answer = await VARIANT_CALLS[name](scene) if name in VARIANT_CALLS else ours
        if isinstance(example, list):
            assert isinstance(answer, list) and answer, f"{name}: expected a non-empty array"
        assert _top_level(example) - _top_level(answer) == set(), name


def test_every_example_endpoint_is_compared_or_explained(github_shared: Path) -> None:
    examples = _examples(github_shared)
    covered = {operation for operation, _ in CALLS}
    for operation, spec in examples.items():
        if not spec.get("response_examples") or operation in NOT_COMPARED:
            continue
        assert operation in covered, operation
        for status in spec["response_examples"]:
            assert (operation, status) in CALLS, (operation, status)
