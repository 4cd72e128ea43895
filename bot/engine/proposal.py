"""Finding proposals in a tree and reading each through its metadata format.

A proposal is one metadata file (kep.yaml, metadata.yaml, or a markdown file that
carries its own metadata) plus, where the layout has one, the markdown document
beside it. Values are read by their logical name (status, number, title, ...)
through the layout's field map, so the rest of the engine is format-agnostic.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bot.engine import markdown
from bot.engine.config import Config, Layout
from bot.engine.formats import get_format
from bot.engine.formats.base import FormatError, Metadata, Value, line_body, split_lines
from bot.engine.roles import person_entry
from bot.engine.tree import FileTooLarge, Tree, matches

NOT_A_VALUE = {"", "n/a", "na", "tbd", "none", "-"}


@dataclass
class Proposal:
    path: str
    doc_path: str
    text: str
    document: str | None
    metadata: Metadata | None
    error: FormatError | None
    layout: Layout
    # The status names by the text that stands for them (`Config.canonical_statuses`):
    # `draft` reads as `Draft` where the process ignores case; empty: exact names only.
    statuses: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return proposal_name(self.layout, self.path)

    @property
    def name_parts(self) -> dict[str, str] | None:
        return name_parts(self.layout, self.path)

    def field_key(self, logical: str) -> str | None:
        key: str | None = getattr(self.layout.fields, logical.replace("-", "_"), None)
        return key

    def raw(self, logical: str) -> Value:
        key = self.field_key(logical)
        if key is None or self.metadata is None:
            return None
        return self.metadata.get(key)

    def text_of(self, logical: str) -> str | None:
        value = self.raw(logical)
        return value.strip() if isinstance(value, str) else None

    def list_of(self, logical: str) -> list[str]:
        """A list value (comma-separated text in table and header formats); N/A, TBD: none.

        An item that is a mapping is a person as KEP-1 writes one (`name`, `github`, ...):
        it reads as its login (`bot.engine.roles.person_entry`); so does a mapping that is the
        whole value (KEP-1's one `editor`).
        """
        value = self.raw(logical)
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, list | dict):
            people = value if isinstance(value, list) else [value]
            items = [text for text in map(person_entry, people) if text is not None]
        else:
            return []
        return [item.strip() for item in items if item.strip().lower() not in NOT_A_VALUE]

    def line_of(self, logical: str) -> int:
        key = self.field_key(logical)
        if key is None or self.metadata is None:
            return 1
        return self.metadata.line_of(key)

    @property
    def status(self) -> str | None:
        """The status as the configuration names it (see `statuses`)."""
        value = self.text_of("status")
        if value is None or not self.statuses:
            return value
        return self.statuses.get(value.lower(), value)

    @property
    def heading(self) -> dict[str, Any] | None:
        """The title heading's parts (`number`, `title`) when the layout names its form."""
        if self.layout.heading is None or self.document is None:
            return None
        h1 = markdown.first_h1(self.document)
        if h1 is None:
            return None
        match = heading_regex(self.layout.heading).fullmatch(h1.text)
        parts: dict[str, Any] = match.groupdict() if match else {}
        parts["line"] = h1.line
        parts["text"] = h1.text
        return parts

    @property
    def number(self) -> str | None:
        """The number the metadata states; else the heading's; else the name's."""
        if self.layout.fields.number is not None:
            return self.text_of("number")
        heading = self.heading
        if heading and heading.get("number"):
            return str(heading["number"])
        parts = self.name_parts
        return parts["number"] if parts else None

    @property
    def title(self) -> str | None:
        if self.layout.fields.title is not None:
            return self.text_of("title")
        heading = self.heading
        return str(heading["title"]) if heading and heading.get("title") else None

    @property
    def area(self) -> str | None:
        return self.text_of("area")


def proposal_name(layout: Layout, path: str) -> str:
    """The folder or file name that carries the number (`1234-slug`, `gep-1619`)."""
    if layout.name_of == "folder":
        return posixpath.basename(posixpath.dirname(path))
    return posixpath.splitext(posixpath.basename(path))[0]


def name_parts(layout: Layout, path: str) -> dict[str, str] | None:
    match = re.fullmatch(layout.name_pattern, proposal_name(layout, path))
    return match.groupdict() if match else None


@cache
def heading_regex(form: str) -> re.Pattern[str]:
    pattern = re.escape(form)
    pattern = pattern.replace(re.escape("{number}"), r"(?P<number>[^\s:]+)")
    pattern = pattern.replace(re.escape("{title}"), r"(?P<title>.+)")
    return re.compile(r"\s*" + pattern + r"\s*")


def is_proposal_path(layout: Layout, path: str) -> bool:
    return matches(path, layout.metadata) and not matches(path, layout.exclude)


def proposal_paths(config: Config, tree: Tree) -> list[str]:
    layout = config.proposals
    return sorted(p for p in tree.paths() if is_proposal_path(layout, p))


def proposals_root(layout: Layout) -> str:
    """The deepest folder holding every metadata glob (`kpeps` for `kpeps/*/README.md`);
    empty when the globs share none."""
    roots = []
    for glob in layout.metadata:
        parts = glob.split("/")[:-1]
        fixed = []
        for part in parts:
            if any(c in part for c in "*?[{"):
                break
            fixed.append(part)
        roots.append(fixed)
    common = posixpath.commonprefix(roots) if roots else []
    return "/".join(common)


def owning_proposal(config: Config, path: str, exists: Callable[[str], bool]) -> str | None:
    """The metadata path of the existing proposal that `path` (any file of a PR) belongs to."""
    layout = config.proposals
    if is_proposal_path(layout, path):
        return path
    names = {posixpath.basename(g) for g in layout.metadata if "*" not in posixpath.basename(g)}
    folder = posixpath.dirname(path)
    while folder:
        for name in sorted(names):
            candidate = f"{folder}/{name}"
            if is_proposal_path(layout, candidate) and exists(candidate):
                return candidate
        folder = posixpath.dirname(folder)
    return None


def document_path(layout: Layout, path: str) -> str:
    if layout.document is None:
        return path
    return posixpath.join(posixpath.dirname(path), layout.document)


def load_proposal(config: Config, tree: Tree, path: str) -> Proposal | None:
    """Read one proposal; None when its metadata file is not in the tree."""
    layout = config.proposals
    try:
        text = tree.read(path)
    except FileTooLarge as exc:
        too_large = FormatError(str(exc), 1)
        return Proposal(path, path, "", None, None, too_large, layout, config.canonical_statuses())
    if text is None:
        return None
    doc_path = document_path(layout, path)
    try:
        document = text if doc_path == path else tree.read(doc_path)
    except FileTooLarge:
        document = None
    try:
        metadata: Metadata | None = get_format(layout.format).parse(metadata_view(layout, text)[0])
        error: FormatError | None = None
    except FormatError as exc:
        metadata, error = None, exc
    statuses = config.canonical_statuses()
    return Proposal(path, doc_path, text, document, metadata, error, layout, statuses)


def load_all(config: Config, tree: Tree) -> list[Proposal]:
    loaded = (load_proposal(config, tree, p) for p in proposal_paths(config, tree))
    return [p for p in loaded if p is not None]


def metadata_view(layout: Layout, text: str) -> tuple[str, list[int]]:
    """The text the metadata is read from, and the lines of content it leaves out.

    With a `metadata-separator` (Kubernetes' KEP parser, `api/proposal.go`), a line that
    contains it separates metadata from the rest: only the lines between the first two
    such lines are metadata, or every line when none contains it. The other lines are
    blanked, so line numbers stay those of the file. Left-out lines that hold more than
    the separator, blanks and comments are returned (1-based).
    """
    separator = layout.metadata_separator
    if not separator or separator not in text:
        return text, []
    kept: list[str] = []
    left_out: list[int] = []
    seen = 0
    for number, line in enumerate(split_lines(text), start=1):
        body, ending = line_body(line)
        if separator in body:
            seen += 1
            rest = body.replace(separator, "").strip()
        elif seen == 1:
            kept.append(line)
            continue
        else:
            rest = body.strip()
        kept.append(ending)
        if rest and not rest.startswith("#"):
            left_out.append(number)
    return "".join(kept), left_out


@dataclass
class Walk:
    """What Kubernetes' CI reaches walking the proposals' root (see ci_walk)."""

    reached: set[str] = field(default_factory=set)
    orphans: list[str] = field(default_factory=list)


def ci_walk(
    paths: Iterable[str], root: str, metadata: str, document: str, skip: Collection[str]
) -> Walk:
    """The metadata files Kubernetes' CI checks, and the documents it finds without one.

    As `pkg/repo/validate.go` walks `root` (entries in name order): a folder named in
    `skip` is not entered; in a folder that holds `metadata`, that file is checked and
    the folder's later entries (sub-folders included) are skipped; a `document` in a
    folder other than `root` that has no `metadata` is an orphan.
    """
    folders: dict[str, tuple[set[str], set[str]]] = {root: (set(), set())}
    prefix = root + "/"
    for path in paths:
        if not path.startswith(prefix):
            continue
        folder, *parts = root, *path[len(prefix) :].split("/")
        for part in parts[:-1]:
            folders.setdefault(folder, (set(), set()))[1].add(part)
            folder = f"{folder}/{part}"
        folders.setdefault(folder, (set(), set()))[0].add(parts[-1])
    walk = Walk()
    pending = [root]
    while pending:
        folder = pending.pop()
        files, subfolders = folders[folder]
        inner: list[str] = []
        for name in sorted(files | subfolders):
            if name in subfolders:
                if name not in skip:
                    inner.append(f"{folder}/{name}")
            elif name == metadata:
                walk.reached.add(f"{folder}/{name}")
                break
            elif name == document and folder != root and metadata not in files:
                walk.orphans.append(f"{folder}/{name}")
        pending.extend(reversed(inner))
    walk.orphans.sort()
    return walk
