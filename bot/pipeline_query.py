"""The pipeline page's views: filters and sorting from the query string, applied to a build.

A view is the page's address with query parameters (`?area=sig-node&stage=beta&sort=days`),
so every view is a URL to share, rendered on the server, the same for the HTML and the
JSON. The parameters are a visitor's text and are checked here, at the boundary, before
anything is done with them (docs/security.md, "The page"):

- only the names of `PARAMETERS`, each at most once, the query string at most
  `QUERY_LIMIT` characters;
- `status`: a status the process knows; `area`, `stage`, `milestone`: a value some
  proposal of the build has (so a filter never names something the page cannot show);
  `q`: at most `SEARCH_LIMIT` characters, no control characters, matched case-blind as
  text against titles, numbers and authors; `sort`: one of `SORTS`; `order`: `asc` or
  `desc`.

An empty value (what the page's form sends for "any") is no filter. What does not pass is
dropped, and `View.errors` says what and why, quoting at most
`ECHO_LIMIT` characters of it (the page escapes it like all other text). Nothing here
asks GitHub anything: a view is computed from the build the page already holds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "FILTERS",
    "PARAMETERS",
    "SORTS",
    "View",
    "apply",
    "href",
    "parse",
    "stage_rank",
]

FILTERS = ("status", "area", "stage", "milestone")
SORTS = ("number", "title", "area", "stage", "milestone", "days")
PARAMETERS = (*FILTERS, "q", "sort", "order")
QUERY_LIMIT = 2000
SEARCH_LIMIT = 100
ECHO_LIMIT = 60
STAGES = ("alpha", "beta", "stable", "deprecated", "disabled", "removed")


@dataclass
class View:
    """A checked view: the filters, search and order that apply, and what was refused."""

    filters: dict[str, str] = field(default_factory=dict)
    search: str = ""
    sort: str | None = None
    descending: bool = False
    errors: list[str] = field(default_factory=list)

    def params(self, **changes: str | None) -> dict[str, str]:
        """The view's parameters, with `changes` (None removes one)."""
        found: dict[str, str] = dict(self.filters)
        if self.search:
            found["q"] = self.search
        if self.sort:
            found["sort"] = self.sort
            if self.descending:
                found["order"] = "desc"
        for key, value in changes.items():
            if value is None:
                found.pop(key, None)
            else:
                found[key] = value
        if "sort" not in found:
            found.pop("order", None)
        return {key: found[key] for key in PARAMETERS if key in found}

    @property
    def narrowed(self) -> bool:
        return bool(self.filters or self.search)


def href(params: Mapping[str, str]) -> str:
    """A relative address of the page with `params` (`?` alone: the whole page)."""
    return "?" + urlencode(list(params.items()))


def _echo(value: str) -> str:
    shown = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in value)
    return repr(shown[:ECHO_LIMIT] + ("…" if len(shown) > ECHO_LIMIT else ""))


def _values(rows: Iterable[Mapping[str, Any]], key: str) -> set[str]:
    return {str(row[key]) for row in rows if row.get(key)}


