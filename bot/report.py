"""`kepbot report [PATH]`: process metrics from a local clone's history of proposal metadata.

Walks the first-parent history of the checked-out branch (bounded by `--max-commits`), reads
each proposal metadata file at every commit that touched it (one `git cat-file --batch`
process for all of them), and prints the counts by current status and the median and p90 of
the time spent per status, as of the last commit. `--plot FILE` writes a bar chart.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.engine.config import CONFIG_PATH, Config, load_config
from bot.engine.pipeline import DAY, Change, Summary, changes_from_snapshots, summarize, timelines
from bot.engine.proposal import is_proposal_path, load_proposal
from bot.engine.tree import MemoryTree

__all__ = ["Commit", "add_parser", "cmd_report", "history", "read_changes", "render"]

MAX_COMMITS = 20000
Commit = tuple[str, datetime, list[str]]


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True)
    return done.stdout.decode("utf-8", errors="replace")


def history(root: Path, max_commits: int = MAX_COMMITS) -> list[Commit]:
    """(sha, commit date, touched paths) of the first-parent history, oldest first."""
    out = _git(
        root,
        "log",
        "--first-parent",
        "--no-renames",
        "--reverse",
        f"--max-count={max_commits}",
        "--format=%x1e%H %cI",
        "--name-only",
    )
    commits: list[Commit] = []
    for record in out.split("\x1e")[1:]:
        head, _, names = record.partition("\n")
        sha, _, date = head.partition(" ")
        paths = [line for line in names.splitlines() if line]
        commits.append((sha, datetime.fromisoformat(date.strip()), paths))
    return commits


def _read_blobs(root: Path, specs: list[str]) -> list[bytes | None]:
    """The content of each `sha:path` (None when missing), through one cat-file process."""
    if not specs:
        return []
    data = "".join(f"{spec}\n" for spec in specs).encode("utf-8")
    out = subprocess.run(
        ["git", "-C", str(root), "cat-file", "--batch"], input=data, capture_output=True, check=True
    ).stdout
    blobs: list[bytes | None] = []
    at = 0
    for _ in specs:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3 or header[1] != b"blob":
            blobs.append(None)
            continue
        size = int(header[2])
        blobs.append(out[at : at + size])
        at += size + 1
    return blobs


def _status(config: Config, path: str, blob: bytes | None) -> tuple[bool, str | None]:
    """(readable, status): a removed file has no status; an unreadable one is skipped."""
    if blob is None:
        return True, None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return False, None
    proposal = load_proposal(config, MemoryTree({path: text}), path)
    if proposal is None or proposal.error is not None:
        return False, None
    return True, proposal.status


def read_changes(root: Path, config: Config, commits: list[Commit]) -> list[Change]:
    """The status changes of every proposal over `commits`."""
    layout = config.proposals
    wanted = [
        (index, path)
        for index, (_, _, paths) in enumerate(commits)
        for path in paths
        if is_proposal_path(layout, path)
    ]
    blobs = _read_blobs(root, [f"{commits[index][0]}:{path}" for index, path in wanted])
    snapshots: list[tuple[datetime, dict[str, str | None]]] = [(c[1], {}) for c in commits]
    for (index, path), blob in zip(wanted, blobs, strict=True):
        readable, status = _status(config, path, blob)
        if readable:
            snapshots[index][1][path] = status
    return changes_from_snapshots(snapshots)


def render(summary: Summary, tracked: int, as_of: datetime) -> str:
    lines = [f"proposals: {tracked} (as of {as_of.isoformat()})", "", "count by status:"]
    lines += [f"  {status:<16} {count:>5}" for status, count in summary.counts.items()]
    lines += ["", "days per status:       n   median      p90"]
    for status, dist in summary.per_status.items():
        lines.append(
            f"  {status:<16} {dist.count:>5} {dist.median / DAY:>8.1f} {dist.p90 / DAY:>8.1f}"
        )
    return "\n".join(lines)


def write_plot(summary: Summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    statuses = list(summary.counts)
    left.bar(statuses, [summary.counts[s] for s in statuses], color="#4477aa")
    left.set_title("proposals by current status")
    names = list(summary.per_status)
    spots = list(range(len(names)))
    medians = [summary.per_status[s].median / DAY for s in names]
    p90s = [summary.per_status[s].p90 / DAY for s in names]
    right.bar([x - 0.2 for x in spots], medians, width=0.4, label="median", color="#66ccee")
    right.bar([x + 0.2 for x in spots], p90s, width=0.4, label="p90", color="#ee6677")
    right.set_xticks(spots, names)
    right.set_ylabel("days")
    right.set_title("time per status")
    right.legend()
    for axes in (left, right):
        axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


PLOT_NEEDS = "--plot needs matplotlib, which the server does not: pip install 'kepbot[report]'"


def _can_plot() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def cmd_report(args: argparse.Namespace) -> int:
    if args.plot and not _can_plot():
        print(f"kepbot: {PLOT_NEEDS}", file=sys.stderr)
        return 2
    root = Path(args.path)
    if not (root / ".git").exists():
        print(f"kepbot: {root} is not the root of a git clone", file=sys.stderr)
        return 2
    config_file = Path(args.config) if args.config else root / CONFIG_PATH
    text = config_file.read_text(encoding="utf-8") if config_file.is_file() else None
    config = load_config(text, path=str(config_file if args.config else CONFIG_PATH))
    commits = history(root, args.max_commits)
    if not commits:
        print("kepbot: the repository has no commits", file=sys.stderr)
        return 2
    now = commits[-1][1]
    lines = timelines(read_changes(root, config, commits), now)
    summary = summarize(lines.values())
    print(render(summary, sum(summary.counts.values()), now))
    if args.plot:
        write_plot(summary, Path(args.plot))
    return 0


def add_parser(sub: Any) -> None:
    """Register `report` on the CLI's subparsers."""
    report = sub.add_parser("report", help="counts by status and time per status from git history")
    report.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    report.add_argument("--plot", help="write a bar chart to this file (.png, .svg)")
    report.add_argument("--max-commits", type=int, default=MAX_COMMITS)
    report.add_argument("--config", help=f"configuration file (default: PATH/{CONFIG_PATH})")
    report.set_defaults(run=cmd_report)
