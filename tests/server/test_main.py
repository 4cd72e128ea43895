"""``python -m bot`` as a process: import hygiene, refusing to start, serving, SIGTERM draining."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import aiohttp
import pytest

from bot import demo
from bot.sandbox.payloads import delivery_headers as sandbox_headers
from bot.sandbox.payloads import encode, pull_request_event
from bot.sandbox.testing import app_credentials, running

from .helpers import SECRET, delivery_headers, pull_request_payload
from .processes import START_TIMEOUT, Process, child_env, free_port, start_process

IMPORT_PROBE = textwrap.dedent(
    """
    import json, logging, os, sys, threading
    from collections.abc import MutableMapping
    import aiohttp.web, cachetools, gidgethub.sansio, prometheus_client, pydantic_settings
    # (third-party first: what a library does when imported is not ours to test)

    class Recording(MutableMapping):
        def __init__(self, real):
            self.real, self.keys, self.listed = real, [], False
        def __getitem__(self, key):
            self.keys.append(key)
            return self.real[key]
        def __setitem__(self, key, value):
            self.real[key] = value
        def __delitem__(self, key):
            del self.real[key]
        def __iter__(self):
            self.listed = True
            return iter(self.real)
        def __len__(self):
            return len(self.real)
        def __contains__(self, key):
            self.keys.append(key)
            return key in self.real

    recording = os.environ = Recording(os.environ)
    threads = threading.active_count()
    import bot.__main__, bot.app, bot.webhook, bot.worker, bot.settings, bot.logs, bot.metrics
    import bot.routing, bot.cli, bot.hosted.web, bot.hosted.worker
    os.environ = recording.real
    print(json.dumps({
        "env_keys": [k for k in recording.keys
                     if k.upper().startswith(("GITHUB_", "KEPBOT_")) or k.upper() == "PORT"],
        "env_listed": recording.listed,
        "root_handlers": len(logging.getLogger().handlers),
        "bot_handlers": len(logging.getLogger("bot").handlers),
        "new_threads": threading.active_count() - threads,
        "metrics_built": bot.metrics._default is not None,
    }))
    """
)


def test_importing_the_server_modules_has_no_side_effects() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing logged, nothing warned
    assert json.loads(result.stdout) == {
        "env_keys": [],
        "env_listed": False,
        "root_handlers": 0,
        "bot_handlers": 0,
        "new_threads": 0,
        "metrics_built": False,
    }


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITHUB_TOKEN": "t"}, "kepbot: GITHUB_WEBHOOK_SECRET is not set"),
        ({"GITHUB_WEBHOOK_SECRET": "s"}, "kepbot: no GitHub credentials"),
    ],
)
def test_refuses_to_start_with_one_clear_line(env: dict[str, str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        env=child_env(PORT=str(free_port()), **env),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected)
    assert "Traceback" not in result.stderr


async def _deliver(process: Process, delivery: str) -> int:
    body = json.dumps(pull_request_payload(1)).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{process.url}/webhook", data=body, headers=delivery_headers(body, delivery=delivery)
        ) as resp,
    ):
        return resp.status


async def test_python_m_bot_serves_and_exits_0_on_sigterm(processes: list[Process]) -> None:
    """The real server process, handling a real delivery against the GitHub double."""
    credentials = app_credentials()
    double = demo.seed(credentials)
    files: dict[str, str | None] = {f"{demo.KEP_DIR}/kep.yaml": demo.NEW_KEP}
    number = double.open_pull_request(demo.REPO, "new-kep", files, "KEP", author="alice")
    async with running(double) as api_url:
        process = await start_process(
            ["-m", "bot"],
            credentials={
                "KEPBOT_RECONCILE_SECONDS": "0",
                "GITHUB_API_URL": api_url,
                "GITHUB_APP_ID": str(credentials.app_id),
                "GITHUB_PRIVATE_KEY": credentials.private_key,
            },
        )
        processes.append(process)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{process.url}/healthz") as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "ok"
            name, payload = pull_request_event(double, demo.REPO, number, "opened")
            body = encode(payload)
            headers = sandbox_headers(double, name, body, SECRET, delivery_id="d-live")
            async with session.post(f"{process.url}/webhook", data=body, headers=headers) as resp:
                assert resp.status == 202
        await process.wait_for(
            lambda line: (
                line.get("delivery") == "d-live" and line.get("message") == "delivery handled"
            )
        )
        head = double.branch_sha(demo.REPO, "new-kep") or ""
        (run,) = double.check_runs(demo.REPO, head)
        assert run.conclusion == "failure"  # the sample KEP has a bad status and date
        assert await process.stop() == 0
    drained = await process.wait_for(lambda line: str(line.get("message")).startswith("drained"))
    assert drained["cancelled"] == []
    assert all(not line.get("raw") for line in process.lines), process.raw
    assert not any("Traceback" in text for text in process.raw)


SLOW_SERVER = textwrap.dedent(
    """
    import asyncio, logging, sys
    from bot.__main__ import main

    log = logging.getLogger("test.slow")

    async def slow(event):
        log.info("work started")
        await asyncio.sleep(float(sys.argv[1]))
        log.info("work finished")

    sys.exit(main(dispatch=slow))
    """
)


async def test_sigterm_lets_in_flight_work_finish(processes: list[Process]) -> None:
    process = await start_process(["-c", SLOW_SERVER, "1.0"], KEPBOT_DRAIN_SECONDS="20")
    processes.append(process)
    assert await _deliver(process, "d-slow") == 202
    await process.wait_for(lambda line: line.get("message") == "work started")
    assert await process.stop() == 0
    draining = process.index(lambda line: str(line.get("message")).startswith("draining"))
    finished = process.index(lambda line: line.get("message") == "work finished")
    drained = process.index(lambda line: str(line.get("message")).startswith("drained"))
    assert draining < finished < drained
    assert process.lines[finished]["delivery"] == "d-slow"
    assert process.lines[drained]["cancelled"] == []


async def test_sigterm_cancels_work_past_the_deadline(processes: list[Process]) -> None:
    process = await start_process(["-c", SLOW_SERVER, "3600"], KEPBOT_DRAIN_SECONDS="0.5")
    processes.append(process)
    assert await _deliver(process, "d-stuck") == 202
    await process.wait_for(lambda line: line.get("message") == "work started")
    assert await process.stop() == 0
    cancelled = await process.wait_for(
        lambda line: line.get("message") == "delivery cancelled at shutdown while running"
    )
    assert cancelled["delivery"] == "d-stuck"
    assert cancelled["level"] == "WARNING"
    drained = await process.wait_for(lambda line: str(line.get("message")).startswith("drained"))
    assert drained["cancelled"] == ["d-stuck"]
    assert not any(line.get("message") == "work finished" for line in process.lines)
