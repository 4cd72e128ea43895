"""The pipeline page's HTML: a view of a build (`bot.pipeline_query.apply`) as one page.

Self-contained: one stylesheet the bot serves (`pipeline.css`, `GET /pipeline.css`), one
small `<style>` with the label colours of the repository's configuration (allowed by its
hash in the Content-Security-Policy), the charts as inline SVG, no script and no address
on another host but the links to GitHub. Every value from the repository or the visitor
is escaped, in text and in attributes; links to GitHub were built from checked names
(`bot.pipeline_links`), and the page's own links are its query parameters, encoded.

Filters are links and one form (GET), so every view works without JavaScript; a column
header sorts by its column. What is not known says so and why, in footnotes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from bot.pipeline_charts import bar_chart, days_chart, status_chart
from bot.pipeline_links import FAILED, NOT_LOOKED_UP
from bot.pipeline_query import FILTERS, View, apply, href

__all__ = ["CSP_BASE", "STYLESHEET", "render_html", "style_hash"]

STYLESHEET = resources.files("bot").joinpath("pipeline.css").read_text(encoding="utf-8")
CSP_BASE = (
    "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
STYLESHEET_HREF = "../../pipeline.css"  # /pipeline.css from /pipeline/{owner}/{repo}
COLUMNS = (
    ("number", "Number"),
    ("title", "Title"),
    ("area", "Area"),
    ("stage", "Stage"),
    ("milestone", "Milestone"),
    (None, "Authors"),
    ("days", "Days in state"),
    (None, "Implementation PRs"),
)
STAGE_CLASSES = {"alpha", "beta", "stable", "deprecated", "disabled", "removed"}
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _a(url: str | None, text: str, cls: str = "") -> str:
    """`text` (already escaped) as a link to `url`, or as it is without one."""
    klass = f" class='{cls}'" if cls else ""
    if not url:
        return f"<span{klass}>{text}</span>" if cls else text
    return f"<a href='{_e(url)}'{klass}>{text}</a>"


def style_hash(page: str) -> str:
    """The CSP source (`sha256-...`) of the page's one `<style>` element."""
    found = _STYLE.search(page)
    digest = hashlib.sha256((found.group(1) if found else "").encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def _ink(colour: str) -> str:
    """Black or white text on a label of `colour` (6 hex digits), as GitHub picks it."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return "#1f2328" if (0.299 * r + 0.587 * g + 0.114 * b) / 255 > 0.6 else "#ffffff"


def _label_style(labels: Mapping[str, Any]) -> str:
    status, area = labels["status_color"], labels["area_color"]
    return (
        f".label.status{{background:#{status};color:{_ink(status)}}}"
        f".label.area{{background:#{area};color:{_ink(area)}}}"
    )


class Page:
    """One rendering: the view, the footnotes gathered on the way."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        params = {k: v for k, v in data["view"].items() if k != "errors"}
        self.view = View(
            filters={k: params[k] for k in FILTERS if k in params},
            search=params.get("q", ""),
            sort=params.get("sort"),
            descending=params.get("order") == "desc",
        )
        self.notes: dict[str, int] = {}
        labels = data["process"]["labels"]
        self.status_prefix = labels["status_prefix"]
        self.area_prefix, self.area_strip = labels["area_prefix"], labels["area_strip"]

    def link(self, **changes: str | None) -> str:
        return href(self.view.params(**changes))

    def note(self, text: str) -> str:
        """A footnote mark for `text` (each text numbered once)."""
        number = self.notes.setdefault(text, len(self.notes) + 1)
        return f"<a class='note' href='#note-{number}'><sup>{number}</sup></a>"

    def status_label(self, status: str) -> str:
        return f"<span class='label status'>{_e(self.status_prefix + status)}</span>"

    def area_label(self, area: str | None) -> str:
        if not area:
            return "<span class='none'>none</span>"
        shown = area.removeprefix(self.area_strip)
        name = f"{self.area_prefix}{shown}" if self.area_prefix else area
        return _a(self.link(area=area), _e(name), "label area")

    def stage_label(self, stage: str | None) -> str:
        if not stage:
            return "<span class='none'>none</span>"
        kind = stage if stage in STAGE_CLASSES else "other"
        return _a(self.link(stage=stage), _e(stage), f"label stage stage-{kind}")


def render_html(data: Mapping[str, Any]) -> str:
    """The page of `data`: a view (`apply`), or a build (shown whole)."""
    if "view" not in data:
        data = apply(data, View())
    page = Page(data)
    repo = data["repository"]
    labels = data["process"]["labels"]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta name='referrer' content='no-referrer'>",
        f"<title>{_e(data['process']['kind'])} pipeline: {_e(repo)}</title>",
        f"<link rel='stylesheet' href='{STYLESHEET_HREF}'>",
        f"<style>{_label_style(labels)}</style></head><body>",
        _header(page),
        "<main>",
    ]
    if data["view"]["errors"]:
        items = "".join(f"<li>{_e(error)}</li>" for error in data["view"]["errors"])
        out.append(
            "<div class='flash' role='alert' id='errors'><p>Part of this address could not "
            f"be used, and was left out:</p><ul>{items}</ul></div>"
        )
    out += [_filters(page), _summary(page), _charts(page), _attention(page)]
    out += _sections(page)
    out += [_roadmap(page), _metrics(page), _notes(page), "</main>", _footer(page)]
    out.append("</body></html>")
    return "\n".join(part for part in out if part)


