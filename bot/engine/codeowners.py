"""CODEOWNERS files read the way GitHub reads them (pure: no network).

A CODEOWNERS line is a path pattern followed by owners (`@user`, `@org/team`, or an e-mail
address). Blank lines and lines starting with `#` are ignored, and ` #` starts a trailing
comment. Patterns follow gitignore rules with GitHub's departures:

- a leading `/`, or a `/` anywhere but at the end, anchors the pattern at the root; a
  pattern without one matches at any depth (`apps/` is any `apps` folder);
- a trailing `/` means a folder: it matches everything under that folder, not a file;
- `*` and `?` stay within one path segment; `**` spans segments (`**/logs`, `a/**/b`, `a/**`);
- a pattern otherwise matches the path itself or any folder the path lies under, except that
  a final `/*` segment matches only the folder's direct entries (GitHub: `docs/*` matches
  `docs/a.md`, not `docs/build/a.md`);
- `!` negation is not supported: such lines are skipped, as GitHub skips invalid lines;
  a backslash escapes the next character (`path\\ with\\ spaces`, `\\#file`);
- matching is case-sensitive, and the LAST matching line wins; a matching line without
  owners means the path has no owners.

GitHub looks for the file in `CODEOWNERS_PATHS`, in that order, and uses the first it finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["CODEOWNERS_PATHS", "Rule", "is_team", "matches", "owners_for", "parse", "rule_for"]

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_OWNER = re.compile(r"^(?:@[A-Za-z0-9](?:[A-Za-z0-9_.-]*)(?:/[A-Za-z0-9_.-]+)?|[^@\s]+@[^@\s]+)$")


@dataclass(frozen=True)
class Rule:
    """One effective CODEOWNERS line: its pattern, its owners as written, its line number."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path.strip("/")) is not None


def is_team(owner: str) -> bool:
    """`@org/team` (as opposed to `@user` or an e-mail address)."""
    return owner.startswith("@") and "/" in owner


def _fields(line: str) -> list[str]:
    """Whitespace-separated fields, honouring backslash escapes; ` #` starts a comment."""
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if current:
                fields.append("".join(current))
                current = []
        elif char == "#" and not current:
            break
        else:
            current.append(char)
    if current:
        fields.append("".join(current))
    return fields


def _segment(text: str) -> str:
    """The regex of one path segment: `*` and `?` never cross a `/`."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(re.escape(text[index + 1]))
            index += 2
            continue
        if char == "*":
            while index + 1 < len(text) and text[index + 1] == "*":
                index += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _compile(pattern: str) -> re.Pattern[str]:
    folder = pattern.endswith("/")
    body = pattern.rstrip("/")
    anchored = body.startswith("/") or "/" in body.lstrip("/")
    body = body.lstrip("/")
    if not body:  # `/`: the whole repository
        return re.compile(r".*", re.DOTALL)
    segments = body.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment(segment) + ("" if last else "/"))
    regex = ("" if anchored else "(?:[^/]+/)*") + "".join(parts)
    if folder:
        regex += "/.+"
    elif segments[-1] != "*" and segments[-1] != "**":
        regex += "(?:/.+)?"  # the path itself, or anything in the folder it names
    return re.compile(regex, re.DOTALL)


@lru_cache(maxsize=64)
def parse(text: str) -> tuple[Rule, ...]:
    """The valid rules of a CODEOWNERS text, in file order (invalid lines are skipped)."""
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = _fields(raw)
        if not fields:
            continue
        pattern, owners = fields[0], tuple(fields[1:])
        if pattern.startswith("!") or not all(_OWNER.match(owner) for owner in owners):
            continue
        rules.append(Rule(pattern, owners, number, _compile(pattern)))
    return tuple(rules)


def rule_for(text: str, path: str) -> Rule | None:
    """The line that decides `path`'s owners (the last matching one), or None."""
    clean = path.strip("/")
    for rule in reversed(parse(text)):
        if rule.matches(clean):
            return rule
    return None


def owners_for(text: str, path: str) -> list[str]:
    """The owners of `path` as written (`@user`, `@org/team`, e-mail); [] when none."""
    rule = rule_for(text, path)
    return list(rule.owners) if rule is not None else []


def matches(pattern: str, path: str) -> bool:
    """Whether one CODEOWNERS pattern matches `path` (a path relative to the root)."""
    return _compile(pattern).fullmatch(path.strip("/")) is not None
