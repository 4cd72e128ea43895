"""KEP-1's metrics of a process, from its proposals' metadata and history (docs/metrics.md).

KEP-1 ("Important Metrics") lists what signals whether the process works: proposals
tracked, time in each state (`bot.engine.pipeline`), the rejection rate, implementation
PRs merged per week, issues referencing a proposal, authors and first-time authors, and
the orphaned, retired and superseded proposals. Each is defined in docs/metrics.md and
computed here from `Facts`, what one proposal's metadata says plus, where the caller read
the history, when its file first appeared and last changed.

Pure: no I/O, no clock (the caller passes `now`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.engine.config import Config
from bot.engine.proposal import Proposal
from bot.engine.references import by_number, find_references, match_path
from bot.engine.roles import login_of

__all__ = [
    "ORPHAN_DAYS",
    "WEEKS",
    "Facts",
    "Metrics",
    "compute",
    "facts_of",
    "outcomes",
    "parse_day",
    "referenced",
    "weekly",
]

ORPHAN_DAYS = 365  # about three Kubernetes releases (one every four months)
WEEKS = 12  # the weeks `weekly` counts, the current one last
ACCEPT_VERBS = frozenset({"approve"})
REJECT_VERBS = frozenset({"reject", "decline"})
_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Facts:
    """What the metrics read of one proposal: its metadata as last read, and (None where
    not known) when its file first appeared and last changed on the default branch."""

    path: str
    status: str | None
    authors: tuple[str, ...] = ()  # logins, lower-case, without `@`
    approvers: tuple[str, ...] | None = None  # as listed, TBD left out; None: no such field
    superseded_by: tuple[str, ...] = ()
    created: date | None = None
    updated: date | None = None
    first_seen: datetime | None = None
    last_change: datetime | None = None

    @property
    def started(self) -> date | None:
        """When the proposal began: its `created` date, else its file's first commit."""
        if self.created is not None:
            return self.created
        return self.first_seen.date() if self.first_seen is not None else None

    @property
    def last_activity(self) -> datetime | None:
        """The latest of `last_change` and the metadata's `updated` and `created` dates."""
        days = [d for d in (self.updated, self.created) if d is not None]
        moments = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]
        if self.last_change is not None:
            moments.append(self.last_change)
        return max(moments) if moments else None


def parse_day(text: str | None) -> date | None:
    """A `yyyy-mm-dd` date at the start of `text` (None when there is none or it is no date)."""
    match = _DAY.match(text or "")
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _logins(entries: Iterable[str]) -> tuple[str, ...]:
    found = (login_of(entry) for entry in entries)
    return tuple(sorted({login for login in found if login is not None}))


def facts_of(config: Config, proposal: Proposal) -> Facts:
    """The facts of a proposal as its metadata reads (no history: the caller adds it)."""
    fields = config.proposals.fields
    return Facts(
        path=proposal.path,
        status=proposal.status,
        authors=_logins(proposal.list_of("authors")),
        approvers=tuple(proposal.list_of("approvers")) if fields.approvers else None,
        superseded_by=tuple(proposal.list_of("superseded-by")),
        created=parse_day(proposal.text_of("created")),
        updated=parse_day(proposal.text_of("last-updated")),
    )


def outcomes(config: Config) -> tuple[frozenset[str], frozenset[str]]:
    """(accepted, rejected) statuses. Accepted: the statuses an `approve` verb moves to, and
    those only an accepted status leads to (KEP: implementable, implemented). Rejected: the
    statuses a `reject` or `decline` verb moves to (KEP: rejected; GEP: Declined)."""
    accepted = {t.to for t in config.transitions if ACCEPT_VERBS & set(t.verbs)}
    rejected = {t.to for t in config.transitions if REJECT_VERBS & set(t.verbs)}
    grown = True
    while grown:
        grown = False
        for status in config.status_names:
            leading = [t for t in config.transitions if t.to == status]
            if (
                status not in accepted
                and leading
                and all(t.from_ and set(t.from_) <= accepted for t in leading)
            ):
                accepted.add(status)
                grown = True
    return frozenset(accepted - rejected), frozenset(rejected)


