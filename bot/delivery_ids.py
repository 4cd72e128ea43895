"""The deliveries accepted lately, to drop a repeated one (docs/design.md S1), in a fixed
number of bytes: a hash table of 16-byte digests and a ring of arrival order, allocated once.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from collections.abc import Callable

__all__ = ["DEDUPE_BUDGET_BYTES", "DEDUPE_BYTES_PER_ID", "DEDUPE_TTL_SECONDS", "DeliveryIds"]

DEDUPE_TTL_SECONDS = 24 * 3600
# What remembering one delivery costs in `DeliveryIds`: a 16-byte key and a 4-byte ring
# position in a hash table kept at most half full (2 slots x 20 bytes), and in the ring of
# arrival order the key again (16 bytes) and its arrival time (8 bytes): 40 + 24 = 64 bytes.
DEDUPE_BYTES_PER_ID = 2 * (16 + 4) + 16 + 8
# The four buffers' object headers and the table object itself, within this.
_DEDUPE_FIXED_BYTES = 2048
# The whole de-duplication table, allocated once: (4 MiB - 2 KiB) / 64 bytes = 65,504
# deliveries, so 24 hours of them (DEDUPE_TTL_SECONDS) up to 45 a minute. Past that rate
# the oldest are forgotten before their 24 hours: memory stays at 4 MiB whatever the rate
# (it was about 330 bytes a delivery, up to 33 MB, in a TTLCache of header strings).
DEDUPE_BUDGET_BYTES = 4 * 1024 * 1024

_KEY_BYTES = 16
_EMPTY_KEY = bytes(_KEY_BYTES)


def _delivery_key(hook_id: str, delivery_id: str) -> bytes:
    """16 bytes that stand for the pair: a BLAKE2b digest, whatever the ids look like.

    GitHub's delivery ids are GUIDs, but any string is accepted. Two of the 65,504 pairs kept
    share a digest with a probability below 2**-96; a redelivery always has the same digest.
    """
    digest = hashlib.blake2b(
        f"{hook_id}\n{delivery_id}".encode("utf-8", "surrogateescape"), digest_size=_KEY_BYTES
    ).digest()
    return digest if digest != _EMPTY_KEY else b"\x01" + digest[1:]  # all zeros marks a free slot


class DeliveryIds:
    """The deliveries accepted lately, in a fixed number of bytes (``budget_bytes``).

    A delivery is remembered for ``ttl`` seconds or until ``capacity`` later ones push it
    out, whichever comes first. Everything is allocated here, once: remembering more
    deliveries never takes more memory. Keys live in an open-addressing hash table with
    linear probing (at most half full, so a lookup reads about two slots) and, in arrival
    order, in a ring that says which one to forget next and when.
    """

    def __init__(
        self,
        *,
        budget_bytes: int = DEDUPE_BUDGET_BYTES,
        ttl: float = DEDUPE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        capacity = (budget_bytes - _DEDUPE_FIXED_BYTES) // DEDUPE_BYTES_PER_ID
        if capacity < 1:
            raise ValueError(f"a de-duplication budget of {budget_bytes} bytes holds no delivery")
        self.capacity = capacity
        self._ttl = ttl
        self._clock = clock
        self._slots = 2 * capacity
        self._table = bytearray(_KEY_BYTES * self._slots)  # all zeros: a free slot
        self._table_position = array("I", [0]) * self._slots  # each key's place in the ring
        self._ring = bytearray(_KEY_BYTES * capacity)
        self._ring_time = array("d", [0.0]) * capacity
        self._oldest = 0  # ring position of the oldest entry
        self._entries = 0  # ring positions in use (a forgotten key keeps its place)
        self._live = 0  # keys in the table

    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        """The bytes of the table's buffers (fixed at creation)."""
        return (
            sum(len(buffer) * buffer.itemsize for buffer in (self._table_position, self._ring_time))
            + len(self._table)
            + len(self._ring)
        )

    def claim(self, hook_id: str, delivery_id: str) -> bool:
        """Remember a delivery; ``False`` when it is remembered already (a repeat)."""
        now = self._clock()
        self._expire(now)
        key = _delivery_key(hook_id, delivery_id)
        slot = self._find(key)
        if slot >= 0:
            return False
        if self._entries == self.capacity:
            self._drop_oldest()
            slot = self._find(key)  # dropping may have moved the free slot found
        position = (self._oldest + self._entries) % self.capacity
        self._entries += 1
        self._ring[position * _KEY_BYTES : (position + 1) * _KEY_BYTES] = key
        self._ring_time[position] = now
        free = ~slot
        self._table[free * _KEY_BYTES : (free + 1) * _KEY_BYTES] = key
        self._table_position[free] = position
        self._live += 1
        return True

    def seen(self, hook_id: str, delivery_id: str) -> bool:
        """Whether the delivery is remembered."""
        self._expire(self._clock())
        return self._find(_delivery_key(hook_id, delivery_id)) >= 0

    def forget(self, hook_id: str, delivery_id: str) -> None:
        """Forget a delivery, so that its redelivery is accepted."""
        slot = self._find(_delivery_key(hook_id, delivery_id))
        if slot >= 0:
            self._remove(slot)

    def _home(self, key: bytes | bytearray) -> int:
        return int.from_bytes(key[:8], "little") % self._slots

    def _find(self, key: bytes) -> int:
        """The slot holding ``key``, or ``~slot`` of the free slot where it would go."""
        table, slots = self._table, self._slots
        slot = self._home(key)
        while True:
            start = slot * _KEY_BYTES
            held = table[start : start + _KEY_BYTES]
            if held == key:
                return slot
            if held == _EMPTY_KEY:
                return ~slot
            slot = slot + 1 if slot + 1 < slots else 0

    def _remove(self, slot: int) -> None:
        """Empty ``slot``, moving back the keys after it that would no longer be found."""
        table, positions, slots = self._table, self._table_position, self._slots
        hole = slot
        probe = slot
        while True:
            probe = probe + 1 if probe + 1 < slots else 0
            start = probe * _KEY_BYTES
            held = table[start : start + _KEY_BYTES]
            if held == _EMPTY_KEY:
                break
            home = self._home(held)
            # The key at `probe` may fill the hole unless its home lies after the hole,
            # cyclically up to `probe` (then a lookup starting at its home never sees the hole).
            if (home <= hole < probe) or (probe < home <= hole) or (hole < probe < home):
                table[hole * _KEY_BYTES : (hole + 1) * _KEY_BYTES] = held
                positions[hole] = positions[probe]
                hole = probe
        table[hole * _KEY_BYTES : (hole + 1) * _KEY_BYTES] = _EMPTY_KEY
        self._live -= 1

    def _drop_oldest(self) -> None:
        position = self._oldest
        key = bytes(self._ring[position * _KEY_BYTES : (position + 1) * _KEY_BYTES])
        slot = self._find(key)
        # A key forgotten and claimed again has a newer place in the ring: keep it.
        if slot >= 0 and self._table_position[slot] == position:
            self._remove(slot)
        self._oldest = position + 1 if position + 1 < self.capacity else 0
        self._entries -= 1

    def _expire(self, now: float) -> None:
        cutoff = now - self._ttl
        times = self._ring_time
        while self._entries and times[self._oldest] <= cutoff:
            self._drop_oldest()
