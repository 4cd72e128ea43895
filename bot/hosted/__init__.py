"""Hosted mode (docs/design.md, "Hosted mode"): web processes queue deliveries in Redis,
worker processes (`kepbot worker`) run them, one pull request at a time in arrival order.

Its modules import `redis` and `arq` (the `hosted` extra); nothing outside this package
imports them, and `python -m bot` loads those modules only when `KEPBOT_REDIS_URL` is set
or for `worker` (this one, which imports neither, says so when the extra is missing).
"""

from __future__ import annotations

import importlib.util

__all__ = ["missing_extra"]


def missing_extra() -> str | None:
    """A one-line message when the `hosted` extra is not installed, else ``None``."""
    absent = [name for name in ("arq", "redis") if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    return (
        f"hosted mode (KEPBOT_REDIS_URL, `kepbot worker`) needs the `hosted` extra, and "
        f"{', '.join(absent)} is not installed: pip install 'kepbot[hosted]'"
    )
