"""What the engine reads from a proposal's markdown: headings, their sections, and markers.

Headings inside fenced code blocks and HTML comments do not count. A section runs from
its heading to the next heading of the same or a higher level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_REQUIRED_IN = re.compile(r"^\[required_in\]:\s*#\s*\((?P<status>\w+) status and above\)", re.I)
_INTERESTING = frozenset("#`~< \t")  # first characters of lines that can open or close a block
_STATUS_BULLET = re.compile(r"^\s*[*-]\s+Status:\s*(?P<status>.+?)\s*$")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 1-based
    body: str  # the section's own text up to the next heading of any level
    required_in: str | None  # GEP marker: the status from which this section is required


def headings(text: str) -> list[Heading]:
    lines = text.splitlines()
    found: list[tuple[int, str, int]] = []
    fence: str | None = None
    in_comment = False
    for number, line in enumerate(lines, start=1):
        if not in_comment and fence is None and line[:1] not in _INTERESTING:
            continue  # the fast path: most lines of a proposal are plain text
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)[0] * 3
            continue
        if line.lstrip().startswith("<!--") and "-->" not in line:
            in_comment = True
            continue
        match = _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2).strip(), number))
    result = []
    for index, (level, title, line_no) in enumerate(found):
        end = found[index + 1][2] - 1 if index + 1 < len(found) else len(lines)
        body = "\n".join(lines[line_no:end])
        marker = None
        if "[required_in]" in body:
            marker = next(
                (m.group("status") for m in map(_REQUIRED_IN.match, body.splitlines()) if m), None
            )
        result.append(Heading(level, title, line_no, body, marker))
    return result


def normalise(title: str) -> str:
    """Compare headings loosely: case, punctuation, emphasis and "(Optional)" do not matter."""
    title = re.sub(r"\(optional\)", "", title, flags=re.I)
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def has_content(body: str) -> bool:
    """A section counts as written when it has text other than markers and comments."""
    text = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    return any(line.strip() and not _REQUIRED_IN.match(line.strip()) for line in text.splitlines())


def first_h1(text: str) -> Heading | None:
    return next((h for h in headings(text) if h.level == 1), None)


def status_bullet(text: str) -> tuple[str, int] | None:
    """Gateway API's `* Status: X` line near the top of index.md, with its line."""
    for number, line in enumerate(text.splitlines()[:40], start=1):
        match = _STATUS_BULLET.match(line)
        if match:
            return match.group("status"), number
    return None


def set_status_bullet(text: str, status: str) -> str:
    """`text` with its `* Status:` line saying `status` (unchanged when it has none)."""
    found = status_bullet(text)
    if found is None or found[0] == status:
        return text
    lines = text.splitlines(keepends=True)
    index = found[1] - 1
    old = lines[index]
    ending = old[len(old.rstrip("\r\n")) :]
    prefix = old[: old.index("Status:") + len("Status:")]
    lines[index] = f"{prefix} {status}{ending}"
    return "".join(lines)
