"""The gateway's list of caches (bot/github/gateway.py) says what the code does: each bound
written there is the bound the cache is built with; and what it keeps, it keeps per
installation client or per delivery as it says (docs/design.md, "Shape")."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from bot import pipeline_page
from bot.github import feedback, gateway, read_cache
from bot.github.client import GitHubClient
from bot.github.gateway import GitHub
from bot.github.people import Directory
from bot.github.repo_config import ConfigCache
from bot.handlers.memory import ClientMemory

MIB = 1024 * 1024


def _default(call: Callable[..., Any], name: str) -> Any:
    return inspect.signature(call).parameters[name].default


def test_each_bound_in_the_list_is_the_one_the_cache_is_built_with() -> None:
    text = " ".join((gateway.__doc__ or "").split())
    memory = ClientMemory()
    written = {
        "at most 500 responses": _default(GitHubClient.__init__, "etag_cache_size") == 500,
        "`BLOB_BYTES` (16 MiB)": read_cache.BLOB_BYTES == 16 * MIB,
        "`THREAD_BYTES` (8 MiB)": read_cache.THREAD_BYTES == 8 * MIB,
        "`PULL_FILES_MAX` (1,024)": read_cache.PULL_FILES_MAX == 1024,
        "`PULL_FILES_TTL` (120 s)": read_cache.PULL_FILES_TTL == 120,
        "`FRESH_HEADS` (1,024)": feedback.FRESH_HEADS == 1024,
        "`bot.pipeline_page.BLOB_BYTES` (8 MiB)": pipeline_page.BLOB_BYTES == 8 * MIB,
        "`bot.pipeline_page.WATCHES` (16)": pipeline_page.WATCHES == 16,
        "1,024 results for 60 s": (
            _default(ConfigCache.__init__, "maxsize"),
            _default(ConfigCache.__init__, "ttl"),
        )
        == (1024, 60),
        "4,096 answers for 300 s": (
            _default(Directory.__init__, "maxsize"),
            _default(Directory.__init__, "ttl"),
        )
        == (4096, 300),
        "4,096 entries per table": all(
            table.maxsize == 4096 for table in (memory.found, memory.missed, memory.proposal_pulls)
        ),
    }
    assert [phrase for phrase in written if phrase not in text] == []
    assert [phrase for phrase, holds in written.items() if not holds] == []


class _Client:
    """Stands for an installation's client: the gateway only keys on its identity here."""


def test_what_the_gateway_keeps_goes_with_the_client_or_the_delivery() -> None:
    client, other = _Client(), _Client()
    first, second = GitHub(client), GitHub(client)  # type: ignore[arg-type]
    assert first.memory(ClientMemory) is second.memory(ClientMemory)
    assert GitHub(other).memory(ClientMemory) is not first.memory(ClientMemory)  # type: ignore[arg-type]
    assert first.memo is not second.memo  # one memo per delivery's gateway
