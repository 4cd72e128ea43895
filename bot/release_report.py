"""`kepbot release MILESTONE [PATH]`: freeze readiness of a checkout (docs/design.md B11).

Every proposal of the checkout that targets the milestone (its latest milestone, or the
milestone of the stage it is at), each freeze rule of the configuration met or not, with the
reason and the file and line to fix, and who owns it (area, authors, approvers). A
checkout cannot know which proposals were opted in on GitHub: the release page
(`bot.release_page`) adds those. The milestone is checked against
`tracking.milestone-pattern` (exit 2 when it is no milestone name). Exit 0 when every
proposal listed meets every rule, 1 otherwise; `--format json` prints the data.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.engine.config import CONFIG_PATH, Config, load_config
from bot.engine.freeze import Entry, release
from bot.engine.proposal import load_all
from bot.engine.tree import LocalTree

__all__ = ["DEFAULT_PATTERN", "add_parser", "cmd_release", "release_data", "render_text"]

DEFAULT_PATTERN = r"^v[0-9]{1,3}\.[0-9]{1,3}$"


class UsageError(Exception):
    """A milestone that is no milestone name, or a path that is no directory."""


def valid_milestone(config: Config, value: str) -> str | None:
    """`value` when the process takes it as a milestone name (else None)."""
    pattern = config.tracking.milestone_pattern if config.tracking else DEFAULT_PATTERN
    text = value.strip()
    return text if 0 < len(text) <= 100 and re.fullmatch(pattern, text) else None


def release_data(
    config: Config, milestone: str, entries: Sequence[Entry], **extra: Any
) -> dict[str, Any]:
    """The release view as JSON-ready data."""
    freeze = config.freeze
    return {
        "milestone": milestone,
        "freeze": freeze.name if freeze else None,
        "date": freeze.dates.get(milestone) if freeze else None,
        "rules": [{"id": r.id, "text": r.text} for r in (freeze.rules if freeze else [])],
        "proposals": [entry.data() for entry in entries],
        "ready": sum(1 for entry in entries if entry.ready),
        "total": len(entries),
        **extra,
    }


def render_text(data: dict[str, Any]) -> str:
    """The release view for a terminal."""
    name = data.get("freeze") or "Freeze"
    date = f" ({data['date']})" if data.get("date") else ""
    lines = [
        f"{name} {data['milestone']}{date}: {data['ready']} of {data['total']} ready",
        "",
    ]
    for item in data["proposals"]:
        owners = ", ".join([*item["authors"], *item["approvers"]]) or "nobody listed"
        mark = "ready" if item["ready"] else "NOT READY"
        lines.append(f"{item['path']}: {mark} ({item['area'] or 'no area'}; {owners})")
        lines.append(f"  {item['title'] or ''} [{', '.join(item['why'])}]")
        for check in item["checks"]:
            sign = "ok  " if check["met"] else "MISS"
            where = f"{check['path']}:{check['line']}"
            lines.append(f"  {sign} {check['text']}: {check['reason']} ({where})")
        lines.append("")
    if not data["proposals"]:
        lines.append("No proposal targets this milestone.")
    return "\n".join(lines).rstrip() + "\n"


def cmd_release(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{args.path} is not a directory")
    path = Path(args.config) if args.config else root / CONFIG_PATH
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    config = load_config(text, path=str(path if args.config else CONFIG_PATH))
    milestone = valid_milestone(config, args.milestone)
    if milestone is None:
        raise UsageError(f"{args.milestone[:40]!r} is no milestone name (like v1.37)")
    tree = LocalTree(root)
    entries = release(config, load_all(config, tree), tree, milestone)
    data = release_data(config, milestone, entries)
    if args.format == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(render_text(data), end="")
    return 0 if data["ready"] == data["total"] else 1


def add_parser(sub: Any) -> None:
    """Register `release` on the CLI's subparsers."""
    parser = sub.add_parser(
        "release", help="freeze readiness of every proposal that targets a milestone"
    )
    parser.add_argument("milestone", help="the release's milestone, e.g. v1.37")
    parser.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--config", help=f"configuration file (default: PATH/{CONFIG_PATH})")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        return cmd_release(args)
    except UsageError as error:
        print(f"kepbot: {error}", file=sys.stderr)
        return 2
