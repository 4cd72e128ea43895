"""The pipeline page's rows: what it shows of each proposal, and the build they make up.

`proposal_row` is what the page keeps of a metadata file once read (with `needs_attention`,
the process's findings about the file itself); `shape` joins the rows with what the page
followed (time in state, tracking issues, implementation PRs) into the build every view
is cut from (`bot.pipeline_query`), with the links to GitHub each value has, built from
checked names (`bot.pipeline_links`). Pure: no request, no clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.config import Config
from bot.engine.findings import Finding
from bot.engine.numbering import as_int
from bot.engine.pipeline import Stint, by_recency, days_since
from bot.engine.proposal import Proposal, document_path
from bot.engine.renumber import tracking_issue
from bot.engine.tree import MemoryTree
from bot.engine.validate import Context, check_proposal
from bot.github.repo_comments import PER_PAGE
from bot.github.urls import web_url
from bot.pipeline_links import (
    LOOKUPS,
    SCAN_PAGES,
    Linked,
    author_url,
    file_url,
    issue_url,
)

__all__ = ["ATTENTION_RULES", "Followed", "needs_attention", "proposal_row", "shape", "tracking_of"]

# The rules about a metadata file on its own; the others need files the page does not read.
ATTENTION_RULES = ("parse.", "schema.", "status.", "number.", "naming.")


@dataclass(frozen=True)
class Followed:
    """The repository as the page follows it: its default branch at `head`, read with
    `config`, followed since `since`."""

    repo: str
    branch: str
    head: str
    config: Config
    since: datetime.datetime


def needs_attention(config: Config, proposal: Proposal) -> list[Finding]:
    """What the process's validation finds wrong with a merged proposal's metadata file on
    its own: the rules about that file (`ATTENTION_RULES`), not those that need the rest of
    the repository (its document, references, reviews), which the page does not read."""
    tree = MemoryTree({proposal.path: proposal.text})
    found = check_proposal(proposal, Context(config, tree, [proposal]))
    return [f for f in found if f.path == proposal.path and f.rule.startswith(ATTENTION_RULES)]


def _meta(proposal: Proposal, key: str) -> str | None:
    value = proposal.metadata.get(key) if proposal.metadata is not None else None
    return str(value).strip() or None if value is not None else None


def tracking_of(config: Config, proposal: Proposal, repo: str) -> int | None:
    """The issue the proposal's metadata names as its tracking issue (or its number, when
    the process numbers proposals by their issues)."""
    tracking = tracking_issue(config, proposal, repo)
    if tracking is None and config.numbering.source == "issue":
        tracking = as_int(proposal.number)
    return tracking


def proposal_row(config: Config, proposal: Proposal) -> dict[str, Any]:
    """What the page keeps of a proposal as its metadata file reads."""
    path = proposal.path
    document = document_path(config.proposals, path)
    status = proposal.status
    return {
        "path": path,
        "number": proposal.number,
        "title": proposal.title,
        "status": status,
        "area": proposal.area,
        "authors": proposal.list_of("authors"),
        "stage": _meta(proposal, "stage"),
        "latest_milestone": _meta(proposal, "latest-milestone"),
        "document": document if document != path else None,
        "status_known": status is not None and config.status(status) is not None,
        "findings": [
            {"rule": f.rule, "severity": f.severity, "line": f.line, "message": f.message}
            for f in needs_attention(config, proposal)
        ],
    }


def shape(
    followed: Followed,
    rows: Mapping[str, dict[str, Any]],
    trackings: Mapping[str, int | None],
    stints: Mapping[str, Stint],
    linked: Linked,
    now: datetime.datetime,
    root: str,
    *,
    time_in_state: dict[str, Any],
    complete: bool,
) -> dict[str, Any]:
    """The build: every proposal with what the page shows of it, the process's statuses
    and labels, and where each value comes from. `root`: the web root links are on."""
    config = followed.config
    repo, branch, head = followed.repo, followed.branch, followed.head
    order = {name: index for index, name in enumerate(config.status_names)}
    shaped: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for path, facts in rows.items():
        status = facts["status"] or "unknown"
        stint = stints.get(path) or Stint(facts["status"])
        if facts["status_known"]:
            counts[status] = counts.get(status, 0) + 1
        pulls = linked.links.get(path)
        tracking = trackings.get(path)
        if tracking is None and config.numbering.source == "pr":
            tracking = as_int(facts["number"])  # numbered by the pull request that added it
        if tracking is None:
            tracking = linked.holders.get(path)
        document = facts["document"]
        shaped.append(
            {
                **facts,
                "status": status,
                "since": stint.since.isoformat(timespec="seconds") if stint.since else None,
                "days_in_state": days_since(stint.since, now),
                "since_unknown": stint.note if stint.since is None else None,
                "implementations": pulls,
                "implementations_unknown": linked.kind if pulls is None else None,
                "tracking": tracking,
                "links": {
                    "metadata": file_url(root, repo, branch, path),
                    "document": file_url(root, repo, branch, document) if document else None,
                    "tracking": issue_url(root, repo, tracking) if tracking is not None else None,
                    "authors": [author_url(root, author) for author in facts["authors"]],
                },
                "findings": [
                    {**finding, "url": file_url(root, repo, head, path, finding["line"])}
                    for finding in facts["findings"]
                ],
            }
        )
    shaped.sort(
        key=lambda r: (
            order.get(r["status"], len(order)),
            r["area"] or "",
            by_recency(r["number"], r["path"]),
        )
    )
    labels = config.labels
    return {
        "repository": repo,
        "default_branch": branch,
        "head": head,
        "generated_at": now.isoformat(timespec="seconds"),
        "links": {
            "repository": web_url(root, repo),
            "head": web_url(root, repo, "commit", head),
        },
        "process": {
            "kind": config.kind,
            "statuses": config.status_names,
            "terminal": [s.name for s in config.statuses if s.terminal],
            "labels": {
                "status_prefix": labels.status_prefix,
                "status_color": labels.status_color.lower(),
                "area_prefix": labels.area_prefix,
                "area_strip": labels.area_strip,
                "area_color": labels.area_color.lower(),
            },
        },
        "time_in_state": time_in_state,
        "implementations": {
            "source": "tracking comment",
            "complete": complete,
            "unknown": linked.kind,
            "why": linked.unknown,
            "comments_read": SCAN_PAGES * PER_PAGE,
            "lookups_per_view": LOOKUPS,
        },
        "counts": {s: counts[s] for s in sorted(counts, key=lambda s: order[s])},
        "proposals": shaped,
    }
