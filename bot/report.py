"""`kepbot report [PATH]`: process metrics from a local clone's history of proposal metadata.

Walks the first-parent history of the checked-out branch (bounded by `--max-commits`), reads
each proposal metadata file at every commit that touched it (one `git cat-file --batch`
process for all of them), and prints, as of the last commit, KEP-1's metrics
(docs/metrics.md): the counts by current status, the median and p90 of the time spent per
status, the rejection rate, authors and first-time authors by year, and the orphaned,
retired and superseded proposals. Implementation PRs merged per week and issues
referencing a proposal live on GitHub, not in the clone: they are counted from exports
given with `--pulls` and `--issues` (`gh pr list` / `gh issue list` with `--json`), and
said to be not available offline without them. `--plot FILE` writes the charts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.engine.config import CONFIG_PATH, Config, load_config
from bot.engine.metrics import ORPHAN_DAYS, Facts, Metrics, compute, facts_of, referenced, weekly
from bot.engine.pipeline import DAY, Change, Summary, changes_from_snapshots, summarize, timelines
from bot.engine.proposal import is_proposal_path, load_proposal
from bot.engine.tree import MemoryTree

__all__ = [
    "Commit",
    "Exported",
    "add_parser",
    "cmd_report",
    "history",
    "read_changes",
    "read_export",
    "read_history",
    "render",
    "render_metrics",
]

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


def _read(config: Config, path: str, blob: bytes | None) -> tuple[bool, Facts | None]:
    """(readable, facts): a removed file has none; an unreadable one is skipped."""
    if blob is None:
        return True, None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return False, None
    proposal = load_proposal(config, MemoryTree({path: text}), path)
    if proposal is None or proposal.error is not None:
        return False, None
    return True, facts_of(config, proposal)


def read_history(
    root: Path, config: Config, commits: list[Commit]
) -> tuple[list[Change], dict[str, Facts]]:
    """The status changes of every proposal over `commits`, and the facts of each as its
    file last read, with the dates of the first and last commits that changed the file."""
    layout = config.proposals
    wanted = [
        (index, path)
        for index, (_, _, paths) in enumerate(commits)
        for path in paths
        if is_proposal_path(layout, path)
    ]
    blobs = _read_blobs(root, [f"{commits[index][0]}:{path}" for index, path in wanted])
    snapshots: list[tuple[datetime, dict[str, str | None]]] = [(c[1], {}) for c in commits]
    latest: dict[str, Facts] = {}
    first: dict[str, datetime] = {}
    for (index, path), blob in zip(wanted, blobs, strict=True):
        readable, facts = _read(config, path, blob)
        if not readable:
            continue
        when = commits[index][1]
        snapshots[index][1][path] = facts.status if facts is not None else None
        if facts is None:
            latest.pop(path, None)
            first.pop(path, None)  # a file added again begins anew
            continue
        first.setdefault(path, when)
        latest[path] = dataclasses.replace(facts, first_seen=first[path], last_change=when)
    return changes_from_snapshots(snapshots), latest


def read_changes(root: Path, config: Config, commits: list[Commit]) -> list[Change]:
    """The status changes of every proposal over `commits`."""
    return read_history(root, config, commits)[0]


@dataclasses.dataclass(frozen=True)
class Exported:
    """What an export of GitHub's pull requests or issues says of the proposals: per item
    that references one, its state and when it merged (None: not merged, or not said)."""

    items: int  # items read
    referencing: list[tuple[str, datetime | None]]  # (state, merged at) of those that refer


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_export(file: Path, config: Config, repo: str | None, paths: Sequence[str]) -> Exported:
    """The items of a JSON export (a list of objects with `title`, `body`, `state` and, for
    pull requests, `mergedAt` or `merged_at`: `gh pr list --json` and GitHub's REST answers
    both read) that reference a proposal of `paths`."""
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{file}: expected a JSON list of pull requests or issues")
    found: list[tuple[str, datetime | None]] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        text = f"{item.get('title') or ''}\n\n{item.get('body') or ''}"
        if not referenced(config, repo, paths, text):
            continue
        merged = _moment(item.get("mergedAt") or item.get("merged_at"))
        state = "merged" if merged is not None else str(item.get("state") or "").lower()
        found.append((state, merged))
    return Exported(len(data), found)


_REMOTE = re.compile(r"github\.com[:/](?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")


def _origin(root: Path) -> str | None:
    """owner/name of the clone's `origin` when it is on GitHub."""
    try:
        url = _git(root, "remote", "get-url", "origin").strip()
    except subprocess.CalledProcessError:
        return None
    match = _REMOTE.search(url)
    return match["repo"] if match else None


