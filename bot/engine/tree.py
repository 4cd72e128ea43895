"""Read-only views of a repository's files at one version: a local checkout, a git ref, or memory.

The engine reads proposals through a Tree so that the same validation runs on a
checkout (the CLI), on a git ref (`--base`), and on files fetched from GitHub.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Protocol

MAX_FILE_BYTES = 2 * 1024 * 1024  # a proposal file larger than this is refused, not read


class FileTooLarge(ValueError):
    """A file over MAX_FILE_BYTES: refused rather than read into memory."""


class Tree(Protocol):
    def paths(self) -> Iterable[str]:
        """Every file path in the tree, relative to its root, with `/` separators."""
        ...

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        ...


class MemoryTree:
    """A tree held in a dict of path → text (files fetched from GitHub, test fixtures)."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)

    def paths(self) -> Iterable[str]:
        return self.files.keys()

    def read(self, path: str) -> str | None:
        return self.files.get(path)


class FetchedTree:
    """A tree whose file list is complete but whose contents were fetched for some files only.

    Reading a listed file that was not fetched is a bug in the caller's fetch plan, so it
    raises rather than answering "missing".
    """

    def __init__(self, paths: Iterable[str], files: Mapping[str, str]) -> None:
        self._paths = list(paths)
        self._listed = set(self._paths)
        self.files = dict(files)

    def paths(self) -> Iterable[str]:
        return self._paths

    def read(self, path: str) -> str | None:
        if path in self.files:
            return self.files[path]
        if path in self._listed:
            raise LookupError(f"{path} is in the tree but was not fetched")
        return None


class LocalTree:
    """A directory on disk; `.git` and other hidden folders are not part of it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: list[str] | None = None

    def paths(self) -> Iterable[str]:
        if self._paths is None:
            found: list[str] = []
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
                prefix = "" if rel == "." else rel + "/"
                found.extend(prefix + name for name in sorted(files))
            self._paths = found
        return self._paths

    def read(self, path: str) -> str | None:
        full = self.root / path
        try:
            if full.stat().st_size > MAX_FILE_BYTES:
                raise FileTooLarge(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            return full.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


class GitTree:
    """The files of a git checkout at a ref (a branch, tag or commit)."""

    def __init__(self, root: Path, ref: str) -> None:
        self.root = root
        self.ref = ref
        self._paths: list[str] | None = None

    def _git(self, *args: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.root), *args], check=True, capture_output=True
        ).stdout

    def paths(self) -> Iterable[str]:
        if self._paths is None:
            out = self._git("ls-tree", "-r", "--name-only", "-z", self.ref)
            self._paths = [p for p in out.decode("utf-8").split("\0") if p]
        return self._paths

    def read(self, path: str) -> str | None:
        try:
            data = self._git("show", f"{self.ref}:{path}")
        except subprocess.CalledProcessError:
            return None
        return data.decode("utf-8", errors="replace")


def changed_paths(root: Path, ref: str) -> list[str]:
    """Files that differ between `ref` and the working tree (including new, untracked files)."""
    tracked = subprocess.run(
        ["git", "-C", str(root), "diff", "--name-only", "-z", ref],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    untracked = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    return sorted({p for p in (tracked + "\0" + untracked).split("\0") if p})


@cache
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob: `**` spans folders, `*` and `?` stay within one folder."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)
