"""A check run's content as the bot writes it: its name, conclusion, title, summary,
annotations and buttons (docs/design.md B1).

The check-run writers of `bot.github` (`feedback`, the gateway) take it; what fills it in
is above them (`bot.check_output` for a validation report, `bot.handlers.links.feedback`
for links). GitHub takes at most 50 annotations per request, appending across updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANNOTATIONS_PER_REQUEST", "CHECK_NAME", "CheckOutput"]

CHECK_NAME = "kepbot"
ANNOTATIONS_PER_REQUEST = 50


@dataclass(frozen=True)
class CheckOutput:
    conclusion: str
    title: str
    summary: str
    annotations: list[dict[str, Any]]
    actions: list[dict[str, str]] = field(default_factory=list)  # buttons: `button_actions`

    def batches(self) -> list[list[dict[str, Any]]]:
        """Annotations in request-sized groups; the first goes with the create request."""
        size = ANNOTATIONS_PER_REQUEST
        return [self.annotations[i : i + size] for i in range(0, len(self.annotations), size)]
