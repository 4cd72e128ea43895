"""A validation finding: rule id, severity, file, line and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bot.engine.config import Config

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Level
    path: str
    line: int
    message: str

    def escalate(self) -> Finding:
        return replace(self, severity="error")

    def demote(self) -> Finding:
        """The same finding as a warning (for a file the process's own CI does not check)."""
        return replace(self, severity="warning")

    @property
    def identity(self) -> tuple[str, str, str]:
        """What makes two findings the same across versions of a file (lines move)."""
        return (self.rule, self.path, self.message)


class Collector:
    """Gathers findings, applying the configuration's severity for each rule."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.findings: list[Finding] = []

    def add(self, rule: str, path: str, line: int, message: str) -> None:
        severity = self.config.severity(rule)
        if severity != "off":
            self.findings.append(Finding(rule, severity, path, max(line, 1), message))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def tally(errors: int, warnings: int, proposals: int) -> str:
    """`2 errors, 1 warning in 1 proposal`: the one-line result everywhere."""
    return (
        f"{plural(errors, 'error')}, {plural(warnings, 'warning')} "
        f"in {plural(proposals, 'proposal')}"
    )
