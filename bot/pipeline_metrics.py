"""The pipeline page's metrics: KEP-1's list (docs/metrics.md), from what a build holds.

Everything comes from the build, no request of its own (docs/design.md C5): the metadata
the page read (`bot.engine.metrics.Facts`, one per proposal), the stints it keeps (the
last status change where known stands for the file's last change), and the tracking
comments (`bot.pipeline_links.Linked`: the merge time the links handlers record on each
merged implementation PR's row, and the issues, not PRs, holding those comments). What the page
cannot know is said, never guessed: a merged row written before merge times were recorded
is counted as merged at an unknown time, and whether an issue is open is not read.
Pure: no request, no clock.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from bot.engine.config import Config
from bot.engine.metrics import Facts, compute, weekly
from bot.engine.pipeline import Stint
from bot.pipeline_links import Linked

__all__ = ["page_metrics"]

DEFINITIONS = "docs/metrics.md"


def _moment(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def page_metrics(
    config: Config,
    facts: Mapping[str, Facts],
    stints: Mapping[str, Stint],
    linked: Linked,
    trackings: Mapping[str, int | None],
    now: datetime.datetime,
    *,
    complete: bool,
) -> dict[str, Any]:
    """KEP-1's metrics over the proposals of the build, as JSON-ready data; `trackings`:
    the issue each proposal's metadata names; `complete`: whether every tracking comment
    of the repository has been read (`LinkIndex.complete`)."""
    dated = []
    for path, known in sorted(facts.items()):
        stint = stints.get(path)
        since = stint.since if stint is not None else None
        dated.append(dataclasses.replace(known, last_change=since))
    metrics = compute(config, dated, now)
    merges = [_moment(when) for moments in linked.merged.values() for when in moments]
    weeks = weekly((m for m in merges if m is not None), now)
    issues = {n for n in trackings.values() if n is not None} | set(linked.issues.values())
    decided = metrics.accepted + metrics.rejected
    years = sorted({*metrics.started_by_year, *metrics.first_time_by_year})
    return {
        "definitions": DEFINITIONS,
        "tracked": metrics.tracked,
        "rejection": {
            "rejected": metrics.rejected,
            "decided": decided,
            "rate": round(metrics.rejected / decided, 4) if decided else None,
        },
        "authors": metrics.authors,
        "by_year": [
            {
                "year": year,
                "proposals": metrics.started_by_year.get(year, 0),
                "first_time_authors": metrics.first_time_by_year.get(year, 0),
            }
            for year in years
        ],
        "undated": metrics.undated,
        "orphaned": {
            "count": len(metrics.orphaned),
            "idle": len(metrics.idle),
            "no_approver": len(metrics.unowned),
            "days": metrics.orphan_days,
            "paths": metrics.orphaned,
        },
        "retired": {"count": sum(metrics.retired.values()), "by_status": metrics.retired},
        "superseded": {"count": len(metrics.superseded), "paths": metrics.superseded},
        "merged_per_week": {
            "source": "merge times on the tracking comments' rows",
            "weeks": [{"week": monday.isoformat(), "count": n} for monday, n in weeks.items()],
            "mean": round(sum(weeks.values()) / len(weeks), 2),
            "merged": len(merges),
            "undated": sum(1 for m in merges if m is None),
            "complete": complete and linked.kind is None,
        },
        "issues": {
            "count": len(issues),
            "source": "tracking issues: named by the metadata, or holding a tracking comment",
            "open": None,  # not read: one request per issue, past the page's budget
        },
    }