def render(summary: Summary, tracked: int, as_of: datetime) -> str:
    lines = [f"proposals: {tracked} (as of {as_of.isoformat()})", "", "count by status:"]
    lines += [f"  {status:<16} {count:>5}" for status, count in summary.counts.items()]
    lines += ["", "days per status:       n   median      p90"]
    for status, dist in summary.per_status.items():
        lines.append(
            f"  {status:<16} {dist.count:>5} {dist.median / DAY:>8.1f} {dist.p90 / DAY:>8.1f}"
        )
    return "\n".join(lines)


NOT_OFFLINE = "not available offline"
PULLS_HINT = (
    "pass --pulls FILE, e.g. `gh pr list -R OWNER/REPO --state merged --limit 5000 "
    "--json number,title,body,state,mergedAt`"
)
ISSUES_HINT = (
    "pass --issues FILE, e.g. `gh issue list -R OWNER/REPO --state all --limit 5000 "
    "--json number,title,body,state`"
)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def render_metrics(
    metrics: Metrics,
    pulls: Exported | None,
    issues: Exported | None,
    as_of: datetime,
) -> str:
    """KEP-1's metrics beyond the counts and times (docs/metrics.md), as text."""
    decided = metrics.accepted + metrics.rejected
    lines = [
        f"rejection rate: {_percent(metrics.rejected, decided)} "
        f"({metrics.rejected} rejected of {decided} decided: rejected / (accepted + rejected))",
        f"authors: {metrics.authors}",
        "",
        "by year:    proposals  first-time authors",
    ]
    years = sorted({*metrics.started_by_year, *metrics.first_time_by_year})
    for year in years:
        started = metrics.started_by_year.get(year, 0)
        lines.append(f"  {year:<8} {started:>9} {metrics.first_time_by_year.get(year, 0):>19}")
    if metrics.undated:
        lines.append(f"  (no start date known: {metrics.undated})")
    retired = ", ".join(f"{s} {n}" for s, n in metrics.retired.items()) or "none"
    lines += [
        "",
        f"orphaned: {len(metrics.orphaned)} (not in an end status; no activity for "
        f"{metrics.orphan_days} days: {len(metrics.idle)}; no approver named: "
        f"{len(metrics.unowned)})",
        f"retired: {sum(metrics.retired.values())} ({retired})",
        f"superseded: {len(metrics.superseded)}",
        "",
    ]
    if pulls is None:
        lines.append(f"implementation PRs merged per week: {NOT_OFFLINE} ({PULLS_HINT})")
    else:
        weeks = weekly((m for _, m in pulls.referencing if m is not None), as_of)
        mean = sum(weeks.values()) / len(weeks)
        lines.append(
            f"implementation PRs merged per week: {mean:.2f} over the last {len(weeks)} weeks "
            f"({len(pulls.referencing)} of {pulls.items} pull requests read reference a "
            "proposal)"
        )
        lines += [f"  week of {monday.isoformat()} {count:>5}" for monday, count in weeks.items()]
    if issues is None:
        lines.append(f"issues referencing a proposal: {NOT_OFFLINE} ({ISSUES_HINT})")
    else:
        states = [state for state, _ in issues.referencing]
        lines.append(
            f"issues referencing a proposal: {states.count('open')} open, "
            f"{len(states) - states.count('open')} closed ({issues.items} issues read)"
        )
    return "\n".join(lines)


