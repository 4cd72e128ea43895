"""References from an implementation pull request to proposals: finding them, matching paths.

An implementation PR names its proposal in its title or description (or in a `link`
command) in one of these forms, all of them read from prose only (code, quotes and HTML
comments do not count, exactly as for commands):

- a number with the process's prefix, `KEP-1234`, `KPEP-0007`, `GEP-1619`
  (`implementations.prefix`), or any form an `implementations.references` regex matches
  (its `(?P<number>...)` group is the number);
- `owner/repo#N`: a pull request or issue of the proposals repository (the proposal's PR
  or its tracking issue);
- a URL to a proposal's file or folder, `https://HOST/owner/repo/blob|tree/<ref>/<path>`,
  or to a pull request or issue, `https://HOST/owner/repo/pull|issues/N`;
- in a command argument also a bare number (`1234`) or a bare path (`keps/sig-node/1234-x`).

This module is pure: which repository a reference is about, and which proposal a number or
a path means in a listing of the proposals repository, are answered here; reading GitHub
is the handler's business. A path that names a proposal by its placeholder name
(`keps/sig-node/NNNN-slug`) still finds the proposal after it got its number, by its slug in
the same folder (`renamed_to`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal
from urllib.parse import unquote

# One Markdown scanner and one input limit, so that "visible" means the same thing for
# commands and for references (see bot.engine.markdown).
from bot.engine.commands import bounded_lines
from bot.engine.config import Config
from bot.engine.markdown import prose_paragraphs
from bot.engine.numbering import as_int, is_placeholder
from bot.engine.proposal import is_proposal_path, name_parts

__all__ = [
    "MAX_REFERENCES",
    "Reference",
    "argument_references",
    "by_number",
    "find_references",
    "match_path",
    "renamed_to",
    "repo_matches",
    "same_proposal",
    "static_folder",
    "visible_text",
]

MAX_REFERENCES = 20
Kind = Literal["number", "item", "path"]

_URL = re.compile(r"https?://[^\s<>()\[\]{}\"'`|]+", re.I)
_GITHUB_URL = re.compile(
    r"https?://[^/\s]+/(?P<repo>[\w.-]+/[\w.-]+)/(?P<kind>blob|tree|pull|issues)/(?P<rest>.+)",
    re.I,
)
_ITEM = re.compile(r"(?<![\w./#-])(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)#(?P<number>\d+)(?!\w)")
_TRAILING = ".,;:!?*_~"
_BARE_PATH = re.compile(r"[\w.-]+(?:/[\w.-]+)+/?")


@dataclass(frozen=True)
class Reference:
    """One reference as written.

    `number`: a proposal number (`kind="number"`) or a PR/issue number (`"item"`); `repo`:
    the repository an item or a URL names (None: the proposals repository, for bare
    paths and numbers); `path`: for `"path"`, what follows `blob/` or `tree/` in a URL (the
    ref, then the path: `has_ref`) or a bare path.
    """

    kind: Kind
    text: str
    number: int | None = None
    repo: str | None = None
    path: str | None = None
    has_ref: bool = False

    def about(self, repo: str) -> bool:
        """Whether this reference can mean a proposal of `repo` (owner/name)."""
        return self.repo is None or self.repo.lower() == repo.lower()

    @property
    def key(self) -> tuple[object, ...]:
        repo = self.repo.lower() if self.repo else None
        return (self.kind, self.number, repo, self.path, self.has_ref)


def visible_text(text: str) -> str:
    """The prose of a Markdown text: no code (blocks or spans), quotes or HTML comments.

    Paragraphs are separated by a blank line; a code span or comment inside a paragraph
    becomes a space. The command parser's limits apply (the first 64 KiB).
    """
    return "\n\n".join(prose_paragraphs(bounded_lines(text)))


@cache
def _number_patterns(prefix: str, extra: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The prefix form (`KEP-12`, any case) and the configured forms that compile."""
    own = re.compile(rf"(?<![\w./-]){re.escape(prefix)}-(?P<number>\d+)(?![\w-])", re.I)
    patterns = [own]
    for source in extra:
        try:
            compiled = re.compile(source)
        except re.error:
            continue  # the configuration is read from the default branch; a bad form is skipped
        if "number" in compiled.groupindex:
            patterns.append(compiled)
    return tuple(patterns)


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _url_reference(url: str) -> Reference | None:
    match = _GITHUB_URL.fullmatch(url)
    if match is None:
        return None
    repo, kind, rest = match["repo"], match["kind"].lower(), match["rest"]
    rest = re.split(r"[?#]", rest, maxsplit=1)[0].rstrip(_TRAILING)
    if kind in ("pull", "issues"):
        number = re.match(r"\d+", rest)
        return Reference("item", url, number=int(number[0]), repo=repo) if number else None
    path = unquote(rest).strip("/")
    return Reference("path", url, repo=repo, path=path, has_ref=True) if "/" in path else None


