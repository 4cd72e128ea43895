"""Tracking issues kept equal to the merged metadata (docs/design.md B9).

Where the configuration has `tracking` (the `kep` preset: the issue numbered as the KEP),
each proposal's tracking issue carries what its metadata on the default branch says: the
milestone (created in the repository when missing), the stage label (the bot's alone: one,
under the stage prefix), the area label (added, never removed), and one status comment of
the bot's (marker `tracking-status`): status, stage, the latest milestone and the
milestone of each stage, links to the proposal and to its implementation pull requests
(from the implementations comment on the same issue). Nothing else on the issue is
touched: its text, other labels (the opt-in label included, which only `/kep track` and
`/kep untrack` write: bot.handlers.release_commands) and other comments stay as they are.

The status comment also holds, in its data block, the opt-in for a release the commands
recorded: while the issue carries the opt-in label, the milestone is the opted-in one;
after `untrack`, a latest milestone equal to the one opted out of is not put back.

When: after a proposal pull request merges (the proposals it changed that already carry
a number; one the merge numbers is synced on its next merged change, or when its tracking
issue is next updated), and on each reconcile pass for the tracking
issues updated since the last pass (one search per installation: a label or milestone
changed by hand is put back). Every write is conditional on what was read: labels are
added and removed one by one (never replaced), the milestone is written only when the
issue's differs, the comment only when its text changes, so a second sync writes nothing.

Cost: a sync reads the issue (unless a search listed it) and its comments; it writes only
what differs. benchmarks/README.md ("Tracking issues") has the request lists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gidgethub import BadRequest, routing, sansio

from bot.engine.config import Config, LabelSpec
from bot.engine.numbering import as_int, is_placeholder
from bot.engine.proposal import Proposal, document_path, is_proposal_path, load_proposal, name_parts
from bot.engine.references import by_number
from bot.engine.tracking_issue import Wanted, milestone_name, wanted
from bot.engine.tree import MemoryTree
from bot.github.comments import Thread, quote_user_text
from bot.github.labels import Managed
from bot.github.pull_request import pull_at
from bot.github.shapes import Comment, Issue, Pull, Repository
from bot.github.tracking import MARKER as IMPLEMENTATIONS
from bot.github.tracking import data_block, read_data, rows_of
from bot.github.urls import Path, web_root, web_url
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import pull_files_once

__all__ = [
    "STATUS_MARKER",
    "OptRecord",
    "Synced",
    "find_status",
    "load_at",
    "proposal_of_issue",
    "record_of",
    "router",
    "sync_issue",
    "sync_merged",
]

router = routing.Router()
log = logging.getLogger(__name__)

STATUS_MARKER = "tracking-status"
MAX_MERGED = 20  # tracking issues synced after one merge


@dataclass(frozen=True)
class OptRecord:
    """The opt-in the commands recorded in the status comment's data block."""

    opted_in: str | None = None  # the milestone opted in for
    by: str | None = None
    opted_out: str | None = None  # the milestone last opted out of

    def data(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.opted_in is not None:
            found["opt_in"] = {"milestone": self.opted_in, "by": self.by or ""}
        if self.opted_out is not None:
            found["opt_out"] = self.opted_out
        return found


def record_of(config: Config, body: str | None) -> OptRecord:
    """The opt-in a status comment holds (what is no milestone name is dropped)."""
    data = read_data(body)
    opt_in = data.get("opt_in")
    opted = by = None
    if isinstance(opt_in, dict):
        opted = milestone_name(config, opt_in.get("milestone"))
        who = opt_in.get("by")
        by = who if isinstance(who, str) and opted else None
    return OptRecord(opted, by, milestone_name(config, data.get("opt_out")))


@dataclass
class Synced:
    """What one sync of a tracking issue found and did."""

    issue: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    milestone: str | None = None  # the milestone written (None: none written)
    cleared: bool = False  # the milestone taken off
    commented: bool = False  # the status comment written
    thread: Thread = field(default_factory=list)  # the issue's comments, as read


def _bot_comment(thread: Thread, bot_login: str, marker: str) -> Comment | None:
    """The bot's first comment in `thread` carrying `marker` (None: none)."""
    tag = f"<!-- kepbot:{marker} -->"
    for comment in thread:
        user = comment.get("user")
        if (
            user is not None
            and user.get("login") == bot_login
            and tag in (comment.get("body") or "")
        ):
            return comment
    return None


def find_status(thread: Thread, bot_login: str) -> Comment | None:
    """The bot's status comment in `thread` (None: none yet)."""
    return _bot_comment(thread, bot_login, STATUS_MARKER)


def _implementations(thread: Thread, bot_login: str) -> list[str]:
    found = _bot_comment(thread, bot_login, IMPLEMENTATIONS)
    if found is None:
        return []
    return [f"{row.ref} ({row.state})" for row in rows_of(found.get("body"))]


def _milestones(want: Wanted) -> str:
    parts = [f"{stage} {quote_user_text(value, 40)}" for stage, value in want.per_stage]
    return " · ".join(parts) if parts else "none set"


def render(
    config: Config,
    repo: Repository,
    proposal: Proposal,
    want: Wanted,
    record: OptRecord,
    implementations: Sequence[str],
) -> str:
    """The status comment's text (the marker is put in front by `upsert_comment`)."""
    name = str(repo["full_name"])
    root = web_root(str(repo.get("html_url") or ""), name)
    branch = str(repo.get("default_branch") or "main")
    link = web_url(root, name, "blob", Path(branch), Path(proposal.path))
    title = quote_user_text(proposal.text_of("title") or proposal.name, 120)
    number = quote_user_text(proposal.number or "", 20)
    shown = quote_user_text(proposal.path, 200)

    def cell(value: str | None) -> str:
        return quote_user_text(value, 60) if value else "none"

    opted = "no"
    if record.opted_in is not None:
        who = f" by @{record.by}" if record.by and record.by.replace("-", "").isalnum() else ""
        opted = f"{record.opted_in}{who}"
    lines = [
        f"**{config.kind}-{number}: {title}** (kept equal to the merged metadata by kepbot)",
        "",
        "| | |",
        "|---|---|",
        f"| status | {cell(want.status)} |",
        f"| stage | {cell(want.stage)} |",
        f"| latest milestone | {cell(want.latest)} |",
        f"| milestone per stage | {_milestones(want)} |",
        f"| opted in for a release | {opted} |",
        f"| proposal | [{shown}]({link}) |" if link else f"| proposal | {shown} |",
        f"| implementation pull requests | {', '.join(implementations) or 'none yet'} |",
    ]
    if want.problems:
        lines += ["", *(f"- {quote_user_text(problem, 200)}" for problem in want.problems)]
    if record.data():
        lines += ["", data_block(record.data())]
    return "\n".join(lines)


async def _issue(ctx: HandlerContext, repo: str, number: int) -> Issue | None:
    try:
        return await ctx.github.issue(repo, number)
    except BadRequest as error:
        if error.status_code in (404, 410):
            return None
        raise


def _milestone_wanted(
    want: Wanted, record: OptRecord, labels: set[str], label: str | None
) -> str | None:
    """The opted-in milestone while the issue carries the opt-in label; else the
    metadata's, unless it is the one last opted out of (then the issue's stays)."""
    if record.opted_in is not None and label is not None and label.lower() in labels:
        return record.opted_in
    if want.milestone is not None and want.milestone == record.opted_out:
        return None
    return want.milestone


async def sync_issue(
    ctx: HandlerContext,
    repo: Repository,
    config: Config,
    proposal: Proposal,
    *,
    issue: Issue | None = None,
    thread: Thread | None = None,
    record: OptRecord | None = None,
    add: Mapping[str, LabelSpec] | None = None,
    remove: frozenset[str] = frozenset(),
) -> Synced | None:
    """Make the tracking issue of `proposal` carry what its metadata says; None when it has
    none (no such issue, or the number is a pull request's).

    `issue` and `thread`, the issue and its comments as just read, save reading them;
    `record`, an opt-in a command just decided, replaces the one the status comment holds;
    `add` and `remove` (names), labels a command adds or takes off in the same writes."""
    name = str(repo["full_name"])
    want = wanted(config, proposal, name)
    if want is None or config.tracking is None:
        return None
    if issue is None:
        issue = await _issue(ctx, name, want.issue)
    if issue is None or issue.get("pull_request"):
        return None
    if thread is None:
        thread = await ctx.github.thread(name, want.issue, _count(issue))
    status = find_status(thread, ctx.bot_login)
    record = record or record_of(config, status.get("body") if status else None)
    done = Synced(want.issue, thread=thread)
    current = [str(label.get("name")) for label in issue.get("labels") or []]
    present = {label.lower() for label in current}
    desired = {**want.labels, **(add or {})}
    for gone in remove:
        present.discard(gone.lower())
    for spec in (add or {}).values():
        present.add(spec.name.lower())
    managed = Managed(prefixes=want.owned, names=remove)
    added, removed = await ctx.github.sync_labels(name, want.issue, desired, managed, current)
    done.added, done.removed = added, removed
    opt_in = config.tracking.opt_in
    milestone = _milestone_wanted(want, record, present, opt_in.label if opt_in else None)
    now = milestone_title(issue)
    if milestone is not None and now != milestone:
        number = await ctx.github.ensure_milestone(name, milestone)
        await ctx.github.set_issue_milestone(name, want.issue, number)
        done.milestone = milestone
    text = render(config, repo, proposal, want, record, _implementations(thread, ctx.bot_login))
    _, _, done.commented = await ctx.github.upsert_comment(
        name, want.issue, STATUS_MARKER, text, ctx.bot_login, thread
    )
    return done


def milestone_title(issue: Issue) -> str | None:
    """The title of the milestone `issue` is in (None: none)."""
    milestone = issue.get("milestone")
    return milestone["title"] if milestone else None


def _count(item: Issue) -> int | None:
    count = item.get("comments")
    return count if isinstance(count, int) and not isinstance(count, bool) else None


async def load_at(
    ctx: HandlerContext,
    repo: str,
    config: Config,
    path: str,
    blobs: Mapping[str, str],
    *,
    document: bool = False,
) -> Proposal | None:
    """The proposal at `path` from the blobs `blobs` names (path → sha), read by sha; its
    document too with `document` (a tracking issue needs only the metadata)."""
    files = {}
    names = (path, document_path(config.proposals, path)) if document else (path,)
    for name in dict.fromkeys(names):
        sha = blobs.get(name)
        if sha is not None:
            data = await ctx.github.blob(repo, sha)
            files[name] = data.decode("utf-8", "replace")
    return load_proposal(config, MemoryTree(files), path) if path in files else None


def proposal_of_issue(config: Config, paths: Sequence[str], number: int) -> str | None:
    """The proposal whose tracking issue is issue `number`, found by its name (the
    `number` way); None when no proposal's name carries that number."""
    if config.tracking is None or config.tracking.issue != "number":
        return None
    layout = config.proposals
    return by_number(config, [p for p in paths if is_proposal_path(layout, p)], number)


async def sync_merged(
    ctx: HandlerContext, repo: Repository, number: int, pull: Pull
) -> list[Synced]:
    """The tracking issues of the proposals merged pull request `number` changed, synced
    with the metadata as merged (the pull request's head version of each file)."""
    name = str(repo["full_name"])
    result = await ctx.github.config(name, str(repo["default_branch"]), cache=ctx.config_cache)
    config = result.config
    if config is None or config.tracking is None:
        return []
    if str(pull["base"]["ref"]) != repo["default_branch"]:
        return []
    files = await pull_files_once(ctx, name, number, pull_at(pull))
    layout, done = config.proposals, []
    for path in files.changed:
        if path in files.removed or not is_proposal_path(layout, path):
            continue
        parts = name_parts(layout, path) or {}
        numbered = parts.get("number") if layout.number_in_name else None
        if layout.number_in_name and (is_placeholder(config, numbered) or as_int(numbered) is None):
            continue  # numbered by this merge: no tracking issue carries that number yet
        proposal = await load_at(ctx, name, config, path, files.shas)
        if proposal is None:
            continue
        synced = await sync_issue(ctx, repo, config, proposal)
        if synced is not None:
            done.append(synced)
        if len(done) >= MAX_MERGED:
            break
    return done


@router.register("pull_request", action="closed")
async def on_merged(event: sansio.Event, ctx: HandlerContext) -> None:
    pull: Pull = event.data["pull_request"]
    if not pull.get("merged"):
        return
    repo: Repository = event.data["repository"]
    number = int(event.data["number"])
    for synced in await sync_merged(ctx, repo, number, pull):
        log.info("%s#%s: tracking issue synced: %s", repo["full_name"], synced.issue, synced)