def _choices(known: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(known[:limit])
    return shown + (f" and {len(known) - limit} more" if len(known) > limit else "")


def parse(pairs: Iterable[tuple[str, str]], raw_length: int, data: Mapping[str, Any]) -> View:
    """The view `pairs` (the query string, decoded) asks for, checked against `data` (a
    build of the page); `raw_length`: the query string's length as sent."""
    view = View()
    if raw_length > QUERY_LIMIT:
        view.errors.append(f"the address's query is longer than {QUERY_LIMIT} characters")
        return view
    rows = data["proposals"]
    known = {
        "status": list(data["process"]["statuses"]),
        "area": sorted(_values(rows, "area")),
        "stage": sorted(_values(rows, "stage"), key=stage_rank),
        "milestone": sorted(_values(rows, "latest_milestone"), reverse=True),
    }
    seen: set[str] = set()
    for key, value in pairs:
        if key not in PARAMETERS:
            names = ", ".join(PARAMETERS)
            view.errors.append(f"{_echo(key)} is not a parameter of this page (it takes {names})")
            continue
        if value == "" and key in PARAMETERS:
            continue  # what the form sends for "any": no filter
        if key in seen:
            view.errors.append(f"{key} is given more than once; one value is taken at most")
            continue
        seen.add(key)
        if key in FILTERS:
            if value in known[key]:
                view.filters[key] = value
            elif not known[key]:
                view.errors.append(f"{key} {_echo(value)}: no proposal here has a {key}")
            else:
                view.errors.append(
                    f"{key} {_echo(value)} is not one of this repository's: {_choices(known[key])}"
                )
        elif key == "q":
            _search(view, value)
        elif key == "sort":
            if value in SORTS:
                view.sort = value
            else:
                view.errors.append(f"sort {_echo(value)} is not one of {', '.join(SORTS)}")
        elif value in ("asc", "desc"):
            view.descending = value == "desc"
        else:
            view.errors.append(f"order {_echo(value)} is neither asc nor desc")
    return view


def _search(view: View, value: str) -> None:
    text = value.strip()
    if len(text) > SEARCH_LIMIT:
        view.errors.append(f"the search is longer than {SEARCH_LIMIT} characters")
    elif any(unicodedata.category(c).startswith("C") for c in text):
        view.errors.append(f"the search {_echo(text)} holds control characters")
    else:
        view.search = text


def stage_rank(stage: str | None) -> tuple[int, str]:
    """Stages in their life's order (alpha, beta, stable, ...), others after, by name."""
    value = stage or ""
    return (STAGES.index(value) if value in STAGES else len(STAGES), value)


def _matches(row: Mapping[str, Any], view: View, kind: str) -> bool:
    for key, value in view.filters.items():
        field_name = "latest_milestone" if key == "milestone" else key
        if row.get(field_name) != value or (key == "status" and not row["status_known"]):
            return False
    if view.search:
        number = str(row.get("number") or "")
        named = [f"{kind}-{number}", f"#{number}"] if number else []
        text = "\n".join([str(row.get("title") or ""), number, *named, *row.get("authors", ())])
        if view.search.casefold() not in text.casefold():
            return False
    return True


def _number_key(row: Mapping[str, Any]) -> tuple[int, int, str]:
    digits = str(row.get("number") or "")
    return (0, int(digits), "") if digits.isdigit() else (1, 0, digits)


def _key(sort: str) -> Any:
    if sort == "number":
        return _number_key
    if sort == "days":
        return lambda row: row["days_in_state"]
    if sort == "stage":
        return lambda row: stage_rank(row.get("stage"))
    field_name = "latest_milestone" if sort == "milestone" else sort
    return lambda row: str(row.get(field_name) or "").casefold()


def _milestone(value: str | None) -> tuple[int, ...]:
    digits = [int(part) for part in (value or "").lstrip("v").split(".") if part.isdigit()]
    return tuple(digits)


def apply(data: Mapping[str, Any], view: View) -> dict[str, Any]:
    """What the page shows in `view`: the proposals that match, in order; the counts, the
    roadmap and the proposals needing attention among them; and every value of each
    filter over the whole build, with how many proposals have it."""
    kind = str(data["process"]["kind"])
    rows = [row for row in data["proposals"] if _matches(row, view, kind)]
    if view.sort is not None:
        sort = view.sort
        empty = [r for r in rows if _key(sort)(r) in (None, "", (len(STAGES), ""))]
        if sort == "milestone":
            full = sorted(
                (r for r in rows if r.get("latest_milestone")),
                key=lambda r: (_milestone(r["latest_milestone"]), r["latest_milestone"]),
                reverse=view.descending,
            )
        else:
            full = sorted(
                (r for r in rows if r not in empty), key=_key(sort), reverse=view.descending
            )
        rows = full + empty  # what has no value comes last either way
    counts: dict[str, int] = {}
    roadmap: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        if row["status_known"]:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        milestone, stage = row.get("latest_milestone"), row.get("stage")
        if milestone and stage:
            roadmap.setdefault(milestone, {}).setdefault(stage, []).append(
                row["number"] or row["path"]
            )
    order = {name: index for index, name in enumerate(data["process"]["statuses"])}
    shown = {
        key: value
        for key, value in data.items()
        if key not in ("proposals", "counts", "roadmap", "attention")
    }
    return {
        **shown,
        "view": {**view.params(), "errors": list(view.errors)},
        "total": len(data["proposals"]),
        "shown": len(rows),
        "counts": {s: counts[s] for s in sorted(counts, key=lambda s: order.get(s, len(order)))},
        "facets": _facets(data),
        "proposals": rows,
        "attention": [row for row in rows if row["findings"]],
        "roadmap": {
            m: {s: roadmap[m][s] for s in sorted(roadmap[m], key=stage_rank)}
            for m in sorted(roadmap, key=lambda m: (_milestone(m), m), reverse=True)
        },
    }


def _facets(data: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    rows = data["proposals"]
    found: dict[str, dict[str, int]] = {"status": dict.fromkeys(data["process"]["statuses"], 0)}
    for row in rows:
        if row["status_known"]:
            found["status"][row["status"]] += 1
        for key, field_name in (("area", "area"), ("stage", "stage")):
            value = row.get(field_name)
            if value:
                found.setdefault(key, {})
                found[key][value] = found[key].get(value, 0) + 1
        milestone = row.get("latest_milestone")
        if milestone:
            found.setdefault("milestone", {})
            found["milestone"][milestone] = found["milestone"].get(milestone, 0) + 1
    return {
        "status": found["status"],
        "area": dict(sorted(found.get("area", {}).items())),
        "stage": dict(sorted(found.get("stage", {}).items(), key=lambda kv: stage_rank(kv[0]))),
        "milestone": dict(
            sorted(
                found.get("milestone", {}).items(),
                key=lambda kv: (_milestone(kv[0]), kv[0]),
                reverse=True,
            )
        ),
    }
