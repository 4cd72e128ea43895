"""Kubernetes' production readiness review rule, as its CI enforces it.

An `implementable` KEP whose latest milestone is at or after the rule's start
(v1.21) needs `keps/prod-readiness/<owning-sig>/<kep-number>.yaml`, and the
approver that file names for the KEP's stage must be in the
`prod-readiness-approvers` alias of OWNERS_ALIASES.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

from bot.engine.config import PRRConfig
from bot.engine.findings import Collector
from bot.engine.proposal import Proposal
from bot.engine.tree import Tree

# The C loader when PyYAML has it: these files are read in bulk on every validation.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """A tolerant semantic version: `v1.21`, `1.21.0` and `v1.21-alpha` all read as (1, 21, 0)."""
    match = _VERSION.match(text)
    if not match:
        return None
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return major, minor, patch


def approvers(tree: Tree, rule: PRRConfig) -> set[str] | None:
    text = tree.read(rule.aliases_file)
    if text is None:
        return None
    try:
        data = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError:
        return None
    aliases = data.get("aliases") or {} if isinstance(data, dict) else {}
    members = [m for alias in rule.aliases for m in (aliases.get(alias) or [])]
    return {str(member).lstrip("@").lower() for member in members}


def check_prr(
    out: Collector,
    proposal: Proposal,
    tree: Tree,
    rule: PRRConfig,
    allowed: Callable[[], set[str] | None],
) -> None:
    """`allowed` gives what approvers() reads, once per validation run and only if needed."""
    if proposal.status != "implementable":
        return
    milestone = proposal.text_of("milestone")
    if not milestone:
        return  # Kubernetes' CI only warns when the latest milestone is missing
    version = parse_version(milestone)
    since = parse_version(rule.since)
    line = proposal.line_of("milestone")
    if version is None:
        out.add(
            "prr.milestone",
            proposal.path,
            line,
            f"latest-milestone {milestone!r} is not a version such as v1.31",
        )
        return
    if since is not None and version < since:
        return
    prr_path = approval_path(proposal, rule)
    text = tree.read(prr_path)
    if text is None:
        out.add(
            "prr.missing",
            proposal.path,
            proposal.line_of("status"),
            f"an implementable KEP targeting {milestone} needs a production readiness "
            f"approval file at {prr_path}",
        )
        return
    try:
        approval = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        out.add("prr.parse", prr_path, 1, f"not valid YAML: {exc}")
        return
    if not isinstance(approval, dict):
        out.add("prr.parse", prr_path, 1, "a PRR approval file must be a mapping")
        return
    _check_approver(out, proposal, approval, prr_path, allowed(), rule)


def _check_approver(
    out: Collector,
    proposal: Proposal,
    approval: dict[object, object],
    prr_path: str,
    allowed: set[str] | None,
    rule: PRRConfig,
) -> None:
    stage = proposal.text_of("stage") or ""
    entry = approval.get(stage)
    approver = entry.get("approver") if isinstance(entry, dict) else None
    name = str(approver or "").lstrip("@").lower()
    if allowed is None:
        out.add(
            "prr.approver",
            proposal.path,
            proposal.line_of("stage"),
            f"{rule.aliases_file} with the {rule.aliases[0]} alias is needed to check {prr_path}",
        )
    elif name not in allowed:
        shown = approver or "nobody"
        out.add(
            "prr.approver",
            prr_path,
            1,
            f"the {stage or 'current'} stage approver ({shown}) is not in {rule.aliases[0]}: "
            f"{', '.join(sorted(allowed))}",
        )


def prr_files(proposal: Proposal, rule: PRRConfig) -> list[str]:
    """The files check_prr reads for this proposal, so a caller can fetch them first."""
    if not rule.enabled or proposal.status != "implementable":
        return []
    return [rule.aliases_file, approval_path(proposal, rule)]


def approval_path(proposal: Proposal, rule: PRRConfig) -> str:
    return f"{rule.directory}/{proposal.area or ''}/{proposal.number or ''}.yaml"
