"""Freeze readiness (docs/design.md B11): each proposal of a release against the process's
freeze rules, met or not, with the reason and the file and line to fix.

Pure. A proposal is in a release when its latest milestone, or the milestone of the stage
it is at, is the release's, or when it was opted in for it (the caller says which: that is
GitHub's to know, the tracking issues' opt-in label and milestone). Each rule of
`freeze.rules` is checked on the proposal as the tree holds it (the default branch, or a
checkout): its metadata, its document, the production readiness approval file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from bot.engine import markdown
from bot.engine.config import Config, FreezeRule
from bot.engine.proposal import Proposal
from bot.engine.prr import approval_path
from bot.engine.tracking_issue import STAGES
from bot.engine.tree import Tree

__all__ = ["Check", "Entry", "check", "in_release", "release", "release_files"]

TARGETS, OPTED_IN = "targets", "opted in"


@dataclass(frozen=True)
class Check:
    """One rule on one proposal: met or not, why, and where to fix it."""

    id: str
    text: str
    met: bool
    reason: str
    path: str
    line: int


@dataclass(frozen=True)
class Entry:
    """One proposal of the release: who owns it, why it is in, and each rule."""

    path: str
    number: str | None
    title: str | None
    area: str | None
    authors: tuple[str, ...]
    approvers: tuple[str, ...]
    status: str | None
    stage: str | None
    why: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.met for check in self.checks)

    def data(self) -> dict[str, Any]:
        found = asdict(self)
        found["ready"] = self.ready
        return found


def _stage_entry(proposal: Proposal, stage: str) -> tuple[str | None, int | None]:
    """The milestone the `milestone:` mapping gives `stage`, and its line."""
    raw = proposal.metadata.get("milestone") if proposal.metadata is not None else None
    if not isinstance(raw, Mapping):
        return None, None
    entry = raw.get(stage)
    value = getattr(entry, "value", entry)
    line = getattr(entry, "line", None)
    text = str(value).strip() if isinstance(value, str | int | float) else None
    return text or None, line if isinstance(line, int) else None


def in_release(proposal: Proposal, milestone: str) -> bool:
    """Whether the proposal's metadata targets `milestone`: its latest milestone, or the
    milestone of the stage it is at (the stages it went through before are history)."""
    if proposal.text_of("milestone") == milestone:
        return True
    stage = proposal.text_of("stage")
    return stage in STAGES and _stage_entry(proposal, stage)[0] == milestone


def _approval(text: str | None, stage: str) -> tuple[bool, str]:
    if text is None:
        return False, "there is no approval file"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False, "the approval file cannot be read"
    entry = data.get(stage) if isinstance(data, dict) else None
    approver = entry.get("approver") if isinstance(entry, dict) else None
    if isinstance(approver, str) and approver.strip():
        return True, f"{stage} approved by {approver.strip()}"
    return False, f"the approval file has no {stage} approver"


def _section(proposal: Proposal, rule: FreezeRule) -> Check:
    wanted = markdown.normalise(rule.section or "")
    where = proposal.doc_path
    if proposal.document is None:
        return Check(rule.id, rule.text, False, f"there is no {where}", where, 1)
    found = markdown.headings(proposal.document)
    for index, heading in enumerate(found):
        if markdown.normalise(heading.text) == wanted:
            # its own text, or its subsections' (`#### Alpha` under `### Graduation Criteria`)
            bodies = [heading.body]
            for below in found[index + 1 :]:
                if below.level <= heading.level:
                    break
                bodies.append(below.body)
            if any(markdown.has_content(body) for body in bodies):
                return Check(rule.id, rule.text, True, "written", where, heading.line)
            reason = f"the {rule.section} section is empty"
            return Check(rule.id, rule.text, False, reason, where, heading.line)
    return Check(rule.id, rule.text, False, f"there is no {rule.section} section", where, 1)


def check(
    config: Config, proposal: Proposal, tree: Tree, milestone: str, rule: FreezeRule
) -> Check:
    """`rule` on `proposal` for the release `milestone`."""
    path = proposal.path
    if rule.kind == "status":
        status = proposal.status
        met = status in rule.statuses
        reason = f"status is {status}" if status else "no status"
        return Check(rule.id, rule.text, met, reason, path, proposal.line_of("status"))
    if rule.kind == "latest-milestone":
        latest = proposal.text_of("milestone")
        reason = f"latest milestone is {latest}" if latest else "no latest milestone"
        line = proposal.line_of("milestone")
        return Check(rule.id, rule.text, latest == milestone, reason, path, line)
    stage = proposal.text_of("stage")
    if rule.kind == "stage-milestone":
        if not stage:
            return Check(rule.id, rule.text, False, "no stage", path, proposal.line_of("stage"))
        value, entry_line = _stage_entry(proposal, stage)
        reason = f"the {stage} milestone is {value}" if value else f"no {stage} milestone"
        where = entry_line or proposal.line_of("stage")
        return Check(rule.id, rule.text, value == milestone, reason, path, where)
    if rule.kind == "review":
        review = approval_path(proposal, config.validation.prr)
        if review is None:
            reason = "no approval file can be named (owning SIG and number)"
            return Check(rule.id, rule.text, False, reason, path, 1)
        if not stage:
            return Check(rule.id, rule.text, False, "no stage to approve", review, 1)
        met, reason = _approval(tree.read(review), stage)
        return Check(rule.id, rule.text, met, reason, review, 1)
    return _section(proposal, rule)


def release(
    config: Config,
    proposals: Iterable[Proposal],
    tree: Tree,
    milestone: str,
    opted_in: Collection[str] = (),
) -> list[Entry]:
    """Every proposal that targets `milestone` or whose path is in `opted_in`, each rule
    checked, in path order."""
    rules = config.freeze.rules if config.freeze is not None else []
    entries = []
    for proposal in sorted(proposals, key=lambda p: p.path):
        why = tuple(
            reason
            for reason, held in (
                (TARGETS, in_release(proposal, milestone)),
                (OPTED_IN, proposal.path in opted_in),
            )
            if held
        )
        if not why:
            continue
        checks = tuple(check(config, proposal, tree, milestone, rule) for rule in rules)
        entries.append(
            Entry(
                path=proposal.path,
                number=proposal.number,
                title=proposal.text_of("title"),
                area=proposal.text_of("area"),
                authors=tuple(proposal.list_of("authors")),
                approvers=tuple(proposal.list_of("approvers")),
                status=proposal.status,
                stage=proposal.text_of("stage"),
                why=why,
                checks=checks,
            )
        )
    return entries


def release_files(config: Config, proposal: Proposal) -> list[str]:
    """The files the rules read beside the metadata: the document, the approval file."""
    files = [proposal.doc_path]
    rules = config.freeze.rules if config.freeze is not None else []
    if any(rule.kind == "review" for rule in rules):
        review = approval_path(proposal, config.validation.prr)
        if review is not None:
            files.append(review)
    return files
