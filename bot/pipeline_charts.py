"""The pipeline page's pictures, drawn on the server as inline SVG (no script, no request).

- `status_chart`: proposals by status, one bar per status the process knows, stacked by
  area (the `AREAS` largest areas of the view in colours of their own, the rest as one
  "other areas" segment); each segment links to the view of that status and area.
- `days_chart`: how long the proposals of the view have been in their current status,
  in `BUCKETS`, with those whose time is not known as a bar of their own.
- `bar_chart`: one bar per labelled count, in the same style (the metrics' first-time
  authors by year and implementation PRs merged per week).

Every count is text in the SVG (`<text class="count">`, and each segment's `<title>`), so
that a reader, a screen reader and a test can read it. Every value from the repository is
escaped; colours are fixed, never taken from outside text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["AREAS", "BUCKETS", "PALETTE", "bar_chart", "bucket_of", "days_chart", "status_chart"]

AREAS = 8
PALETTE = (
    "#0969da",
    "#1a7f37",
    "#bf8700",
    "#8250df",
    "#cf222e",
    "#bf3989",
    "#1b7c83",
    "#bc4c00",
)
OTHER = "#8c959f"
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 1 week", 0, 7),
    ("1-4 weeks", 7, 30),
    ("1-3 months", 30, 91),
    ("3-6 months", 91, 182),
    ("6-12 months", 182, 365),
    ("1-2 years", 365, 730),
    ("2 years +", 730, None),
)
NOT_KNOWN = "not known"
Link = Callable[[Mapping[str, str]], str]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _areas(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """The areas of the view, most proposals first, and how many each has."""
    totals: dict[str, int] = {}
    for row in rows:
        area = row.get("area") or ""
        totals[area] = totals.get(area, 0) + 1
    return sorted(totals, key=lambda a: (-totals[a], a)), totals


def status_chart(rows: Sequence[Mapping[str, Any]], statuses: Sequence[str], link: Link) -> str:
    """Counts by status stacked by area, for the rows of the view (known statuses only);
    `link(params)` is the address of the view with those filters."""
    known = [row for row in rows if row["status_known"]]
    ranked, totals = _areas(known)
    coloured = ranked[:AREAS]
    colour = {area: PALETTE[index] for index, area in enumerate(coloured)}
    cells: dict[str, dict[str, int]] = {status: {} for status in statuses}
    for row in known:
        area = row.get("area") or ""
        key = area if area in colour else "\0other"
        per = cells[row["status"]]
        per[key] = per.get(key, 0) + 1
    most = max((sum(per.values()) for per in cells.values()), default=0) or 1
    label_w, bar_w, bar_h, gap = 150, 420, 18, 8
    width = label_w + bar_w + 60
    legend_rows = (len(coloured) + (1 if len(ranked) > AREAS else 0) + 2) // 3
    height = len(statuses) * (bar_h + gap) + 16 + legend_rows * 20
    out = [
        f"<svg class='chart' id='chart-status' viewBox='0 0 {width} {height}' "
        f"width='{width}' role='img' aria-labelledby='chart-status-title' "
        "xmlns='http://www.w3.org/2000/svg'>",
        "<title id='chart-status-title'>Proposals by status, stacked by area</title>",
    ]
    for index, status in enumerate(statuses):
        y = index * (bar_h + gap)
        per = cells[status]
        total = sum(per.values())
        out.append(
            f"<g class='bar' data-status='{_e(status)}'>"
            f"<text class='axis' x='{label_w - 8}' y='{y + bar_h - 4}' text-anchor='end'>"
            f"{_e(status)}</text>"
        )
        x = float(label_w)
        for key in [*coloured, "\0other"]:
            count = per.get(key, 0)
            if not count:
                continue
            w = bar_w * count / most
            name = "other areas" if key == "\0other" else (key or "no area")
            fill = OTHER if key == "\0other" else colour[key]
            params = (
                {"status": status}
                if key == "\0other" or not key
                else {"status": status, "area": key}
            )
            out.append(
                f"<a href='{_e(link(params))}'><rect x='{x:.1f}' y='{y}' width='{w:.1f}' "
                f"height='{bar_h}' fill='{fill}' data-area='{_e(name)}' data-count='{count}'>"
                f"<title>{_e(status)}, {_e(name)}: {count}</title></rect></a>"
            )
            x += w
        out.append(
            f"<text class='count' x='{x + 6:.1f}' y='{y + bar_h - 4}' "
            f"data-status='{_e(status)}'>{total}</text></g>"
        )
    y0 = len(statuses) * (bar_h + gap) + 12
    legend = [(area, colour[area], totals[area]) for area in coloured]
    if len(ranked) > AREAS:
        rest = sum(totals[a] for a in ranked[AREAS:])
        legend.append((f"{len(ranked) - AREAS} other areas", OTHER, rest))
    for index, (name, fill, count) in enumerate(legend):
        x, y = 10 + (index % 3) * 210, y0 + (index // 3) * 20
        out.append(
            f"<g class='legend'><rect x='{x}' y='{y}' width='12' height='12' fill='{fill}'/>"
            f"<text class='axis' x='{x + 18}' y='{y + 11}'>{_e(name or 'no area')} "
            f"<tspan class='count'>{count}</tspan></text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def bucket_of(days: int | None) -> str:
    """The bucket a time in state of `days` falls in (`NOT_KNOWN` for None)."""
    if days is None:
        return NOT_KNOWN
    for name, low, high in BUCKETS:
        if days >= low and (high is None or days < high):
            return name
    return BUCKETS[-1][0]


def days_chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """The distribution of days in the current status over the rows of the view whose
    status the process knows (the others have no status to have been in)."""
    names = [name for name, _, _ in BUCKETS] + [NOT_KNOWN]
    counts = dict.fromkeys(names, 0)
    for row in rows:
        if row["status_known"]:
            counts[bucket_of(row["days_in_state"])] += 1
    most = max(counts.values()) or 1
    col_w, gap, chart_h, top = 70, 10, 140, 20
    width = len(names) * (col_w + gap) + gap
    height = top + chart_h + 40
    out = [
        f"<svg class='chart' id='chart-days' viewBox='0 0 {width} {height}' "
        f"width='{width}' role='img' aria-labelledby='chart-days-title' "
        "xmlns='http://www.w3.org/2000/svg'>",
        "<title id='chart-days-title'>Proposals by time in their current status</title>",
        f"<line class='baseline' x1='0' x2='{width}' y1='{top + chart_h}' y2='{top + chart_h}'/>",
    ]
    for index, name in enumerate(names):
        count = counts[name]
        h = chart_h * count / most
        x = gap + index * (col_w + gap)
        y = top + chart_h - h
        kind = "unknown" if name == NOT_KNOWN else "known"
        out.append(
            f"<g class='bar {kind}' data-bucket='{_e(name)}'>"
            f"<rect x='{x}' y='{y:.1f}' width='{col_w}' height='{h:.1f}'>"
            f"<title>{_e(name)}: {count}</title></rect>"
            f"<text class='count' x='{x + col_w / 2}' y='{y - 5:.1f}' text-anchor='middle'>"
            f"{count}</text>"
            f"<text class='axis small' x='{x + col_w / 2}' y='{top + chart_h + 16}' "
            f"text-anchor='middle'>{_e(name)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def bar_chart(ident: str, title: str, bars: Sequence[tuple[str, int]]) -> str:
    """One bar per (label, count), in the style of `days_chart`; `ident` names the chart
    (`chart-<ident>`), `title` is what it shows."""
    most = max((count for _, count in bars), default=0) or 1
    col_w, gap, chart_h, top = 44, 8, 120, 20
    width = max(len(bars), 1) * (col_w + gap) + gap
    height = top + chart_h + 40
    name = f"chart-{ident}"
    out = [
        f"<svg class='chart' id='{_e(name)}' viewBox='0 0 {width} {height}' "
        f"width='{width}' role='img' aria-labelledby='{_e(name)}-title' "
        "xmlns='http://www.w3.org/2000/svg'>",
        f"<title id='{_e(name)}-title'>{_e(title)}</title>",
        f"<line class='baseline' x1='0' x2='{width}' y1='{top + chart_h}' y2='{top + chart_h}'/>",
    ]
    for index, (label, count) in enumerate(bars):
        h = chart_h * count / most
        x = gap + index * (col_w + gap)
        y = top + chart_h - h
        out.append(
            f"<g class='bar known' data-label='{_e(label)}'>"
            f"<rect x='{x}' y='{y:.1f}' width='{col_w}' height='{h:.1f}'>"
            f"<title>{_e(label)}: {count}</title></rect>"
            f"<text class='count' x='{x + col_w / 2}' y='{y - 5:.1f}' text-anchor='middle'>"
            f"{count}</text>"
            f"<text class='axis small' x='{x + col_w / 2}' y='{top + chart_h + 16}' "
            f"text-anchor='middle'>{_e(label)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)
