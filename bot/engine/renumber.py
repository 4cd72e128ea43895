"""Giving a proposal its number: the complete change set, and the numbers a tree has used.

`renumber` turns a proposal that still carries a placeholder (`NNNN`, `XXXX`, `00XX`,
`0000`, `draft-YYYYMMDD`, empty) into a numbered one as one change set, path → new text
(None deletes the path): the folder (every file under it) or the file is renamed, the
number field is set through the metadata format's minimal-diff editor, the title heading
(and a front-matter `title:`) gets the number, and links inside the proposal's own files
that name its old folder or file name follow the rename. Nothing outside the proposal
changes: references from other proposals (`see-also`, `replaces`) to a placeholder name
are ambiguous (every new proposal is `NNNN-something`), so they are left alone.

Names and headings carry the number padded (`numbering.padding`); a number field holds
the plain integer, as Kubernetes' `kep-number: 1234` and KEP-1's `kep-number: 1` do.
`used_numbers` is every number a tree has given out (withdrawn and replaced proposals
included), from names, number fields and headings; `numbering.next_number` picks past it.
`tracking_issue` and `issue_in_body` read the issue a proposal or a PR description names,
for `numbering.source: issue`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from bot.engine import markdown
from bot.engine.config import Config
from bot.engine.formats import FormatError, get_format
from bot.engine.index import render_index
from bot.engine.numbering import as_int, format_number, is_placeholder
from bot.engine.proposal import (
    Proposal,
    document_path,
    heading_regex,
    is_proposal_path,
    load_all,
    load_proposal,
    name_parts,
    proposal_name,
    proposal_paths,
)
from bot.engine.prr import approval_path, review_path, sharing
from bot.engine.tree import Tree

Changes = dict[str, str | None]

__all__ = [
    "Changes",
    "OverlayTree",
    "RenumberError",
    "index_changes",
    "issue_in_body",
    "issue_reference",
    "named_numbers",
    "needs_number",
    "new_name",
    "number_files",
    "numbered_path",
    "proposal_files",
    "renumber",
    "renumber_all",
    "review_files",
    "shared_reviews",
    "tracking_issue",
    "used_numbers",
]

_ISSUE = re.compile(
    r"https?://[^/\s]+/(?P<url_repo>[\w.-]+/[\w.-]+)/issues/(?P<url_number>\d+)"
    r"|(?<![\w/#&])(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<number>\d+)\b"
)
_ISSUE_LABEL = r"\**(?:tracking[ -]issue|enhancement[ -]issue|issue(?:[ -]link)?)\**\s*:"
_LABELLED = re.compile(r"(?im)^[ \t]*(?:[*-][ \t]+)?" + _ISSUE_LABEL + r"(?P<rest>.*)$")
_CLOSING = re.compile(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?[ \t]+(?P<rest>\S+)")


class RenumberError(ValueError):
    """The proposal cannot be numbered as laid out (a person must rename it by hand)."""


class OverlayTree:
    """`base` with a change set applied on top (None deletes a path)."""

    def __init__(self, base: Tree, changes: Mapping[str, str | None]) -> None:
        self.base, self.changes = base, dict(changes)

    def paths(self) -> Iterable[str]:
        kept = [p for p in self.base.paths() if p not in self.changes]
        return [*kept, *(p for p, text in self.changes.items() if text is not None)]

    def read(self, path: str) -> str | None:
        if path in self.changes:
            return self.changes[path]
        return self.base.read(path)


def _number_values(config: Config, proposal: Proposal) -> list[str | None]:
    """The number as each place states it: the name, the number field, the heading."""
    values: list[str | None] = []
    parts = proposal.name_parts
    if parts is not None and parts.get("number") is not None:
        values.append(parts["number"])
    if config.proposals.fields.number is not None:
        values.append(proposal.text_of("number"))
    heading = proposal.heading
    if heading is not None and heading.get("number"):
        values.append(str(heading["number"]))
    return values


def needs_number(config: Config, proposal: Proposal) -> bool:
    """Whether any place of a readable proposal still holds a placeholder number."""
    if proposal.metadata is None:
        return False
    return any(is_placeholder(config, value) for value in _number_values(config, proposal))


def named_numbers(config: Config, paths: Iterable[str]) -> set[int]:
    """The numbers in the names of the proposals among `paths` (no file needs reading)."""
    layout = config.proposals
    found = set()
    for path in paths:
        parts = name_parts(layout, path)
        text = parts.get("number") if parts else None
        number = None if is_placeholder(config, text) else as_int(text)
        if number is not None:
            found.add(number)
    return found


def number_files(config: Config, paths: Iterable[str]) -> list[str]:
    """The files a tree's used numbers are read from besides its names: none where names
    carry the numbers (`named_numbers`), every proposal's metadata file (and document, which
    reading a proposal reads) where only the metadata does (kepctl's `kep_number`), so that
    no number is given twice (docs/design.md I1)."""
    layout = config.proposals
    if layout.number_in_name:
        return []
    metadata = [p for p in paths if is_proposal_path(layout, p)]
    return sorted({f for p in metadata for f in (p, document_path(layout, p))})


def used_numbers(config: Config, tree: Tree) -> set[int]:
    """Every number the tree's proposals hold, in their names, number fields or headings."""
    found = named_numbers(config, proposal_paths(config, tree))
    for proposal in load_all(config, tree):
        for value in _number_values(config, proposal):
            number = None if is_placeholder(config, value) else as_int(value)
            if number is not None:
                found.add(number)
    return found


def new_name(config: Config, name: str, number: str) -> str | None:
    """`name` carrying `number`; None when the layout's name pattern cannot hold it.

    The number goes where the pattern keeps it when the name has a placeholder or a number
    there; a name with neither (`pod-budget`) gets the number in front (`1234-pod-budget`).
    A layout whose names carry no number (kepctl's `dry-run`) keeps the name.
    """
    layout = config.proposals
    if not layout.number_in_name:
        return name
    candidates = []
    match = re.fullmatch(layout.name_pattern, name)
    current = match.group("number") if match is not None else None
    if (
        match is not None
        and current is not None
        and (is_placeholder(config, current) or current.isdigit())
    ):
        start, end = match.span("number")
        candidates.append(name[:start] + number + name[end:])
    candidates.append(f"{number}-{name}")
    for candidate in candidates:
        found = re.fullmatch(layout.name_pattern, candidate)
        if found is not None and found.group("number") == number:
            return candidate
    return None


def proposal_files(config: Config, tree: Tree, path: str) -> list[str]:
    """The files that move with a proposal: its folder's, or its one file."""
    if config.proposals.name_of == "file":
        return [path]
    folder = posixpath.dirname(path) + "/"
    return sorted(p for p in tree.paths() if p.startswith(folder))


def review_files(config: Config, paths: Iterable[str]) -> list[str]:
    """Production readiness review files still named by a placeholder (`NNNN.yaml`, or a new
    KEP's own `NNNN-slug.yaml`): numbering a KEP moves its own (`_review_file`), so a caller
    fetching files to renumber wants them."""
    rule = config.validation.prr
    if not rule.enabled:
        return []
    folder = rule.directory.rstrip("/") + "/"
    return sorted(
        path
        for path in paths
        if path.startswith(folder)
        and path.endswith(".yaml")
        and _placeholder_stem(config, posixpath.basename(path)[: -len(".yaml")])
    )


def _placeholder_stem(config: Config, stem: str) -> bool:
    if is_placeholder(config, stem):
        return True
    parts = re.fullmatch(config.proposals.name_pattern, stem)
    number = parts.groupdict().get("number") if parts else None
    return number is not None and is_placeholder(config, number)


def _self_link_regex(old: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.-])" + re.escape(old) + r"(?![\w-])")


