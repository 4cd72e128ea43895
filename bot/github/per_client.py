"""What bot/github keeps beside each installation client, dropped with the client.

Each installation has one gidgethub client for the life of its token's cache; the read
cache, the check-run bookkeeping, the labels known to exist and the gateway's `memory` are
kept per client through `kept`, so a client that goes away takes them with it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_kept: weakref.WeakKeyDictionary[object, dict[Callable[[], Any], Any]] = weakref.WeakKeyDictionary()


def kept(client: object, make: Callable[[], T]) -> T:
    """The one `make()` kept beside `client`, made on first use."""
    values = _kept.get(client)
    if values is None:
        values = _kept[client] = {}
    if make not in values:
        values[make] = make()
    value: T = values[make]
    return value
