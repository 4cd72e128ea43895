"""What a validation report looks like as a GitHub check run: conclusion, summary, annotations.

Pure formatting (no network): the handlers send it. GitHub takes at most 50 annotations per
request, appending across updates, and caps the summary at 65,535 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine.findings import Finding, tally
from bot.engine.validate import Report
from bot.github.check_run import CheckOutput
from bot.github.comments import code_span, fenced, inert

MAX_SUMMARY = 65_535
MAX_ANNOTATION_TITLE = 255
# GitHub's limits on check-run buttons: how many, and the length of each field.
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}
ACTION_PREFIX = "verb:"
_ACTION_VERB = re.compile(r"[a-z0-9-]{1,15}")
_LEVEL = {"error": "failure", "warning": "warning"}


def annotation(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "start_line": finding.line,
        "end_line": finding.line,
        "annotation_level": _LEVEL[finding.severity],
        "title": finding.rule[:MAX_ANNOTATION_TITLE],
        "message": finding.message,
    }


def button_actions(moves: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Check-run buttons for `(verb, target status)` moves: the first three distinct verbs
    whose identifier (`verb:<verb>`) fits GitHub's limits; a click arrives as a
    `requested_action` with that identifier (bot.handlers.buttons)."""
    found: list[dict[str, str]] = []
    for verb, target in moves:
        identifier = ACTION_PREFIX + verb
        if not _ACTION_VERB.fullmatch(verb) or any(a["identifier"] == identifier for a in found):
            continue
        description = f"Move the proposal to {target}"[: ACTION_LIMITS["description"]]
        found.append(
            {"label": verb.capitalize(), "description": description, "identifier": identifier}
        )
        if len(found) == MAX_ACTIONS:
            break
    return found


@dataclass(frozen=True)
class Decision:
    """Where a proposal's status stands against the commands (see bot.engine.authorize)."""

    path: str
    verdict: str  # unchanged | authorised | waiting | illegal
    base: str | None
    head: str | None
    next_step: str = ""  # for `waiting`: the command to give and who can give it
    period: str = ""  # a comment period under way, or open concerns


def period_lines(decisions: Sequence[Decision]) -> list[str]:
    """The comment periods under way and the open concerns (where not the next step)."""
    periods = [d for d in decisions if d.period and d.period != d.next_step]
    if not periods:
        return []
    return [
        "",
        "**Comment periods:**",
        "",
        *(f"- {code_span(d.path)}: {d.period}" for d in periods),
    ]


def check_output(
    report: Report,
    config_error: str | None = None,
    decisions: Sequence[Decision] = (),
    actions: Sequence[dict[str, str]] = (),
) -> CheckOutput:
    """The check's result: `failure` on errors or an illegal move, `action_required` while a
    move waits for someone with the role, else `success` (`neutral` when no proposal)."""
    if config_error is not None:
        summary = (
            "The repository's kepbot configuration is invalid, so no proposal was checked.\n\n"
            f"{fenced(config_error)}\n\nFix it on the default branch; the check runs again "
            "on the next push."
        )
        return CheckOutput("failure", "Invalid kepbot configuration", summary[:MAX_SUMMARY], [])
    errors, warnings = report.errors, report.warnings
    if not report.proposals:
        return CheckOutput(
            "neutral", "No proposal changed", "This pull request changes no proposal.", []
        )
    waiting = [d for d in decisions if d.verdict == "waiting"]
    illegal = [d for d in decisions if d.verdict == "illegal"]
    conclusion = "failure" if errors or illegal else "action_required" if waiting else "success"
    title = tally(len(errors), len(warnings), len(report.proposals))
    if conclusion == "action_required":
        title = f"Waiting for a decision: {title}"
    lines = [f"Checked {len(report.proposals)} proposal(s):", ""]
    lines += [f"- {code_span(path)}" for path in report.proposals]
    for move in report.moves:
        before = code_span(move.before) if move.before else "(new)"
        lines.append(
            f"- status of {code_span(move.path)}: {before} → {code_span(move.after or '')}"
        )
    if waiting:
        lines += ["", "**Waiting for a decision:**", ""]
        lines += [f"- {code_span(d.path)}: {d.next_step}" for d in waiting]
    lines += period_lines(decisions)
    if errors:
        lines += ["", "**To do before merging:**", ""]
        lines += [
            f"- {code_span(f'{f.path}:{f.line}')} {inert(f.message)} (`{f.rule}`)"
            for f in errors[:100]
        ]
    if warnings:
        lines += ["", f"{len(warnings)} warning(s) about what this change did not introduce."]
    findings = sorted(report.findings, key=lambda f: (f.severity != "error", f.path, f.line))
    summary = "\n".join(lines)[:MAX_SUMMARY]
    notes = [annotation(f) for f in findings]
    return CheckOutput(conclusion, title, summary, notes, list(actions[:MAX_ACTIONS]))