def _when(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _header(page: Page) -> str:
    data = page.data
    repo, branch, head = data["repository"], data["default_branch"], data["head"]
    name = repo.rsplit("/", 1)[-1]
    json_href = f"{name}.json{page.link() if page.view.params() else ''}"
    return (
        "<header class='top'><div class='wrap'>"
        f"<p class='kicker'>{_e(data['process']['kind'])} pipeline</p>"
        f"<h1>{_a(data['links']['repository'], _e(repo))}</h1>"
        f"<p class='meta'>Default branch <code>{_e(branch)}</code> at "
        f"{_a(data['links']['head'], f'<code>{_e(head[:7])}</code>')} · data of "
        f"<time datetime='{_e(data['generated_at'])}'>{_e(_when(data['generated_at']))}"
        f"</time> · <a href='{_e(json_href)}'>JSON</a></p></div></header>"
    )


def _select(page: Page, key: str, label: str, values: Mapping[str, int]) -> str:
    chosen = page.view.filters.get(key)
    options = [f"<option value=''>any {label.lower()}</option>"]
    for value, count in values.items():
        selected = " selected" if value == chosen else ""
        options.append(f"<option value='{_e(value)}'{selected}>{_e(value)} ({count})</option>")
    return f"<label><span>{label}</span><select name='{key}'>{''.join(options)}</select></label>"


def _filters(page: Page) -> str:
    facets = page.data["facets"]
    names = (("status", "Status"), ("area", "Area"), ("stage", "Stage"), ("milestone", "Milestone"))
    fields = [_select(page, key, label, facets[key]) for key, label in names if facets[key]]
    hidden = ""
    if page.view.sort:
        hidden += f"<input type='hidden' name='sort' value='{_e(page.view.sort)}'>"
        if page.view.descending:
            hidden += "<input type='hidden' name='order' value='desc'>"
    search = (
        "<label class='search'><span>Search</span><input type='search' name='q' "
        f"maxlength='100' value='{_e(page.view.search)}' placeholder='title, number, author'>"
        "</label>"
    )
    chips = []
    for key in FILTERS:
        if key in page.view.filters:
            value = page.view.filters[key]
            chips.append(
                f"<a class='chip' href='{_e(page.link(**{key: None}))}' "
                f"title='remove this filter'>{key}: {_e(value)} \u00d7</a>"
            )
    if page.view.search:
        chips.append(
            f"<a class='chip' href='{_e(page.link(q=None))}' title='remove the search'>"
            f"“{_e(page.view.search)}” \u00d7</a>"
        )
    clear = "<a class='clear' href='?'>Clear all</a>" if page.view.narrowed else ""
    active = f"<p class='chips' id='active'>{''.join(chips)}{clear}</p>" if chips else ""
    return (
        "<form class='filters' method='get' role='search'>"
        f"{''.join(fields)}{search}{hidden}<button type='submit'>Apply</button></form>{active}"
    )


def _summary(page: Page) -> str:
    data = page.data
    shown, total = data["shown"], data["total"]
    unknown = sum(1 for row in data["proposals"] if not row["status_known"])
    text = f"Showing <strong id='shown'>{shown}</strong> of {total} proposals"
    if unknown:
        text += (
            f"; {unknown} with a status the process does not know "
            "<a href='#attention'>need attention</a> and have no section of their own"
        )
    return f"<p class='summary'>{text}.</p>"


def _charts(page: Page) -> str:
    data = page.data
    rows = data["proposals"]
    statuses = data["process"]["statuses"]
    if page.view.filters.get("status"):
        statuses = [page.view.filters["status"]]
    by_status = status_chart(rows, statuses, lambda params: page.link(**dict(params)))
    return (
        "<section class='charts'>"
        f"<figure><figcaption>By status, stacked by area</figcaption>{by_status}</figure>"
        f"<figure><figcaption>Time in the current status</figcaption>{days_chart(rows)}"
        "</figure></section>"
    )


OPEN_ATTENTION = 10  # the "needs attention" list starts folded when it is longer


def _attention(page: Page) -> str:
    def weight(row: Mapping[str, Any]) -> tuple[int, int]:
        errors = any(f["severity"] == "error" for f in row["findings"])
        return (row["status_known"], not errors)

    rows = sorted(page.data["attention"], key=weight)
    if not rows:
        return ""
    folded = "" if len(rows) <= OPEN_ATTENTION else " (select to show)"
    out = [
        f"<section id='attention'><details class='attention'"
        f"{' open' if not folded else ''}><summary><h2>Needs attention "
        f"<span class='counter'>{len(rows)}</span><span class='fold'>{folded}</span></h2>"
        "</summary><p class='hint'>Metadata on the default branch that the process's "
        "validation does not accept; each finding links to its line. A status the process "
        "does not know has no section of its own.</p>",
        "<div class='table-wrap'><table class='findings'><thead><tr>"
        "<th scope='col' class='w-proposal'>Proposal</th><th scope='col'>Status</th>"
        "<th scope='col'>Finding</th></tr></thead><tbody>",
    ]
    for row in rows:
        status = row["status"]
        shown = (
            page.status_label(status)
            if row["status_known"]
            else (f"<span class='label invalid'>{_e(status)}</span>")
        )
        findings = "".join(
            f"<li><span class='severity {_e(f['severity'])}'>{_e(f['severity'])}</span> "
            f"{_e(f['message'])} {_a(f['url'], _e(_line_name(row['path'], f['line'])), 'line')}"
            "</li>"
            for f in row["findings"]
        )
        out.append(
            f"<tr><td data-label='Proposal'>{_proposal_cell(page, row)}</td>"
            f"<td data-label='Status'>{shown}</td>"
            f"<td data-label='Finding'><ul class='plain'>{findings}</ul></td></tr>"
        )
    out.append("</tbody></table></div></details></section>")
    return "".join(out)


def _line_name(path: str, line: int) -> str:
    return f"{path.rsplit('/', 1)[-1]}:{line}"


def _proposal_cell(page: Page, row: Mapping[str, Any]) -> str:
    number = row["number"] or "no number"
    links = row["links"]
    title = _a(links["document"] or links["metadata"], _e(row["title"] or row["path"]))
    return f"{_a(links['tracking'], _e(number), 'number')} {title}"


def _sections(page: Page) -> list[str]:
    data = page.data
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in data["proposals"]:
        if row["status_known"]:
            groups.setdefault(row["status"], []).append(row)
    out = []
    for status in data["process"]["statuses"]:
        rows = groups.get(status)
        if not rows:
            continue
        out.append(
            f"<section class='status-group' id='status-{_e(status)}'>"
            f"<h2 class='status'>{page.status_label(status)} "
            f"<span class='counter'>{len(rows)}</span></h2>"
            f"<div class='table-wrap'><table class='proposals'><thead><tr>{_heads(page)}</tr>"
            "</thead><tbody>"
        )
        out += [_row(page, row) for row in rows]
        out.append("</tbody></table></div></section>")
    if not any(groups.values()):
        out.append("<p class='empty'>No proposal matches this view.</p>")
    return out


def _heads(page: Page) -> str:
    cells = []
    for key, label in COLUMNS:
        if key is None:
            cells.append(f"<th scope='col'>{label}</th>")
            continue
        current = page.view.sort == key
        descending = current and page.view.descending
        target = page.link(sort=key, order="desc" if current and not descending else None)
        sort = mark = ""
        if current:
            sort = f" aria-sort='{'descending' if descending else 'ascending'}'"
            mark = f" <span class='sort'>{'▼' if descending else '▲'}</span>"
        cells.append(f"<th scope='col'{sort}><a href='{_e(target)}'>{label}{mark}</a></th>")
    return "".join(cells)


def _row(page: Page, row: Mapping[str, Any]) -> str:
    links = row["links"]
    number = row["number"] or "no number"
    warn = ""
    if row["findings"]:
        count = len(row["findings"])
        warn = f" <a class='warn' href='#attention' title='{count} finding(s)'>⚠ {count}</a>"
    files = _a(links["metadata"], "metadata", "file")
    if links["document"]:
        files += " · " + _a(links["document"], "document", "file")
    title = _a(links["document"] or links["metadata"], _e(row["title"] or row["path"]), "title")
    milestone = row["latest_milestone"]
    authors = (
        ", ".join(
            _a(url, _e(author))
            for author, url in zip(row["authors"], links["authors"], strict=False)
        )
        or "<span class='none'>none listed</span>"
    )
    return (
        f"<tr><td data-label='Number' class='num'>"
        f"{_a(links['tracking'], _e(number), 'number')}</td>"
        f"<td data-label='Title'>{title}{warn}<div class='files'>{files}</div></td>"
        f"<td data-label='Area'>{page.area_label(row['area'])}</td>"
        f"<td data-label='Stage'>{page.stage_label(row['stage'])}</td>"
        f"<td data-label='Milestone'>"
        f"{_a(page.link(milestone=milestone), _e(milestone)) if milestone else '—'}</td>"
        f"<td data-label='Authors' class='authors'>{authors}</td>"
        f"<td data-label='Days in state' class='days'>{_days(page, row)}</td>"
        f"<td data-label='Implementation PRs' class='pulls'>{_pulls(page, row)}</td></tr>"
    )


def _days(page: Page, row: Mapping[str, Any]) -> str:
    days = row["days_in_state"]
    if days is not None:
        return f"<span title='since {_e(row['since'])}'>{days}</span>"
    why = row["since_unknown"] or "not known: the status could not be dated"
    return f"<span class='unknown'>not known</span>{page.note(why)}"


def _pulls(page: Page, row: Mapping[str, Any]) -> str:
    pulls: Sequence[Mapping[str, Any]] | None = row["implementations"]
    if pulls is None:
        kind = row["implementations_unknown"] or NOT_LOOKED_UP
        why = page.data["implementations"]["why"] or "not known"
        cls = "failed" if kind == FAILED else "unknown"
        return f"<span class='{cls}'>{_e(kind)}</span>{page.note(f'{kind}: {why}')}"
    if not pulls:
        return "<span class='none'>no implementation PRs linked</span>"
    items = (
        f"<li class='{_e(p['state'])}'>{_a(p['url'], _e(p['repo']) + '#' + _e(p['number']))} "
        f"{_e(p['title'])} <b>{_e(p['state'])}</b></li>"
        for p in pulls
    )
    return f"<ul class='plain'>{''.join(items)}</ul>"


def _roadmap(page: Page) -> str:
    roadmap = page.data["roadmap"]
    if not roadmap:
        return ""
    out = ["<section id='roadmap'><h2>Roadmap</h2><div class='roadmap'>"]
    for milestone, stages in roadmap.items():
        items = "".join(
            f"<li>{page.stage_label(stage)} "
            f"<a href='{_e(page.link(milestone=milestone, stage=stage))}'>"
            f"{len(numbers)} proposal{'s' if len(numbers) != 1 else ''}</a></li>"
            for stage, numbers in stages.items()
        )
        out.append(
            f"<div class='milestone'><h3>{_e(milestone)}</h3><ul class='plain'>{items}</ul></div>"
        )
    out.append("</div></section>")
    return "".join(out)


def _metrics(page: Page) -> str:
    """KEP-1's metrics over the whole build (not the view), with their two charts."""
    found = page.data.get("metrics")
    if not found:
        return ""
    rejection, orphaned = found["rejection"], found["orphaned"]
    rate = rejection["rate"]
    rated = f"{100 * rate:.1f}%" if rate is not None else "none decided yet"
    retired = ", ".join(f"{_e(s)} {n}" for s, n in found["retired"]["by_status"].items())
    weekly = found["merged_per_week"]
    merged = f"{weekly['mean']:.2f} a week over the last {len(weekly['weeks'])} weeks"
    if weekly["undated"]:
        merged += page.note(
            f"{weekly['undated']} merged implementation PR(s) were recorded before merge "
            "times were, and are left out of the weeks"
        )
    if not weekly["complete"]:
        merged += page.note(
            "Not every tracking comment of the repository has been read yet: the weeks "
            "may miss merges"
        )
    items = [
        ("Proposals tracked", str(found["tracked"])),
        (
            "Rejection rate",
            f"{rated} ({rejection['rejected']} rejected of {rejection['decided']} decided)",
        ),
        ("Authors", str(found["authors"])),
        (
            "Orphaned",
            f"{orphaned['count']} ({orphaned['idle']} with no activity for "
            f"{orphaned['days']} days, {orphaned['no_approver']} with no approver named)",
        ),
        ("Retired", f"{found['retired']['count']}" + (f" ({retired})" if retired else "")),
        ("Superseded", str(found["superseded"]["count"])),
        ("Implementation PRs merged", merged),
        (
            "Issues referencing a proposal",
            f"{found['issues']['count']} tracking issues"
            + page.note("Whether each is open is not read: a request per issue"),
        ),
    ]
    listed = "".join(f"<dt>{_e(name)}</dt><dd>{value}</dd>" for name, value in items)
    years = [(str(y["year"]), y["first_time_authors"]) for y in found["by_year"]]
    weeks = [(w["week"][5:], w["count"]) for w in weekly["weeks"]]
    return (
        "<section id='metrics'><h2>Process metrics</h2>"
        f"<p>KEP-1's metrics over every proposal of the default branch, as defined in "
        f"kepbot's {_e(found['definitions'])}.</p><dl class='metrics'>{listed}</dl>"
        "<div class='charts'>"
        f"<figure><figcaption>First-time authors by year</figcaption>"
        f"{bar_chart('first-authors', 'First-time authors by year', years)}</figure>"
        f"<figure><figcaption>Implementation PRs merged per week (week of)</figcaption>"
        f"{bar_chart('merged', 'Implementation PRs merged per week', weeks)}</figure>"
        "</div></section>"
    )


def _notes(page: Page) -> str:
    if not page.notes:
        return ""
    items = "".join(
        f"<li id='note-{number}'>{_e(text)}</li>" for text, number in page.notes.items()
    )
    return f"<section id='notes'><h2>Notes</h2><ol class='notes'>{items}</ol></section>"


def _footer(page: Page) -> str:
    data = page.data
    followed = data["time_in_state"]["followed_since"]
    return (
        "<footer class='wrap'><p>Days in state count from when the status was last changed "
        f"on the default branch, as the page has followed it since {_e(_when(followed))}. "
        "Implementation PRs come from the proposals' tracking comments. "
        "Served by kepbot; nothing on this page is loaded from anywhere else.</p></footer>"
    )
