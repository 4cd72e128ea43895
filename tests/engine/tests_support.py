"""Helpers shared by the engine tests."""

from collections.abc import Iterable

from hypothesis import settings

from bot.engine.findings import Finding

MUTATION_PROFILE = "mutation"


def rules_of(findings: Iterable[Finding]) -> set[str]:
    return {f.rule for f in findings}


def examples(normal: int) -> int:
    """How many examples a property test draws: `normal`, or the mutation profile's cap
    (scripts/mutation reruns the tests once per mutant)."""
    if settings.get_current_profile_name() == MUTATION_PROFILE:
        return min(normal, settings.default.max_examples)
    return normal
