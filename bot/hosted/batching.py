"""Auto-pipelining of one Lua script's calls: hosted mode's acceptance (bot/hosted/lanes.py).

The calls made in one turn of the event loop go to Redis together, in one pipeline without
a transaction: one connection checkout and one round trip for all of them, instead of one
each. The first call of a turn starts a batch, sent on the next turn (no timer: a call
alone waits for nothing, and is sent by itself); every call made before then joins it.
Each caller awaits its own result: an error Redis gives one call is that caller's, an error
of the whole batch (Redis unreachable, the batch timing out) is every caller's in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError
from redis.typing import EncodableT, KeyT

__all__ = ["ScriptBatcher"]


@dataclass(frozen=True)
class _Call:
    keys: Sequence[KeyT]
    args: Sequence[EncodableT]
    result: asyncio.Future[Any]

    def settle(self, reply: Any) -> None:
        if self.result.done():  # its caller gave up waiting
            return
        if isinstance(reply, Exception):
            self.result.set_exception(reply)
        else:
            self.result.set_result(reply)


class ScriptBatcher:
    """Calls of one Lua script, sent to Redis a batch per event-loop turn."""

    def __init__(self, redis: Redis, script: str, *, timeout: float) -> None:
        self._redis = redis
        self._script = redis.register_script(script)
        self._timeout = timeout
        self._waiting: list[_Call] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, *, keys: Sequence[KeyT], args: Sequence[EncodableT]) -> Any:
        """The script's reply to this call (its error raised)."""
        call = _Call(keys, args, asyncio.get_running_loop().create_future())
        if self._waiting is None:
            self._waiting = []
            task = asyncio.create_task(self._send())  # runs on the next turn
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        self._waiting.append(call)
        return await call.result

    async def _send(self) -> None:
        batch, self._waiting = self._waiting or [], None
        replies: list[Any]
        try:
            async with asyncio.timeout(self._timeout):
                replies = await self._run(batch)
        except Exception as exc:
            replies = [exc] * len(batch)
        except asyncio.CancelledError:
            for call in batch:
                call.settle(RedisError("the Redis call was cancelled"))
            raise
        for call, reply in zip(batch, replies, strict=True):
            call.settle(reply)

    async def _run(self, batch: list[_Call]) -> list[Any]:
        """Each call's reply or error, in order."""
        if len(batch) == 1:  # alone: a call of its own costs less than a pipeline
            return [await self._one(batch[0])]
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in batch:
                pipe.execute_command(
                    "EVALSHA", self._script.sha, len(call.keys), *call.keys, *call.args
                )
            replies = await pipe.execute(raise_on_error=False)
        # A Redis started again has forgotten the script: the script object loads it.
        return [
            await self._one(call) if isinstance(reply, NoScriptError) else reply
            for call, reply in zip(batch, replies, strict=True)
        ]

    async def _one(self, call: _Call) -> Any:
        """The call by itself, through the script object (which loads the script into a
        Redis that does not have it)."""
        try:
            return await self._script(keys=call.keys, args=call.args)
        except RedisError as exc:
            return exc
