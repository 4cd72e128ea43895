"""A new proposal from the preset's template, with a placeholder number (`kepbot new`).

The template's tokens: `{title}`, `{slug}`, `{slug_title}`, `{area}`, `{author}`, `{date}`,
`{yyyymmdd}`, `{date_long}`, `{timestamp}` (RFC 3339 in UTC, as kepctl's Go time.Time
writes it: `2018-12-09T01:37:52.328024Z`) and `{uuid}` (a fresh random UUID, kepctl's
identity of a KEP that has no number yet).
"""

from __future__ import annotations

import datetime
import posixpath
import re
import uuid

from bot.engine.config import Config
from bot.engine.formats import get_format
from bot.engine.proposal import is_proposal_path, load_all
from bot.engine.tree import Tree


class ScaffoldError(ValueError):
    """A proposal that cannot be scaffolded (no title, no area, a file in the way)."""


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:60].rstrip("-") or "proposal"


def title_case_slug(title: str) -> str:
    """`Tool auth API` → `ToolAuthAPI`, the Agentic Networking file naming."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)[:60] or "Proposal"


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def scaffold(
    config: Config,
    tree: Tree,
    *,
    title: str,
    area: str | None,
    author: str | None,
    today: datetime.date,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """The files of a new proposal, path → text; refuses to overwrite anything.

    `now` gives `{timestamp}` its time (midnight UTC of `today` when None)."""
    layout = config.proposals
    if not title.strip():
        raise ScaffoldError("--title must not be empty")
    if "{area}" in layout.new_path and not area:
        known = sorted({p.area for p in load_all(config, tree) if p.area})
        listed = ", ".join(known) if known else "none yet"
        raise ScaffoldError(f"--area is required for this process; areas in use: {listed}")
    tokens = {
        "{slug}": slugify(title),
        "{slug_title}": title_case_slug(title),
        "{area}": area or "",
        "{author}": (author or "TBD").lstrip("@"),
        "{date}": today.isoformat(),
        "{yyyymmdd}": today.strftime("%Y%m%d"),
        "{date_long}": f"{_ordinal(today.day)} {today:%B %Y}",
        "{timestamp}": _timestamp(today, now),
        "{uuid}": str(uuid.uuid4()),
    }
    target = _fill(layout.new_path, tokens)
    files = {}
    for name, text in config.template.files.items():
        path = target if name == "{path}" else posixpath.join(target, name)
        files[path] = text
    existing = set(tree.paths())
    clash = sorted(p for p in files if p in existing)
    if clash:
        raise ScaffoldError(f"{clash[0]} already exists; choose another title")
    return {path: _render(config, path, text, title, tokens) for path, text in files.items()}


def _timestamp(today: datetime.date, now: datetime.datetime | None) -> str:
    moment = now or datetime.datetime.combine(today, datetime.time(), datetime.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fill(text: str, tokens: dict[str, str]) -> str:
    for token, value in tokens.items():
        text = text.replace(token, value)
    return text


def _render(config: Config, path: str, text: str, title: str, tokens: dict[str, str]) -> str:
    layout = config.proposals
    title_key = layout.fields.title
    if title_key is not None and is_proposal_path(layout, path):
        # Written through the format's editor so that any title is quoted correctly.
        text = _fill(text, {**tokens, "{title}": "TBD"})
        return get_format(layout.format).set_value(text, title_key, title)
    return _fill(text, {**tokens, "{title}": title})