@dataclass(frozen=True)
class Metrics:
    """KEP-1's metrics over the proposals of one state of the default branch."""

    tracked: int
    accepted: int
    rejected: int
    authors: int
    started_by_year: dict[int, int]  # proposals begun each year (`Facts.started`)
    first_time_by_year: dict[int, int]  # authors whose first proposal began that year
    undated: int  # proposals with no known start, left out of the two above
    orphaned: list[str]  # paths, sorted
    idle: list[str]  # orphaned: no activity for `orphan_days`
    unowned: list[str]  # orphaned: the process names approvers, and it names none
    retired: dict[str, int]  # by end status
    superseded: list[str]
    orphan_days: int = ORPHAN_DAYS
    end_statuses: list[str] = field(default_factory=list)

    @property
    def rejection_rate(self) -> float | None:
        decided = self.accepted + self.rejected
        return self.rejected / decided if decided else None


def compute(
    config: Config, proposals: Iterable[Facts], now: datetime, *, orphan_days: int = ORPHAN_DAYS
) -> Metrics:
    """The metrics of `proposals` (those with a status: removed files are left out) at `now`."""
    live = sorted((f for f in proposals if f.status is not None), key=lambda f: f.path)
    accepted, rejected = outcomes(config)
    terminal = {s.name for s in config.statuses if s.terminal}
    ending = {s.name for s in config.statuses if "superseded-by" in s.fields}
    first: dict[str, date] = {}
    started: Counter[int] = Counter()
    undated = 0
    for facts in live:
        begun = facts.started
        if begun is None:
            undated += 1
            continue
        started[begun.year] += 1
        for author in facts.authors:
            if author not in first or begun < first[author]:
                first[author] = begun
    cutoff = now - timedelta(days=orphan_days)
    idle, unowned = [], []
    for facts in live:
        if facts.status in terminal:
            continue
        last = facts.last_activity
        if last is not None and last < cutoff:
            idle.append(facts.path)
        if facts.approvers is not None and not facts.approvers:
            unowned.append(facts.path)
    retired = Counter(f.status for f in live if f.status in terminal and f.status not in accepted)
    return Metrics(
        tracked=len(live),
        accepted=sum(1 for f in live if f.status in accepted),
        rejected=sum(1 for f in live if f.status in rejected),
        authors=len({author for f in live for author in f.authors}),
        started_by_year=dict(sorted(started.items())),
        first_time_by_year=dict(sorted(Counter(d.year for d in first.values()).items())),
        undated=undated,
        orphaned=sorted({*idle, *unowned}),
        idle=idle,
        unowned=unowned,
        retired={s: retired[s] for s in config.status_names if retired[s]},
        superseded=[f.path for f in live if f.superseded_by or f.status in ending],
        orphan_days=orphan_days,
        end_statuses=[s for s in config.status_names if s in terminal and s not in accepted],
    )


def referenced(config: Config, repo: str | None, paths: Collection[str], text: str) -> set[str]:
    """The proposals among `paths` (metadata paths of `repo`) that `text` references, as the
    links handlers read references (`KEP-12`, a URL into the proposal); `repo` None: only
    the forms that name no repository."""
    found: set[str] = set()
    for reference in find_references(text, config):
        if reference.repo is not None and (repo is None or not reference.about(repo)):
            continue
        hit: str | None = None
        if reference.kind == "number" and reference.number is not None:
            hit = by_number(config, paths, reference.number)
        elif reference.kind == "path" and reference.path:
            hit = match_path(config, paths, reference.path, has_ref=reference.has_ref)
        if hit is not None:
            found.add(hit)
    return found


def weekly(moments: Iterable[datetime], now: datetime, weeks: int = WEEKS) -> dict[date, int]:
    """How many of `moments` fall in each of the `weeks` weeks (Monday to Sunday, UTC) up to
    and including the one holding `now`, by the Monday that begins it, oldest first."""
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    counts = dict.fromkeys(starts, 0)
    for moment in moments:
        day = moment.astimezone(UTC).date()
        begins = day - timedelta(days=day.weekday())
        if begins in counts and moment <= now:
            counts[begins] += 1
    return counts
