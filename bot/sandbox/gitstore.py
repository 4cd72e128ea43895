"""Git objects held in memory: blobs, trees and commits named by their real git SHA-1.

Also owns what is computed from them: flat views of trees, ancestry, merge bases and
the three-way merge GitHub performs when it merges a pull request.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

FILE_MODE = "100644"
EXECUTABLE_MODE = "100755"
SYMLINK_MODE = "120000"
TREE_MODE = "040000"
SUBMODULE_MODE = "160000"
BLOB_MODES = frozenset({FILE_MODE, EXECUTABLE_MODE, SYMLINK_MODE})


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: str  # ISO 8601, as the REST API shows it


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str
    type: str  # blob | tree | commit
    sha: str


@dataclass(frozen=True)
class Tree:
    entries: tuple[TreeEntry, ...]


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Signature
    committer: Signature


FileEntry = tuple[str, str]  # (mode, blob sha)
FlatTree = dict[str, FileEntry]


def object_sha(kind: str, payload: bytes) -> str:
    header = f"{kind} {len(payload)}".encode() + b"\0"
    return hashlib.sha1(header + payload).hexdigest()


def _git_time(date: str) -> str:
    moment = datetime.fromisoformat(date)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{int(moment.timestamp())} {sign}{hours:02d}{mins:02d}"


def _signature_line(role: str, who: Signature) -> str:
    return f"{role} {who.name} <{who.email}> {_git_time(who.date)}\n"


def _tree_sort_key(entry: TreeEntry) -> bytes:
    # git orders a subtree as if its name ended with "/".
    suffix = "/" if entry.type == "tree" else ""
    return (entry.name + suffix).encode()


class ObjectStore:
    """Content-addressed storage shared by every repository of the double."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, Tree] = {}
        self.commits: dict[str, Commit] = {}
        self.empty_tree = self.put_tree([])

    def kind(self, sha: str) -> str | None:
        if sha in self.blobs:
            return "blob"
        if sha in self.trees:
            return "tree"
        if sha in self.commits:
            return "commit"
        return None

    def put_blob(self, data: bytes) -> str:
        sha = object_sha("blob", data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: Iterable[TreeEntry]) -> str:
        ordered = tuple(sorted(entries, key=_tree_sort_key))
        payload = b"".join(
            f"{entry.mode.lstrip('0')} {entry.name}".encode() + b"\0" + bytes.fromhex(entry.sha)
            for entry in ordered
        )
        sha = object_sha("tree", payload)
        self.trees[sha] = Tree(ordered)
        return sha

    def put_commit(self, commit: Commit) -> str:
        text = f"tree {commit.tree}\n"
        text += "".join(f"parent {parent}\n" for parent in commit.parents)
        text += _signature_line("author", commit.author)
        text += _signature_line("committer", commit.committer)
        text += "\n" + commit.message
        sha = object_sha("commit", text.encode())
        self.commits[sha] = commit
        return sha

    # -- trees -------------------------------------------------------------------

    def flatten(self, tree_sha: str, prefix: str = "") -> FlatTree:
        """Every non-tree entry below `tree_sha`, keyed by its full path."""
        flat: FlatTree = {}
        for entry in self.trees[tree_sha].entries:
            path = prefix + entry.name
            if entry.type == "tree":
                flat.update(self.flatten(entry.sha, path + "/"))
            else:
                flat[path] = (entry.mode, entry.sha)
        return flat

    def build(self, flat: FlatTree) -> str:
        """Write the nested trees for a flat {path: (mode, sha)} mapping; return the root."""
        files: dict[str, FileEntry] = {}
        folders: dict[str, FlatTree] = {}
        for path, entry in flat.items():
            head, _, rest = path.partition("/")
            if rest:
                folders.setdefault(head, {})[rest] = entry
            else:
                files[head] = entry
        entries = [
            TreeEntry(name, mode, "commit" if mode == SUBMODULE_MODE else "blob", sha)
            for name, (mode, sha) in files.items()
        ]
        entries += [
            TreeEntry(name, TREE_MODE, "tree", self.build(sub)) for name, sub in folders.items()
        ]
        return self.put_tree(entries)

    def walk(self, tree_sha: str, *, recursive: bool, prefix: str = "") -> list[TreeEntry]:
        """Entries of a tree; with `recursive`, subtrees and their contents, named by path."""
        found: list[TreeEntry] = []
        for entry in self.trees[tree_sha].entries:
            named = TreeEntry(prefix + entry.name, entry.mode, entry.type, entry.sha)
            found.append(named)
            if recursive and entry.type == "tree":
                found += self.walk(entry.sha, recursive=True, prefix=named.name + "/")
        return found

    def lookup(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The entry at `path` (the root tree itself for an empty path)."""
        current = TreeEntry("", TREE_MODE, "tree", tree_sha)
        for part in [p for p in path.split("/") if p]:
            if current.type != "tree":
                return None
            match = [e for e in self.trees[current.sha].entries if e.name == part]
            if not match:
                return None
            current = match[0]
        return current

    # -- history -----------------------------------------------------------------

    def ancestors(self, head: str) -> list[str]:
        """`head` and every commit reachable from it, breadth first."""
        seen = {head}
        order = [head]
        queue = deque([head])
        while queue:
            for parent in self.commits[queue.popleft()].parents:
                if parent not in seen:
                    seen.add(parent)
                    order.append(parent)
                    queue.append(parent)
        return order

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in set(self.ancestors(descendant))

    def merge_base(self, left: str, right: str) -> str | None:
        left_side = set(self.ancestors(left))
        for candidate in self.ancestors(right):
            if candidate in left_side:
                return candidate
        return None

    def commits_between(self, base: str | None, head: str) -> list[str]:
        """Commits reachable from `head` but not from `base`, oldest first."""
        excluded = set(self.ancestors(base)) if base else set()
        return [sha for sha in reversed(self.ancestors(head)) if sha not in excluded]


# -- three-way merge ------------------------------------------------------------------

Hunk = tuple[int, int, list[str]]  # base[start:end] is replaced by lines


def _hunks(base: list[str], side: list[str]) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(a=base, b=side, autojunk=False)
    return [
        (i1, i2, side[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]


def _touches(first: Hunk, second: Hunk) -> bool:
    # Like git, adjacent edits count as overlapping.
    return first[0] <= second[1] and second[0] <= first[1]


def merge_text(base: str, ours: str, theirs: str) -> str | None:
    """Line-based three-way merge; None when both sides edit the same region differently."""
    base_lines = base.splitlines(keepends=True)
    our_hunks = _hunks(base_lines, ours.splitlines(keepends=True))
    hunks = list(our_hunks)
    for hunk in _hunks(base_lines, theirs.splitlines(keepends=True)):
        clash = [h for h in our_hunks if _touches(h, hunk)]
        if any(h != hunk for h in clash):
            return None
        if not clash:
            hunks.append(hunk)
    merged = list(base_lines)
    for start, end, lines in sorted(hunks, key=lambda h: (h[0], h[1]), reverse=True):
        merged[start:end] = lines
    return "".join(merged)


def _merge_file(
    store: ObjectStore, base: FileEntry | None, ours: FileEntry | None, theirs: FileEntry | None
) -> tuple[bool, FileEntry | None]:
    if ours == theirs or theirs == base:
        return True, ours
    if ours == base:
        return True, theirs
    if base is None or ours is None or theirs is None:
        return False, None
    try:
        texts = [store.blobs[entry[1]].decode() for entry in (base, ours, theirs)]
    except UnicodeDecodeError:
        return False, None
    merged = merge_text(*texts)
    if merged is None:
        return False, None
    return True, (ours[0], store.put_blob(merged.encode()))


def merge_trees(
    store: ObjectStore, base: FlatTree, ours: FlatTree, theirs: FlatTree
) -> tuple[FlatTree, list[str]]:
    """Merge two descendants of `base`; return the merged tree and the conflicting paths."""
    merged: FlatTree = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        clean, entry = _merge_file(store, base.get(path), ours.get(path), theirs.get(path))
        if not clean:
            conflicts.append(path)
        elif entry is not None:
            merged[path] = entry
    return merged, conflicts
