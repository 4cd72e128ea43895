"""Helpers shared by the engine tests."""

from collections.abc import Iterable

from bot.engine.findings import Finding


def rules_of(findings: Iterable[Finding]) -> set[str]:
    return {f.rule for f in findings}