def _issue_link_regex(config: Config) -> re.Pattern[str]:
    """`#NNNN` and `issues/NNNN`: a proposal numbered by its issue linking that issue."""
    forms = [re.escape(f).replace("YYYYMMDD", r"\d{8}") for f in config.proposals.placeholders if f]
    alternatives = "|".join(forms) or r"(?!)"
    return re.compile(r"(?:(?<=#)|(?<=/issues/))(?:" + alternatives + r")(?![\w-])")


def _prefix_regex(prefix: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(prefix) + r"-(?P<number>[^\s:\"']*)")


def _retitle_generic(config: Config, line: str, number: str) -> str:
    """`KEP-NNNN` → `KEP-1234` in one line, when what follows the prefix is a placeholder."""
    match = _prefix_regex(config.implementations.prefix).search(line)
    if match is None or not is_placeholder(config, match.group("number")):
        return line
    start, end = match.span("number")
    return line[:start] + number + line[end:]


def _front_matter_end(lines: list[str]) -> int:
    """The 0-based index of the line closing a front-matter block at the top (0: none)."""
    if not lines or lines[0].rstrip("\r") != "---":
        return 0
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r") == "---":
            return index
    return 0


def _retitle(config: Config, text: str, number: str) -> str:
    """The title heading, and a front-matter `title:` line, with the number."""
    lines = text.split("\n")
    closing = _front_matter_end(lines)
    for index in range(1, closing):
        if lines[index].startswith("title:"):
            lines[index] = _retitle_generic(config, lines[index], number)
    h1 = next((h for h in markdown.headings(text) if h.level == 1 and h.line > closing), None)
    if h1 is not None:
        index = h1.line - 1
        line = lines[index]
        form = config.proposals.heading
        match = heading_regex(form).fullmatch(h1.text) if form and "{number}" in form else None
        if match is None:
            lines[index] = _retitle_generic(config, line, number)
        else:
            offset = line.find(h1.text)
            start, end = match.span("number")
            lines[index] = line[: offset + start] + number + line[offset + end :]
    return "\n".join(lines)


