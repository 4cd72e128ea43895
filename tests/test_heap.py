"""`bot.heap.settle`: what start-up built is collected or frozen, not walked again."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import settle


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the suite collects as usual


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it


def test_settling_collects_the_garbage_left_and_freezes_what_lives(unfrozen: None) -> None:
    kept = [Node()]
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped
    frozen = settle()
    assert frozen == gc.get_freeze_count() > 0
    tracked = {id(item) for item in gc.get_objects()}
    assert id(kept[0]) not in tracked  # frozen: no later pass walks it
    assert gone() is None  # collected first, not frozen with the rest
    made_after = Node()
    assert any(item is made_after for item in gc.get_objects())  # walked as usual
