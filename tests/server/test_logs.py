"""JSON log lines and the delivery context they carry."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logs import (
    JsonFormatter,
    configure_logging,
    current_context,
    event_context,
    log_context,
)

from .conftest import StartServer
from .helpers import (
    INSTALLATION,
    REPO,
    LogWatcher,
    Recorder,
    delivery_headers,
    pull_request_payload,
)

_RECORD_SWITCHES = (
    "_srcfile",
    "logThreads",
    "logProcesses",
    "logMultiprocessing",
    "logAsyncioTasks",  # Python 3.12 and later
)


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    switches = {name: getattr(logging, name) for name in _RECORD_SWITCHES if hasattr(logging, name)}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)
        for name, value in switches.items():
            setattr(logging, name, value)


async def test_log_lines_of_a_delivery_carry_its_context(
    make_server: StartServer, logs: LogWatcher
) -> None:
    handler_logger = logging.getLogger("bot.handlers.example")

    class LoggingRecorder(Recorder):
        async def __call__(self, event: Any) -> None:
            handler_logger.info("looking at the pull request", extra={"step": "check"})
            await super().__call__(event)

    server = await make_server(recorder=LoggingRecorder())
    await server.deliver(pull_request_payload(9), delivery="d-logged")
    await server.recorder.wait("end", "d-logged")
    line = await logs.wait_for(lambda line: line["message"] == "looking at the pull request")
    assert line["delivery"] == "d-logged"
    assert line["event"] == "pull_request"
    assert line["action"] == "opened"
    assert line["installation"] == INSTALLATION
    assert line["repository"] == REPO
    assert line["logger"] == "bot.handlers.example"
    assert line["level"] == "INFO"
    assert line["step"] == "check"
    assert line["time"].endswith("+00:00")
    handled = await logs.wait_for(lambda line: line["message"] == "delivery handled")
    assert handled["delivery"] == "d-logged"
    assert handled["duration_ms"] >= 0


async def test_rejections_are_logged_with_the_claimed_delivery(
    make_server: StartServer, logs: LogWatcher
) -> None:
    server = await make_server()
    body = b"{}"
    await server.post(body, delivery_headers(body, delivery="d-forged", signature="sha256=00"))
    line = await logs.wait_for(lambda line: line["message"].startswith("delivery rejected"))
    assert line["level"] == "WARNING"
    assert line["delivery"] == "d-forged"
    assert line["reason"] == "signature"


async def test_context_is_isolated_between_tasks() -> None:
    seen: dict[str, object] = {}
    entered = {name: asyncio.Event() for name in ("a", "b")}
    go = asyncio.Event()

    async def handle(name: str) -> None:
        with log_context(delivery=name):
            entered[name].set()
            await go.wait()  # both tasks are inside their contexts at once
            seen[name] = current_context()["delivery"]

    tasks = [asyncio.create_task(handle(name)) for name in ("a", "b")]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in entered.values())), 5)
    go.set()
    await asyncio.gather(*tasks)
    assert seen == {"a": "a", "b": "b"}
    assert dict(current_context()) == {}


def test_log_context_nests_and_resets() -> None:
    with log_context(delivery="outer", event="push"):
        with log_context(delivery="inner", repository=None):
            assert dict(current_context()) == {"delivery": "inner", "event": "push"}
        assert current_context()["delivery"] == "outer"
    assert dict(current_context()) == {}


def test_event_context_reads_the_payload() -> None:
    fields = event_context(pull_request_payload(3), event="pull_request", delivery="d")
    assert fields == {
        "delivery": "d",
        "event": "pull_request",
        "action": "opened",
        "installation": INSTALLATION,
        "repository": REPO,
    }
    assert event_context("not a mapping", event="ping") == {"event": "ping"}


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_logging_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    configure_logging("DEBUG", stream=stream)  # replaces its handler, does not add one
    log = logging.getLogger("bot.test")
    with log_context(delivery="d-42"):
        log.debug("first %s", "line")
        try:
            raise ValueError("broken")
        except ValueError:
            log.exception("second line")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["first line", "second line"]
    assert all(line["delivery"] == "d-42" for line in lines)
    assert lines[1]["level"] == "ERROR"
    assert lines[1]["exc_type"] == "ValueError"
    assert "raise ValueError" in lines[1]["exc"]
    assert set(lines[0]) == {"time", "level", "logger", "message", "delivery"}


@pytest.mark.usefixtures("restore_root_logger")
def test_configured_records_skip_what_the_lines_never_show() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logging.getLogger().addHandler(Keep())
    logging.getLogger("bot.test").info("handled")
    (record,) = records
    assert (record.lineno, record.threadName, record.processName) == (0, None, None)
    assert json.loads(stream.getvalue())["message"] == "handled"


def test_line_time_is_utc_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, "tick", None, None)
    stamps = []
    for created in (1_700_000_000.1239, 1_700_000_000.9995, 1_700_000_001.0, 1_699_999_999.5):
        record.created = created
        stamps.append(json.loads(formatter.format(record))["time"])
    assert stamps == [
        "2023-11-14T22:13:20.123+00:00",
        "2023-11-14T22:13:20.999+00:00",
        "2023-11-14T22:13:21.000+00:00",
        "2023-11-14T22:13:19.500+00:00",
    ]
