"""The webhook's de-duplication table: what it remembers, for how long, in how many bytes."""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from collections import deque
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import delivery_ids
from bot.delivery_ids import DEDUPE_BUDGET_BYTES, DEDUPE_BYTES_PER_ID, DeliveryIds
from bot.sandbox.testing import ManualClock

HOOK = "30"
SMALL_BUDGET = 64 * 1024


def guids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_the_default_budget_keeps_at_least_a_day_of_deliveries_at_45_a_minute() -> None:
    ids = DeliveryIds()
    assert ids.capacity >= 45 * 60 * 24
    assert ids.nbytes <= DEDUPE_BUDGET_BYTES


def _table_bytes() -> int:
    """Bytes allocated by bot/delivery_ids.py and still alive."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, delivery_ids.__file__)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_memory_stays_within_the_budget_however_many_deliveries_arrive() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        ids = DeliveryIds(budget_bytes=SMALL_BUDGET, clock=ManualClock(0.0))
        created = _table_bytes()
        rounds: list[int] = []
        for _ in range(3):
            for delivery in guids(ids.capacity):
                assert ids.claim(HOOK, delivery)
            rounds.append(_table_bytes())
    finally:
        tracemalloc.stop()
    assert created <= SMALL_BUDGET
    assert max(rounds) <= SMALL_BUDGET
    # Full after the first round; two more rounds of new ids take no more memory.
    assert max(rounds) - rounds[0] <= 1024
    # The buffers are most of the budget (none of it is wasted on a table that stays small).
    assert ids.nbytes > SMALL_BUDGET * 0.9
    assert ids.capacity * DEDUPE_BYTES_PER_ID <= ids.nbytes <= created


def test_the_oldest_deliveries_are_dropped_beyond_the_capacity() -> None:
    ids = DeliveryIds(budget_bytes=SMALL_BUDGET, clock=ManualClock(0.0))
    deliveries = guids(3 * ids.capacity + 7)
    for delivery in deliveries:
        assert ids.claim(HOOK, delivery)
    kept = deliveries[-ids.capacity :]
    assert len(ids) == ids.capacity
    assert all(ids.seen(HOOK, delivery) for delivery in kept)
    assert not any(ids.seen(HOOK, delivery) for delivery in deliveries[: -ids.capacity])
    assert not ids.claim(HOOK, kept[0])  # the oldest one kept is still a repeat
    assert ids.claim(HOOK, deliveries[0])  # a dropped one is new again


def test_a_delivery_is_forgotten_after_the_ttl() -> None:
    clock = ManualClock(1000.0)
    ids = DeliveryIds(budget_bytes=SMALL_BUDGET, ttl=3600.0, clock=clock)
    assert ids.claim(HOOK, "early")
    clock.advance(1800.0)
    assert ids.claim(HOOK, "later")
    clock.advance(1799.0)
    assert not ids.claim(HOOK, "early")
    clock.advance(1.0)
    assert not ids.seen(HOOK, "early")
    assert ids.seen(HOOK, "later")
    assert len(ids) == 1
    assert ids.claim(HOOK, "early")


def test_ids_of_any_shape_are_told_apart_by_hook() -> None:
    ids = DeliveryIds(budget_bytes=SMALL_BUDGET, clock=ManualClock(0.0))
    guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    for hook, delivery in [
        (HOOK, guid),
        ("31", guid),
        (HOOK, "d-1"),
        ("", "d-1"),
        (HOOK, "é\udcff"),
    ]:
        assert ids.claim(hook, delivery)
        assert not ids.claim(hook, delivery)
    assert not ids.seen("3", "0\n" + guid)  # the separator keeps the pair unambiguous
    assert len(ids) == 5


def test_a_forgotten_delivery_claimed_again_keeps_its_new_place() -> None:
    ids = DeliveryIds(budget_bytes=SMALL_BUDGET, clock=ManualClock(0.0))
    assert ids.claim(HOOK, "retried")
    others = guids(ids.capacity - 1)
    for delivery in others[:10]:
        assert ids.claim(HOOK, delivery)
    ids.forget(HOOK, "retried")
    assert not ids.seen(HOOK, "retried")
    assert ids.claim(HOOK, "retried")  # the redelivery
    for delivery in others[10:]:
        assert ids.claim(HOOK, delivery)
    # One claim too many: the first claim's place is reused, the second claim stays.
    assert ids.seen(HOOK, "retried")
    assert len(ids) == ids.capacity
    for delivery in guids(10):
        assert ids.claim(HOOK, delivery)
    assert ids.seen(HOOK, "retried")
    assert not any(ids.seen(HOOK, delivery) for delivery in others[:10])
    assert ids.claim(HOOK, "newest")
    assert not ids.seen(HOOK, "retried")


def test_a_budget_too_small_for_one_delivery_is_refused() -> None:
    with pytest.raises(ValueError, match="holds no delivery"):
        DeliveryIds(budget_bytes=DEDUPE_BYTES_PER_ID)


@dataclass(eq=False)
class _Entry:
    name: str
    at: float


class _Model:
    """What DeliveryIds must answer: a ring of claims, each live until dropped or forgotten."""

    def __init__(self, capacity: int, ttl: float) -> None:
        self.capacity, self.ttl = capacity, ttl
        self.ring: deque[_Entry] = deque()
        self.live: dict[str, _Entry] = {}

    def _drop_oldest(self) -> None:
        entry = self.ring.popleft()
        if self.live.get(entry.name) is entry:
            del self.live[entry.name]

    def expire(self, now: float) -> None:
        while self.ring and self.ring[0].at <= now - self.ttl:
            self._drop_oldest()

    def claim(self, name: str, now: float) -> bool:
        self.expire(now)
        if name in self.live:
            return False
        if len(self.ring) == self.capacity:
            self._drop_oldest()
        entry = _Entry(name, now)
        self.ring.append(entry)
        self.live[name] = entry
        return True


_NAMES = st.sampled_from([f"d-{index}" for index in range(40)])
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("claim"), _NAMES),
        st.tuples(st.just("forget"), _NAMES),
        st.tuples(st.just("wait"), st.sampled_from([1.0, 5.0, 30.0])),
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS)
def test_the_table_answers_as_a_plain_ring_and_dict_would(
    steps: list[tuple[str, str | float]],
) -> None:
    # A table of 12 ids in 24 slots: homes collide, probes wrap around, removals move keys.
    clock = ManualClock(0.0)
    ids = DeliveryIds(budget_bytes=2048 + 12 * DEDUPE_BYTES_PER_ID, ttl=60.0, clock=clock)
    assert ids.capacity == 12
    model = _Model(ids.capacity, 60.0)
    for action, value in steps:
        if action == "wait":
            assert isinstance(value, float)
            clock.advance(value)
            continue
        assert isinstance(value, str)
        if action == "claim":
            assert ids.claim(HOOK, value) == model.claim(value, clock())
        else:
            ids.forget(HOOK, value)
            model.live.pop(value, None)
        model.expire(clock())
        for index in range(40):
            assert ids.seen(HOOK, f"d-{index}") == (f"d-{index}" in model.live)
        assert len(ids) == len(model.live)