def write_plot(
    summary: Summary,
    path: Path,
    metrics: Metrics | None = None,
    merged: Mapping[date, int] | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = 1 if metrics is None else 2 if not merged else 3
    figure, grid = pyplot.subplots(rows, 2, figsize=(11, 4.5 * rows), squeeze=False)
    left, right = grid[0]
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
    if metrics is not None:
        _plot_metrics(grid[1][0], grid[1][1], metrics)
    if metrics is not None and merged:
        weekly_axes, spare = grid[2]
        weekly_axes.bar(
            [m.strftime("%m-%d") for m in merged], list(merged.values()), color="#228833"
        )
        weekly_axes.set_title("implementation PRs merged per week (week of)")
        spare.axis("off")
    for axes in grid.flat:
        axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def _plot_metrics(years: Any, states: Any, metrics: Metrics) -> None:
    """The second row: proposals and first-time authors by year; orphaned, retired and
    superseded proposals, with the rejection rate."""
    spans = sorted({*metrics.started_by_year, *metrics.first_time_by_year})
    spots = list(range(len(spans)))
    started = [metrics.started_by_year.get(y, 0) for y in spans]
    first = [metrics.first_time_by_year.get(y, 0) for y in spans]
    years.bar([x - 0.2 for x in spots], started, width=0.4, label="proposals", color="#4477aa")
    years.bar(
        [x + 0.2 for x in spots], first, width=0.4, label="first-time authors", color="#ccbb44"
    )
    years.set_xticks(spots, [str(y) for y in spans])
    years.set_title(f"by year ({metrics.authors} authors in all)")
    years.legend()
    names = ["orphaned", "retired", "superseded"]
    counts = [len(metrics.orphaned), sum(metrics.retired.values()), len(metrics.superseded)]
    states.bar(names, counts, color=["#ee6677", "#bbbbbb", "#aa3377"])
    rate = metrics.rejection_rate
    shown = f"{100 * rate:.1f}%" if rate is not None else "n/a"
    states.set_title(f"orphaned, retired, superseded (rejection rate {shown})")


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
    changes, facts = read_history(root, config, commits)
    lines = timelines(changes, now)
    summary = summarize(lines.values())
    metrics = compute(config, facts.values(), now, orphan_days=args.orphan_days)
    repo = args.repo or _origin(root)
    paths = sorted(facts)
    try:
        pulls = read_export(Path(args.pulls), config, repo, paths) if args.pulls else None
        issues = read_export(Path(args.issues), config, repo, paths) if args.issues else None
    except (OSError, ValueError) as error:
        print(f"kepbot: cannot read the export: {error}", file=sys.stderr)
        return 2
    print(render(summary, sum(summary.counts.values()), now))
    print()
    print(render_metrics(metrics, pulls, issues, now))
    if args.plot:
        merged = None
        if pulls is not None:
            merged = weekly((m for _, m in pulls.referencing if m is not None), now)
        write_plot(summary, Path(args.plot), metrics, merged)
    return 0


def add_parser(sub: Any) -> None:
    """Register `report` on the CLI's subparsers."""
    report = sub.add_parser("report", help="KEP-1's process metrics from git history")
    report.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    report.add_argument("--plot", help="write the charts to this file (.png, .svg)")
    report.add_argument("--max-commits", type=int, default=MAX_COMMITS)
    report.add_argument("--config", help=f"configuration file (default: PATH/{CONFIG_PATH})")
    report.add_argument(
        "--orphan-days",
        type=int,
        default=ORPHAN_DAYS,
        help=f"days without activity that orphan a proposal not in an end status "
        f"(default: {ORPHAN_DAYS})",
    )
    report.add_argument("--pulls", help="JSON export of pull requests (gh pr list --json ...)")
    report.add_argument("--issues", help="JSON export of issues (gh issue list --json ...)")
    report.add_argument(
        "--repo", help="owner/name of the proposals' repository (default: the origin remote)"
    )
    report.set_defaults(run=cmd_report)
