"""What a proposal's tracking issue should show (docs/design.md B9), from its merged metadata.

Pure: the issue's number, the milestone it belongs in, the labels the bot owns there and the
facts of its status comment. The bot owns, on a tracking issue, the labels under the stage
prefix (exactly one: the stage the metadata names, none when it names none) and adds the
area label; it removes no other label (an area label included: people set `sig/...` for
participating SIGs too). The milestone is the metadata's latest milestone when that value
is a milestone name (`tracking.milestone-pattern`); a value that is not one is left out,
and the status comment says so. No milestone in the metadata leaves the issue's as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.engine.config import Config, LabelSpec, TrackingIssues
from bot.engine.numbering import as_int
from bot.engine.proposal import Proposal
from bot.engine.renumber import tracking_issue

__all__ = [
    "STAGES",
    "Wanted",
    "issue_number",
    "milestone_name",
    "stage_label",
    "wanted",
]

# The keys of a per-stage milestone mapping, in the order a proposal moves through them.
STAGES = ("alpha", "beta", "stable", "deprecated", "disabled", "removed")
MAX_LABEL = 50  # GitHub's limit on a label name


@dataclass(frozen=True)
class Wanted:
    """The tracking issue as the merged metadata says it should be."""

    issue: int
    milestone: str | None  # the title; None: the issue's milestone is left as it is
    labels: dict[str, LabelSpec]  # the labels it carries (added when missing)
    owned: tuple[str, ...]  # label prefixes the bot removes when not in `labels`
    status: str | None
    stage: str | None
    latest: str | None  # the metadata's latest milestone, as written
    per_stage: tuple[tuple[str, str], ...]  # (stage, milestone) pairs, as written
    problems: list[str] = field(default_factory=list)


def _config(config: Config) -> TrackingIssues:
    if config.tracking is None:
        raise ValueError("the configuration keeps no tracking issues")
    return config.tracking


def issue_number(config: Config, proposal: Proposal, repo: str) -> int | None:
    """The proposal's tracking issue in `repo` (None: it has none, or no number yet)."""
    if _config(config).issue == "field":
        return tracking_issue(config, proposal, repo)
    number = as_int(proposal.number)
    return number if number is not None and number > 0 else None


def milestone_name(config: Config, value: object) -> str | None:
    """`value` when it is a milestone name the process allows, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    pattern = _config(config).milestone_pattern
    return text if text and len(text) <= 100 and re.fullmatch(pattern, text) else None


def stage_label(config: Config, stage: str) -> LabelSpec | None:
    """The label of `stage` (None when its name is no label GitHub takes)."""
    tracking = _config(config)
    name = tracking.stage_prefix + stage
    if len(name) > MAX_LABEL or not stage.strip() or "," in stage:
        return None
    text = f"{config.kind} stage: {stage}"
    return LabelSpec(name=name, color=tracking.stage_color, description=text)


def _per_stage(proposal: Proposal) -> tuple[tuple[str, str], ...]:
    """The `milestone:` mapping (KEP: the milestone of each stage), set entries only."""
    raw = proposal.metadata.get("milestone") if proposal.metadata is not None else None
    if not isinstance(raw, Mapping):
        return ()
    pairs: list[tuple[str, str]] = []
    for stage in STAGES:
        value = raw.get(stage)
        value = getattr(value, "value", value)  # a mapping's entries keep their lines
        if isinstance(value, str | int | float) and str(value).strip():
            pairs.append((stage, str(value).strip()))
    return tuple(pairs)


def wanted(config: Config, proposal: Proposal, repo: str) -> Wanted | None:
    """The tracking issue of `proposal` as its metadata says it should be; None when the
    process keeps none or the proposal has no tracking issue."""
    if config.tracking is None or proposal.metadata is None:
        return None
    number = issue_number(config, proposal, repo)
    if number is None:
        return None
    tracking, problems = config.tracking, []
    labels: dict[str, LabelSpec] = {}
    stage = proposal.text_of("stage") or None
    if stage is not None:
        spec = stage_label(config, stage)
        if spec is None:
            problems.append(f"the stage {stage!r} makes no label name")
        else:
            labels[spec.name] = spec
    area, prefix = proposal.text_of("area"), config.labels.area_prefix
    if tracking.area_labels and area and prefix:
        name = prefix + area.removeprefix(config.labels.area_strip)
        if len(name) <= MAX_LABEL and "," not in name:
            labels[name] = LabelSpec(name=name, color=config.labels.area_color, description="")
    latest = proposal.text_of("milestone") or None
    milestone = milestone_name(config, latest) if latest is not None else None
    if latest is not None and milestone is None:
        problems.append(f"the latest milestone {latest!r} is not a milestone name")
    return Wanted(
        issue=number,
        milestone=milestone,
        labels=labels,
        owned=(tracking.stage_prefix,),
        status=proposal.status,
        stage=stage,
        latest=latest,
        per_stage=_per_stage(proposal),
        problems=problems,
    )