def renumber(
    config: Config, tree: Tree, path: str, number: int, *, keep: frozenset[str] = frozenset()
) -> Changes:
    """The change set that gives the proposal whose metadata is at `path` the number `number`.

    Raises RenumberError when the proposal is missing, unreadable, or its name cannot
    carry a number under the layout's name pattern. A review file in `keep` stays where it
    is (`shared_reviews`).
    """
    layout = config.proposals
    proposal = load_proposal(config, tree, path)
    if proposal is None or proposal.metadata is None:
        raise RenumberError(f"{path}: not a readable proposal")
    padded = format_number(config, number)
    old = proposal_name(layout, path)
    name = new_name(config, old, padded)
    if name is None:
        raise RenumberError(
            f"{path}: the name {old!r} cannot carry a number under {layout.name_pattern!r}"
        )
    files = proposal_files(config, tree, path)
    edited: dict[str, str] = {}
    for file in files:
        text = tree.read(file)
        if text is None:
            continue
        if file == path and layout.fields.number is not None:
            text = get_format(layout.format).set_value(text, layout.fields.number, str(number))
        if file == proposal.doc_path:
            text = _retitle(config, text, padded)
        if name != old:
            text = _self_link_regex(old).sub(name, text)
        if config.numbering.source == "issue":
            text = _issue_link_regex(config).sub(str(number), text)
        edited[file] = text
    changes: Changes = {}
    for file, text in edited.items():
        target = _target(config, path, file, name)
        if target != file:
            changes[file] = None
            changes[target] = text
        elif text != tree.read(file):
            changes[file] = text
    changes.update(_review_file(config, tree, proposal, number, keep))
    return changes


def _review_file(
    config: Config, tree: Tree, proposal: Proposal, number: int, keep: frozenset[str]
) -> Changes:
    """Kubernetes' production readiness review file is named by the KEP's number
    (`keps/prod-readiness/<sig>/<number>.yaml`, holding `kep-number`): it follows, from the
    KEP's own placeholder file (`NNNN-slug.yaml`) when it has one, else from `NNNN.yaml`
    unless that one is kept (`shared_reviews`)."""
    rule = config.validation.prr
    placeholder = is_placeholder(config, proposal.text_of("number"))
    old = review_path(proposal, tree, rule, placeholder=placeholder) if rule.enabled else None
    if old is None or old in keep:
        return {}
    original = tree.read(old)
    if old is None or original is None:
        return {}
    new = posixpath.join(posixpath.dirname(old), f"{number}.yaml")
    try:
        text = get_format("yaml").set_value(original, "kep-number", str(number))
    except FormatError:
        text = original  # an unreadable review file moves as it is; validation reports it
    if new != old:
        return {old: None, new: text}
    return {old: text} if text != original else {}