def find_references(text: str, config: Config) -> list[Reference]:
    """The references in the prose of `text`, in order of appearance, each form once.

    Every URL is consumed whole (so `KEP-12` inside an unrelated link does not count), then
    `owner/repo#N`, then the numbers (the prefix form and `implementations.references`).
    At most MAX_REFERENCES are returned.
    """
    prose = visible_text(text)
    found: list[tuple[int, Reference]] = []
    for match in _URL.finditer(prose):
        url = match[0].rstrip(_TRAILING)
        reference = _url_reference(url)
        if reference is not None:
            found.append((match.start(), reference))
        prose = _blank(prose, match.start(), match.end())
    for match in _ITEM.finditer(prose):
        found.append(
            (match.start(), Reference("item", match[0], int(match["number"]), match["repo"]))
        )
        prose = _blank(prose, match.start(), match.end())
    implementations = config.implementations
    patterns = _number_patterns(implementations.prefix, tuple(implementations.references))
    for pattern in patterns:
        for match in pattern.finditer(prose):
            number = as_int(match["number"])
            if number is not None and _standalone(prose, match.start(), match.end()):
                found.append((match.start(), Reference("number", match[0].strip(), number)))
    return _unique(reference for _, reference in sorted(found, key=lambda item: item[0]))


def _standalone(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a word of its own, not part of a path, name or longer word."""
    before, after = text[start - 1 : start], text[end : end + 1]
    return not (before and (before.isalnum() or before in "_./-")) and not (
        after and (after.isalnum() or after in "_-")
    )


def _unique(references: Iterable[Reference]) -> list[Reference]:
    seen: set[tuple[object, ...]] = set()
    kept = []
    for reference in references:
        if reference.key not in seen:
            seen.add(reference.key)
            kept.append(reference)
            if len(kept) == MAX_REFERENCES:
                break
    return kept


def argument_references(args: Sequence[str], config: Config) -> list[Reference]:
    """The references of a `link`/`unlink` command's arguments.

    The written forms first; without any, each argument that is a bare number or a bare
    path of the proposals repository.
    """
    found = find_references(" ".join(args), config)
    if found:
        return found
    bare = []
    for arg in args:
        if arg.isdigit():
            bare.append(Reference("number", arg, int(arg)))
        elif _BARE_PATH.fullmatch(arg):
            bare.append(Reference("path", arg, path=arg.strip("/")))
    return _unique(bare)


def repo_matches(patterns: Iterable[str], repo: str) -> bool:
    """Whether `repo` (owner/name) is one of `implementations.repositories`.

    A pattern with a `/` is matched against the full name, one without against the name;
    `*` and `?` are wildcards; case does not matter.
    """
    owner_name = repo.lower()
    name = owner_name.split("/", 1)[-1]
    for pattern in patterns:
        lowered = pattern.lower()
        subject = owner_name if "/" in lowered else name
        if _glob(lowered).fullmatch(subject):
            return True
    return False


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts))


def static_folder(config: Config) -> str:
    """The folder every proposal lives under (`keps`, `docs/proposals`); "" when none."""
    folders = []
    for glob in config.proposals.metadata:
        parts = []
        for part in glob.split("/")[:-1]:
            if any(c in part for c in "*?["):
                break
            parts.append(part)
        folders.append("/".join(parts))
    common = posixpath.commonpath(folders) if folders and all(folders) else ""
    return common


def _container(config: Config, path: str) -> str:
    """The folder (folder layouts) or file (file layouts) that carries a proposal's name."""
    return posixpath.dirname(path) if config.proposals.name_of == "folder" else path


def by_number(config: Config, proposals: Iterable[str], number: int) -> str | None:
    """The proposal whose name carries `number` (`0007` and `7` are the same number)."""
    layout = config.proposals
    for path in sorted(proposals):
        parts = name_parts(layout, path)
        text = parts.get("number") if parts else None
        if not is_placeholder(config, text) and as_int(text) == number:
            return path
    return None


def _owner_of(config: Config, by_container: dict[str, str], candidate: str) -> str | None:
    """The proposal `candidate` (its folder, its file, or a file inside its folder) is in."""
    here = candidate.strip("/")
    while here:
        if here in by_container:
            return by_container[here]
        here = posixpath.dirname(here)
    return None


def match_path(
    config: Config, proposals: Collection[str], path: str, *, has_ref: bool
) -> str | None:
    """The proposal (metadata path) that `path` points into, among `proposals`.

    With `has_ref` the path starts with a branch, tag or sha of unknown length (a branch
    may hold `/`), so every split after the first segment is tried.
    """
    by_container = {_container(config, p): p for p in proposals}
    by_container.update({p: p for p in proposals})
    segments = [s for s in path.split("/") if s]
    starts = range(1, len(segments)) if has_ref else range(1)
    for start in starts:
        found = _owner_of(config, by_container, "/".join(segments[start:]))
        if found is not None:
            return found
    return None


def _placeholder_name(config: Config, container: str) -> dict[str, str] | None:
    """The parts of `container`'s name when it carries a placeholder number and a slug."""
    name = posixpath.basename(container)
    if config.proposals.name_of == "file":
        name = posixpath.splitext(name)[0]
    match = re.fullmatch(config.proposals.name_pattern, name)
    if match is None or not match.groupdict().get("slug"):
        return None
    if not is_placeholder(config, match["number"]):
        return None
    return {key: value for key, value in match.groupdict().items() if value is not None}


def renamed_to(
    config: Config, proposals: Collection[str], path: str, *, has_ref: bool = False
) -> str | None:
    """The numbered proposal that a placeholder-named `path` became, by slug and folder.

    `keps/sig-node/NNNN-pod-budget/README.md` finds `keps/sig-node/1234-pod-budget/kep.yaml`
    when that is the only proposal of `keps/sig-node` with the slug `pod-budget`.
    """
    segments = [s for s in path.split("/") if s]
    starts = range(1, len(segments)) if has_ref else range(1)
    for start in starts:
        here = "/".join(segments[start:])
        while here:
            found = _successor(config, proposals, here)
            if found is not None:
                return found
            here = posixpath.dirname(here)
    return None


def _successor(config: Config, proposals: Collection[str], container: str) -> str | None:
    parts = _placeholder_name(config, container)
    if parts is None:
        return None
    parent = posixpath.dirname(container)
    matches = []
    for path in proposals:
        own = _container(config, path)
        theirs = name_parts(config.proposals, path)
        if (
            posixpath.dirname(own) == parent
            and theirs is not None
            and theirs.get("slug") == parts["slug"]
            and not is_placeholder(config, theirs.get("number"))
        ):
            matches.append(path)
    return matches[0] if len(matches) == 1 else None


def same_proposal(config: Config, earlier: str, later: str) -> bool:
    """Whether the metadata path `earlier` (as a PR added it) is the proposal now at `later`."""
    if earlier == later:
        return True
    if not is_proposal_path(config.proposals, earlier):
        return False
    return _successor(config, [later], _container(config, earlier)) == later
