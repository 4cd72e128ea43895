"""File-level diffs between two trees, as the pulls/files and compare endpoints report them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.sandbox.gitstore import FlatTree, ObjectStore


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added | modified | removed | renamed
    sha: str | None  # blob sha on the head side (the old one for a removal)
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None = None

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


def _text(store: ObjectStore, sha: str | None) -> list[str] | None:
    if sha is None:
        return []
    try:
        return store.blobs[sha].decode().splitlines()
    except UnicodeDecodeError:
        return None


def _change(
    store: ObjectStore,
    status: str,
    path: str,
    old: str | None,
    new: str | None,
    previous: str | None = None,
) -> FileChange:
    before, after = _text(store, old), _text(store, new)
    sha = new if new is not None else old
    if before is None or after is None:  # binary: GitHub gives no patch and no line counts
        return FileChange(path, status, sha, 0, 0, None, previous)
    lines = list(difflib.unified_diff(before, after, lineterm="", n=3))[2:]
    additions = sum(1 for line in lines if line.startswith("+"))
    deletions = sum(1 for line in lines if line.startswith("-"))
    patch = "\n".join(lines) if lines else None
    return FileChange(path, status, sha, additions, deletions, patch, previous)


def diff_trees(store: ObjectStore, base: FlatTree, head: FlatTree) -> list[FileChange]:
    """Changes from `base` to `head`; a removal plus an addition of the same blob is a rename."""
    removed = {path: entry[1] for path, entry in base.items() if path not in head}
    added = {path: entry[1] for path, entry in head.items() if path not in base}
    changes: list[FileChange] = []
    for path, sha in sorted(added.items()):
        origin = next((old for old, old_sha in removed.items() if old_sha == sha), None)
        if origin is not None:
            del removed[origin]
            changes.append(_change(store, "renamed", path, sha, sha, previous=origin))
        else:
            changes.append(_change(store, "added", path, None, sha))
    for path, sha in removed.items():
        changes.append(_change(store, "removed", path, sha, None))
    for path in base.keys() & head.keys():
        if base[path] != head[path]:
            changes.append(_change(store, "modified", path, base[path][1], head[path][1]))
    return sorted(changes, key=lambda change: change.filename)
