"""Proposal numbers: placeholder forms, formatting with padding, and the next free number."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from bot.engine.config import Config


@cache
def _placeholder_regex(forms: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for form in forms:
        escaped = re.escape(form)
        escaped = escaped.replace("YYYYMMDD", r"\d{8}")
        parts.append(escaped)
    return re.compile("|".join(f"(?:{p})" for p in parts) or r"(?!)")


def is_placeholder(config: Config, number: str | None) -> bool:
    """True for an unassigned number in any form the preset names (and for a missing one)."""
    forms = tuple(config.proposals.placeholders)
    if number is None or number.strip() in ("", "null", "~"):
        return "" in forms or not forms
    return bool(_placeholder_regex(forms).fullmatch(number.strip()))


def as_int(number: str | None) -> int | None:
    if number is None or not number.strip().isdigit():
        return None
    return int(number.strip())


def format_number(config: Config, value: int) -> str:
    return str(value).zfill(config.numbering.padding)


def next_number(config: Config, used: Iterable[int]) -> int:
    """One past every number ever used (withdrawn and replaced ones included), never reused."""
    return max([config.numbering.start - 1, *used]) + 1