def _target(config: Config, path: str, file: str, name: str) -> str:
    """Where `file`, one of the proposal's files, goes when the proposal is called `name`."""
    folder = posixpath.dirname(path)
    if config.proposals.name_of == "file":
        return posixpath.join(folder, name + posixpath.splitext(file)[1])
    return posixpath.join(posixpath.dirname(folder), name, file[len(folder) + 1 :])


def shared_reviews(config: Config, tree: Tree, paths: Iterable[str]) -> frozenset[str]:
    """The placeholder review files (`NNNN.yaml`) that one of the proposals at `paths` and
    another new proposal of its area would both take, neither having a file of its own:
    which KEP such a file approves cannot be told, so it is moved for none (the check said
    so as `prr.shared`, naming the file each one needs)."""
    rule = config.validation.prr
    if not rule.enabled:
        return frozenset()
    found = set()
    for path in paths:
        proposal = load_proposal(config, tree, path)
        if proposal is None or not is_placeholder(config, proposal.text_of("number")):
            continue
        own = review_path(proposal, tree, rule, placeholder=True)
        shared = approval_path(proposal, rule)
        others = sharing(proposal, tree, rule, lambda n: is_placeholder(config, n))
        if own == shared and shared is not None and others:
            found.add(shared)
    return frozenset(found)


def renumber_all(config: Config, tree: Tree, numbers: Mapping[str, int]) -> Changes:
    """Number several proposals (metadata path → number) as one change set."""
    changes: Changes = {}
    keep = shared_reviews(config, tree, numbers)
    for path, number in sorted(numbers.items()):
        changes.update(renumber(config, OverlayTree(tree, changes), path, number, keep=keep))
    existing = set(tree.paths())
    return {
        path: text
        for path, text in changes.items()
        if (text is None and path in existing) or (text is not None and text != tree.read(path))
    }


def numbered_path(config: Config, path: str, number: int) -> str | None:
    """Where the metadata file at `path` is once the proposal has `number`."""
    name = new_name(config, proposal_name(config.proposals, path), format_number(config, number))
    return None if name is None else _target(config, path, path, name)


def issue_reference(text: str, repo: str) -> int | None:
    """The first issue of `repo` that `text` names: `#12`, `owner/repo#12` or an issue URL."""
    for match in _ISSUE.finditer(text):
        named = match.group("url_repo") or match.group("repo")
        number = match.group("url_number") or match.group("number")
        if named is None or named.lower() == repo.lower():
            return int(number)
    return None


def tracking_issue(config: Config, proposal: Proposal, repo: str) -> int | None:
    """The issue the proposal names: its tracking-issue field, else an `Issue:` line."""
    value = proposal.text_of("tracking_issue")
    if value:
        found = issue_reference(value, repo)
        if found is not None:
            return found
    for match in _LABELLED.finditer(proposal.document or ""):
        found = issue_reference(match.group("rest"), repo)
        if found is not None:
            return found
    return None


def issue_in_body(body: str | None, repo: str) -> int | None:
    """The issue a PR description names: `Tracking issue: #N`, else `Fixes #N` and the like."""
    for pattern in (_LABELLED, _CLOSING):
        for match in pattern.finditer(body or ""):
            found = issue_reference(match.group("rest"), repo)
            if found is not None:
                return found
    return None


def index_changes(config: Config, tree: Tree) -> Changes:
    """The regenerated index when one is configured and `tree`'s copy is stale."""
    path = config.index.path
    if path is None:
        return {}
    text = render_index(config, load_all(config, tree))
    return {} if tree.read(path) == text else {path: text}
