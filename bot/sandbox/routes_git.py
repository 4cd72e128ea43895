"""The Git Data API (refs, trees, blobs, commits) and compare.

Ref updates are fast-forward only unless `force` (422 "Update is not a fast forward"),
creating an existing ref is 422 "Reference already exists", and protected branches refuse.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bot.sandbox.branches import (
    check_path,
    move_branch,
    protection_refusal,
    resolve_commit,
    signature_of,
)
from bot.sandbox.diffing import diff_trees
from bot.sandbox.errors import ApiError, not_found, unprocessable
from bot.sandbox.gitstore import BLOB_MODES, SUBMODULE_MODE, TREE_MODE, Commit, FlatTree, Signature
from bot.sandbox.model import Json
from bot.sandbox.routing import (
    Ctx,
    Registry,
    Reply,
    created,
    no_content,
    ok,
    paged,
    paginate,
)
from bot.sandbox.views_git import (
    base64_lines,
    git_commit_json,
    ref_json,
    rest_commit_json,
    tree_json,
)
from bot.sandbox.views_issues import file_json

registry = Registry()
GIT = "/repos/{owner}/{repo}/git"
CONTENTS_WRITE: dict[str, Any] = {"permission": ("contents",), "write": True}
CONTENTS_READ: dict[str, Any] = {"permission": ("contents",)}


def _require_repo_not_empty(ctx: Ctx) -> None:
    if not ctx.repo.refs:
        raise ApiError(409, "Git Repository is empty.")


@registry.route("GET", GIT + "/ref/{ref:.+}", **CONTENTS_READ)
def get_ref(ctx: Ctx) -> Reply:
    _require_repo_not_empty(ctx)
    name = "refs/" + ctx.param("ref")
    sha = ctx.repo.refs.get(name)
    if sha is None:
        raise not_found()
    return ok(ref_json(ctx.urls, ctx.repo, name, sha))


@registry.route("GET", GIT + "/matching-refs/{ref:.*}", **CONTENTS_READ)
def matching_refs(ctx: Ctx) -> Reply:
    _require_repo_not_empty(ctx)
    prefix = "refs/" + ctx.param("ref")
    found = sorted((name, sha) for name, sha in ctx.repo.refs.items() if name.startswith(prefix))
    return paged(ctx, [ref_json(ctx.urls, ctx.repo, name, sha) for name, sha in found])


@registry.route("POST", GIT + "/refs", **CONTENTS_WRITE)
def create_ref(ctx: Ctx) -> Reply:
    name = ctx.field("ref", str, required=True)
    sha = ctx.field("sha", str, required=True)
    assert name is not None and sha is not None
    repo = ctx.repo
    _require_repo_not_empty(ctx)
    if not name.startswith("refs/") or name.count("/") < 2:
        raise unprocessable("Reference name is invalid")
    if sha not in ctx.state.objects.commits:
        raise unprocessable("Object does not exist")
    if name in repo.refs:
        raise unprocessable("Reference already exists")
    repo.refs[name] = sha
    body = ref_json(ctx.urls, repo, name, sha)
    return created(body, location=body["url"])


@registry.route("PATCH", GIT + "/refs/{ref:.+}", **CONTENTS_WRITE)
def update_ref(ctx: Ctx) -> Reply:
    sha = ctx.field("sha", str, required=True)
    force = ctx.field("force", bool) or False
    assert sha is not None
    repo, name = ctx.repo, "refs/" + ctx.param("ref")
    if name not in repo.refs:
        raise unprocessable("Reference does not exist")
    if sha not in ctx.state.objects.commits:
        raise unprocessable("Object does not exist")
    move_branch(ctx.state, repo, name, sha, actor=ctx.actor, force=force)
    return ok(ref_json(ctx.urls, repo, name, sha))


@registry.route("DELETE", GIT + "/refs/{ref:.+}", **CONTENTS_WRITE)
def delete_ref(ctx: Ctx) -> Reply:
    repo, name = ctx.repo, "refs/" + ctx.param("ref")
    if name not in repo.refs:
        raise unprocessable("Reference does not exist")
    branch = name.removeprefix("refs/heads/")
    if name.startswith("refs/heads/"):
        if branch == repo.default_branch:
            raise unprocessable("Cannot delete the default branch")
        refusal = protection_refusal(repo, branch, ctx.actor)
        if refusal is not None or branch in repo.protections:
            raise unprocessable("Cannot delete this protected branch")
    del repo.refs[name]
    return no_content()


@registry.route("GET", GIT + "/trees/{tree_sha:.+}", **CONTENTS_READ)
def get_tree(ctx: Ctx) -> Reply:
    state, wanted = ctx.state, ctx.param("tree_sha")
    sha = wanted if wanted in state.objects.trees else None
    if sha is None:
        commit = resolve_commit(state, ctx.repo, wanted)
        sha = state.objects.commits[commit].tree if commit else None
    if sha is None:
        raise not_found()
    recursive = ctx.query("recursive") not in (None, "", "0", "false")
    return ok(tree_json(state, ctx.urls, ctx.repo, sha, recursive=recursive))


def _apply_tree_entry(ctx: Ctx, flat: FlatTree, item: Any) -> None:
    """Apply one `tree` item of POST git/trees to the flat tree being built."""
    objects = ctx.state.objects
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise unprocessable("Invalid tree info")
    path, mode, kind = item["path"].strip("/"), str(item.get("mode", "")), item.get("type")
    check_path(path)
    has_sha, content = "sha" in item, item.get("content")
    if has_sha and content is not None:
        raise unprocessable("Must supply either tree.sha or tree.content, not both")
    if has_sha and item["sha"] is None:
        below = [p for p in flat if p == path or p.startswith(path + "/")]
        if not below:
            raise unprocessable(f"GitRPC::BadObjectState: tree.path {path} does not exist")
        for gone in below:
            del flat[gone]
        return
    for stale in [p for p in flat if p.startswith(path + "/")]:
        del flat[stale]
    if mode == TREE_MODE or kind == "tree":
        sha = item.get("sha")
        if sha not in objects.trees:
            raise unprocessable(f"tree.sha {sha} is not a valid tree")
        flat.pop(path, None)
        flat.update({f"{path}/{sub}": entry for sub, entry in objects.flatten(sha).items()})
    elif mode in BLOB_MODES or mode == SUBMODULE_MODE:
        if content is not None:
            sha = objects.put_blob(str(content).encode())
        else:
            sha = item.get("sha")
            if mode != SUBMODULE_MODE and sha not in objects.blobs:
                raise unprocessable(f"tree.sha {sha} is not a valid blob")
        flat[path] = (mode, str(sha))
    else:
        raise unprocessable(f"tree.mode {mode!r} is invalid")


@registry.route("POST", GIT + "/trees", **CONTENTS_WRITE)
def create_tree(ctx: Ctx) -> Reply:
    items = ctx.field("tree", list, required=True)
    base = ctx.field("base_tree", str)
    objects = ctx.state.objects
    if base is not None and base not in objects.trees:
        raise unprocessable("base_tree is not a valid tree oid")
    flat = objects.flatten(base) if base else {}
    for item in items or []:
        _apply_tree_entry(ctx, flat, item)
    sha = objects.build(flat)
    body = tree_json(ctx.state, ctx.urls, ctx.repo, sha)
    return created(body, location=body["url"])


@registry.route("GET", GIT + "/blobs/{file_sha}", **CONTENTS_READ)
def get_blob(ctx: Ctx) -> Reply:
    sha = ctx.param("file_sha")
    data = ctx.state.objects.blobs.get(sha)
    if data is None:
        raise not_found()
    return ok(
        {
            "sha": sha,
            "node_id": base64.b64encode(f"Blob:{sha}".encode()).decode(),
            "size": len(data),
            "url": f"{ctx.urls.repo(ctx.repo.full_name)}/git/blobs/{sha}",
            "content": base64_lines(data),
            "encoding": "base64",
        }
    )


@registry.route("POST", GIT + "/blobs", **CONTENTS_WRITE)
def create_blob(ctx: Ctx) -> Reply:
    content = ctx.field("content", str, required=True)
    encoding = ctx.field("encoding", str) or "utf-8"
    assert content is not None
    if encoding == "base64":
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except binascii.Error as error:
            raise unprocessable("content is not valid Base64") from error
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise unprocessable(f"encoding must be 'utf-8' or 'base64', got {encoding!r}")
    sha = ctx.state.objects.put_blob(data)
    url = f"{ctx.urls.repo(ctx.repo.full_name)}/git/blobs/{sha}"
    return created({"url": url, "sha": sha}, location=url)


@registry.route("GET", GIT + "/commits/{commit_sha}", **CONTENTS_READ)
def get_commit(ctx: Ctx) -> Reply:
    sha = ctx.param("commit_sha")
    if sha not in ctx.state.objects.commits:
        raise not_found()
    return ok(git_commit_json(ctx.state, ctx.urls, ctx.repo, sha))


def _signature(ctx: Ctx, value: Any, fallback: Signature) -> Signature:
    if value is None:
        return fallback
    if not isinstance(value, dict) or not value.get("name") or not value.get("email"):
        raise unprocessable("Invalid request.\n\nAuthor and committer need a name and an email.")
    return Signature(
        str(value["name"]), str(value["email"]), str(value.get("date") or fallback.date)
    )


@registry.route("POST", GIT + "/commits", **CONTENTS_WRITE)
def create_commit(ctx: Ctx) -> Reply:
    message = ctx.field("message", str, required=True)
    tree = ctx.field("tree", str, required=True)
    parents = ctx.field("parents", list) or []
    assert message is not None and tree is not None
    objects = ctx.state.objects
    if tree not in objects.trees:
        raise unprocessable("Tree SHA does not exist")
    for parent in parents:
        if parent not in objects.commits:
            raise unprocessable("Parent SHA does not exist or is not a commit object")
    body: Json = ctx.json()
    author = _signature(ctx, body.get("author"), signature_of(ctx.state, ctx.actor))
    committer = _signature(ctx, body.get("committer"), author)
    sha = objects.put_commit(Commit(tree, tuple(parents), message, author, committer))
    reply = git_commit_json(ctx.state, ctx.urls, ctx.repo, sha)
    return created(reply, location=reply["url"])


COMPARE_COMMITS = 250  # without paging parameters: the newest 250 of the comparison
COMPARE_FILES = 300  # "the response includes a maximum of 300 files"


@registry.route("GET", "/repos/{owner}/{repo}/compare/{basehead:.+}", **CONTENTS_READ)
def compare(ctx: Ctx) -> Reply:
    """`base...head`: commits oldest first (the newest `COMPARE_COMMITS` unless `per_page` or
    `page` asks for a page, with `Link`), `total_commits` all of them, at most
    `COMPARE_FILES` files."""
    state, repo = ctx.state, ctx.repo
    base_name, dots, head_name = ctx.param("basehead").partition("...")
    if not dots:
        raise not_found()
    base, head = resolve_commit(state, repo, base_name), resolve_commit(state, repo, head_name)
    if base is None or head is None:
        raise not_found()
    merge_base = state.objects.merge_base(base, head) or base
    ahead = state.objects.commits_between(merge_base, head)
    behind = state.objects.commits_between(merge_base, base)
    status = "identical" if base == head else "ahead" if not behind else "diverged"
    if not ahead and behind:
        status = "behind"
    changes = diff_trees(
        state.objects,
        state.objects.flatten(state.objects.commits[merge_base].tree),
        state.objects.flatten(state.objects.commits[head].tree),
    )
    headers: dict[str, str] = {}
    if ctx.query("per_page") is None and ctx.query("page") is None:
        listed = ahead[-COMPARE_COMMITS:]
    else:
        listed, headers = paginate(ctx, ahead)
    api = f"{ctx.urls.repo(repo.full_name)}/compare/{ctx.param('basehead')}"
    html = f"{ctx.urls.web}/{repo.full_name}/compare/{ctx.param('basehead')}"
    return ok(
        {
            "url": api,
            "html_url": html,
            "permalink_url": f"{ctx.urls.web}/{repo.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": rest_commit_json(state, ctx.urls, repo, base),
            "merge_base_commit": rest_commit_json(state, ctx.urls, repo, merge_base),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [rest_commit_json(state, ctx.urls, repo, sha) for sha in listed],
            "files": [file_json(ctx.urls, repo, head, c) for c in changes[:COMPARE_FILES]],
        },
        headers=headers,
    )


def _touches(ctx: Ctx, sha: str, path: str) -> bool:
    """Whether commit `sha` changed `path` (a file or a folder) against its first parent."""
    objects = ctx.state.objects
    commit = objects.commits[sha]
    mine = objects.lookup(commit.tree, path)
    theirs = (
        objects.lookup(objects.commits[commit.parents[0]].tree, path) if commit.parents else None
    )
    if mine is None or theirs is None:
        return mine is not theirs
    return (mine.sha, mine.mode) != (theirs.sha, theirs.mode)


@registry.route("GET", "/repos/{owner}/{repo}/commits", **CONTENTS_READ)
def list_commits(ctx: Ctx) -> Reply:
    """Newest first along first parents from `sha` (default branch); `path` filters."""
    state, repo = ctx.state, ctx.repo
    _require_repo_not_empty(ctx)
    start = ctx.query("sha") or repo.default_branch
    head = resolve_commit(state, repo, start)
    if head is None:
        raise ApiError(404, f"No commit found for SHA: {start}")
    path = (ctx.query("path") or "").strip("/")
    chain: list[str] = []
    current: str | None = head
    while current is not None:
        chain.append(current)
        parents = state.objects.commits[current].parents
        current = parents[0] if parents else None
    if path:
        chain = [sha for sha in chain if _touches(ctx, sha, path)]
    page, headers = paginate(ctx, chain)
    return ok([rest_commit_json(state, ctx.urls, repo, sha) for sha in page], headers=headers)
