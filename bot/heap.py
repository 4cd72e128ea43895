"""The process's heap after start-up: what it built to start is kept out of full collections.

By the time a process serves, it has built hundreds of thousands of objects that live as
long as it does (modules, models, compiled patterns, clients). Each full pass of Python's
garbage collector walks them all, and while it does nothing else runs: a webhook in flight
waits. ``settle()``, called once start-up is done, collects what start-up left over and
moves the rest to the permanent generation (``gc.freeze``), so a full pass walks only what
was made since. Measured in ``benchmarks/heap.py``.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> int:
    """Collect, then freeze what survives; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
