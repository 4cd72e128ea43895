"""JSON shapes of git objects, refs, repository contents and commits as the REST API shows them."""

from __future__ import annotations

import base64
from urllib.parse import quote

from bot.sandbox.gitstore import Signature, TreeEntry
from bot.sandbox.model import Json, Repo, State
from bot.sandbox.views import Urls, node_id, user_json

UNSIGNED = {
    "verified": False,
    "reason": "unsigned",
    "signature": None,
    "payload": None,
    "verified_at": None,
}


def base64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as GitHub sends file and blob contents."""
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def _signature(who: Signature) -> Json:
    return {"name": who.name, "email": who.email, "date": who.date}


def git_commit_json(state: State, urls: Urls, repo: Repo, sha: str) -> Json:
    commit = state.objects.commits[sha]
    api = urls.repo(repo.full_name)
    return {
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:8], 16)),
        "url": f"{api}/git/commits/{sha}",
        "html_url": f"{urls.web}/{repo.full_name}/commit/{sha}",
        "author": _signature(commit.author),
        "committer": _signature(commit.committer),
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
        "parents": [
            {
                "sha": parent,
                "url": f"{api}/git/commits/{parent}",
                "html_url": f"{urls.web}/{repo.full_name}/commit/{parent}",
            }
            for parent in commit.parents
        ],
        "verification": dict(UNSIGNED),
    }


def _account_of(state: State, urls: Urls, who: Signature) -> Json | None:
    for user in state.users.values():
        noreply = f"{user.id}+{user.login}@users.noreply.github.com"
        if who.email in (noreply, user.email):
            return user_json(urls, user)
    return None


def rest_commit_json(state: State, urls: Urls, repo: Repo, sha: str) -> Json:
    """A commit as listed by pulls/{n}/commits and compare."""
    git = git_commit_json(state, urls, repo, sha)
    api = urls.repo(repo.full_name)
    commit = state.objects.commits[sha]
    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": git["node_id"],
        "html_url": git["html_url"],
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": git["url"],
            "author": git["author"],
            "committer": git["committer"],
            "message": git["message"],
            "tree": git["tree"],
            "comment_count": 0,
            "verification": git["verification"],
        },
        "author": _account_of(state, urls, commit.author),
        "committer": _account_of(state, urls, commit.committer),
        "parents": git["parents"],
    }


def ref_json(urls: Urls, repo: Repo, ref: str, sha: str) -> Json:
    api = urls.repo(repo.full_name)
    return {
        "ref": ref,
        "node_id": base64.b64encode(f"Ref:{repo.id}:{ref}".encode()).decode(),
        "url": f"{api}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
    }


def tree_entry_json(state: State, urls: Urls, repo: Repo, entry: TreeEntry) -> Json:
    kind = "trees" if entry.type == "tree" else "blobs"
    shape: Json = {"path": entry.name, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
    if entry.type == "blob":
        shape["size"] = len(state.objects.blobs[entry.sha])
    shape["url"] = f"{urls.repo(repo.full_name)}/git/{kind}/{entry.sha}"
    return shape


def tree_json(state: State, urls: Urls, repo: Repo, sha: str, *, recursive: bool = False) -> Json:
    entries = state.objects.walk(sha, recursive=recursive)
    return {
        "sha": sha,
        "url": f"{urls.repo(repo.full_name)}/git/trees/{sha}",
        "tree": [tree_entry_json(state, urls, repo, entry) for entry in entries],
        "truncated": False,
    }


def content_json(
    state: State, urls: Urls, repo: Repo, path: str, entry: TreeEntry, ref: str, *, body: bool
) -> Json:
    """An item of the Contents API; `body` adds the base64 content of a file."""
    kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
    if entry.mode == "120000":
        kind = "symlink"
    size = len(state.objects.blobs[entry.sha]) if entry.type == "blob" else 0
    api = urls.repo(repo.full_name)
    self_url = f"{api}/contents/{quote(path)}?ref={quote(ref, safe='')}"
    git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    html_url = f"{urls.web}/{repo.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
    raw = f"{urls.web}/{repo.full_name}/raw/{ref}/{path}" if kind == "file" else None
    shape: Json = {"type": kind}
    if body and kind == "file":
        shape["encoding"] = "base64"
    shape.update({"size": size, "name": path.rsplit("/", 1)[-1], "path": path})
    if body and kind == "file":
        shape["content"] = base64_lines(state.objects.blobs[entry.sha])
    shape.update(
        {
            "sha": entry.sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": raw,
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }
    )
    return shape
