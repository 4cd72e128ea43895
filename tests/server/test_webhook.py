"""Malformed, oversize, ping, duplicate and overload handling of POST /webhook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from .conftest import StartServer
from .helpers import (
    WAIT,
    Server,
    delivery_headers,
    ping_payload,
    pull_request_payload,
    push_payload,
    sign,
)

GOOD = json.dumps(pull_request_payload()).encode()


@pytest.mark.parametrize(
    ("body", "change", "message_part"),
    [
        pytest.param(b"{not json", {}, "could not be decoded as JSON", id="not-json"),
        pytest.param(b"\xff\xfe{}", {}, "could not be decoded as JSON", id="not-utf8"),
        pytest.param(b"[1, 2, 3]", {}, "must be a JSON object", id="json-array"),
        pytest.param(b"[" * 100_000, {}, "nested too deeply", id="too-deep"),
        pytest.param(b"", {}, "must be a JSON object", id="empty"),
        pytest.param(GOOD, {"X-GitHub-Event": None}, "X-GitHub-Event", id="no-event"),
        pytest.param(GOOD, {"X-GitHub-Delivery": None}, "X-GitHub-Delivery", id="no-delivery"),
        pytest.param(GOOD, {"X-GitHub-Delivery": "  "}, "X-GitHub-Delivery", id="blank-delivery"),
        pytest.param(GOOD, {"Content-Type": "text/plain"}, "Content-Type", id="text-plain"),
        pytest.param(
            GOOD,
            {"Content-Type": "application/json; charset=no-such-charset"},
            "could not be decoded",
            id="unknown-charset",
        ),
    ],
)
async def test_malformed_delivery_is_400(
    server: Server, body: bytes, change: dict[str, str | None], message_part: str
) -> None:
    headers = delivery_headers(body)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    reply = await server.post(body, headers)
    assert reply.status == 400
    assert reply.json()["error"] == "malformed"
    assert message_part in reply.json()["message"]
    assert server.recorder.events == []
    assert server.metrics.rejected.value(reason="malformed") == 1


async def test_what_json_allows_is_accepted_whichever_decoder_reads_it(server: Server) -> None:
    """A lone surrogate escape is valid JSON (GitHub relays what people type) though the
    fast decoder refuses it: the delivery is decoded as sent, not refused."""
    payload = pull_request_payload()
    payload["pull_request"]["title"] = "broken \ud83d emoji"
    body = json.dumps(payload).encode()
    assert b"\\ud83d" in body
    reply = await server.post(body, delivery_headers(body, delivery="d-surrogate"))
    assert reply.status == 202
    await server.recorder.wait("end", "d-surrogate")
    assert server.recorder.events[0].data["pull_request"]["title"] == "broken \ud83d emoji"


async def test_form_encoded_delivery_is_accepted(server: Server) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(push_payload())}).encode()
    headers = delivery_headers(body, event="push", delivery="d-form")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    reply = await server.post(body, headers)
    assert reply.status == 202
    await server.recorder.wait("end", "d-form")
    assert server.recorder.events[0].data["ref"] == "refs/heads/main"


async def test_oversize_with_content_length_is_refused_before_the_body_arrives(
    make_server: StartServer,
) -> None:
    server = await make_server(kepbot_max_body_bytes=1024)
    rest_of_body = asyncio.Event()  # never set: the server must answer without it

    async def body() -> AsyncIterator[bytes]:
        yield b"{" + b" " * 100
        await rest_of_body.wait()
        yield b"}"

    headers = delivery_headers(b"", signature=sign(b""))
    headers["Content-Length"] = str(50 * 1024 * 1024)
    reply = await asyncio.wait_for(server.post(body(), headers), WAIT)
    assert reply.status == 413
    assert reply.json()["error"] == "oversize"
    assert "1024 bytes" in reply.json()["message"]
    assert reply.headers.get("Connection") == "close"
    assert not rest_of_body.is_set()
    assert server.metrics.rejected.value(reason="oversize") == 1
    assert server.recorder.events == []


async def test_oversize_chunked_body_is_refused_while_streaming(make_server: StartServer) -> None:
    server = await make_server(kepbot_max_body_bytes=1024)
    sent = 0
    rest_of_body = asyncio.Event()  # never set

    async def body() -> AsyncIterator[bytes]:
        # No Content-Length: the client sends this with chunked transfer encoding.
        nonlocal sent
        for _ in range(5):
            sent += 300
            yield b" " * 300
        await rest_of_body.wait()
        yield b"{}"

    reply = await asyncio.wait_for(server.post(body(), delivery_headers(b"")), WAIT)
    assert reply.status == 413
    assert reply.json()["error"] == "oversize"
    assert sent >= 1200  # the cap was passed at the fourth chunk; the body never ended
    assert not rest_of_body.is_set()
    assert server.metrics.rejected.value(reason="oversize") == 1


async def test_chunked_body_within_the_cap_is_accepted(make_server: StartServer) -> None:
    server = await make_server(kepbot_max_body_bytes=len(GOOD))
    pieces = [GOOD[i : i + 100] for i in range(0, len(GOOD), 100)]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    reply = await server.post(body(), delivery_headers(GOOD, delivery="d-chunked"))
    assert reply.status == 202
    await server.recorder.wait("end", "d-chunked")
    assert server.recorder.events[0].data == pull_request_payload()


async def test_accepted_delivery_is_answered_202_with_its_id(server: Server) -> None:
    delivery = 'd-"quoted"-\u00e9'
    reply = await server.deliver(pull_request_payload(), delivery=delivery)
    assert reply.status == 202
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.json() == {"queued": True, "delivery": delivery}
    await server.recorder.wait("end", delivery)


async def test_ping_is_answered_and_not_queued(server: Server) -> None:
    reply = await server.deliver(ping_payload(), event="ping", delivery="d-ping")
    assert reply.status == 200
    assert reply.json() == {"ok": True, "zen": "Design for failure."}
    assert server.pool.queue_depth == 0
    assert server.metrics.deliveries.value(event="ping") == 1
    # A later delivery is dispatched first and alone: the ping never reached the worker pool.
    await server.deliver(pull_request_payload(), delivery="d-after-ping")
    await server.recorder.wait("end", "d-after-ping")
    assert [event.delivery_id for event in server.recorder.events] == ["d-after-ping"]


async def test_ping_needs_a_signature_too(server: Server) -> None:
    body = json.dumps(ping_payload()).encode()
    headers = delivery_headers(body, event="ping", signature=sign(body, "wrong"))
    reply = await server.post(body, headers)
    assert reply.status == 401


async def test_duplicate_delivery_is_dispatched_once(server: Server) -> None:
    first = await server.deliver(pull_request_payload(), delivery="d-dup", hook_id="30")
    second = await server.deliver(pull_request_payload(), delivery="d-dup", hook_id="30")
    assert first.status == 202
    assert second.status == 200
    assert second.json() == {"duplicate": True, "delivery": "d-dup"}
    # The same delivery id sent to another webhook is a distinct delivery.
    other_hook = await server.deliver(pull_request_payload(), delivery="d-dup", hook_id="31")
    assert other_hook.status == 202
    marker = await server.deliver(pull_request_payload(2), delivery="d-marker")
    assert marker.status == 202
    await server.recorder.wait("end", "d-marker")
    assert server.recorder.seen("start").count("d-dup") == 2  # hooks 30 and 31, once each
    assert server.metrics.rejected.value(reason="duplicate") == 1


async def test_failed_delivery_can_be_redelivered(server: Server) -> None:
    server.recorder.failing.add("d-retry")
    assert (await server.deliver(pull_request_payload(), delivery="d-retry")).status == 202
    await server.recorder.wait("start", "d-retry")
    # The handler raises in the same step that marked it started.
    assert server.metrics.failed.value(event="pull_request") == 1
    server.recorder.failing.clear()
    again = await server.deliver(pull_request_payload(), delivery="d-retry")
    assert again.status == 202
    await server.recorder.wait("end", "d-retry")


async def test_full_queue_answers_503_and_drops_nothing(make_server: StartServer) -> None:
    server = await make_server(kepbot_workers=1, kepbot_queue_size=2)
    release = server.recorder.gate("d-1")
    assert (await server.deliver(pull_request_payload(1), delivery="d-1")).status == 202
    await server.recorder.wait("start", "d-1")  # the only worker is busy
    assert (await server.deliver(pull_request_payload(2), delivery="d-2")).status == 202
    assert (await server.deliver(pull_request_payload(3), delivery="d-3")).status == 202

    refused = await server.deliver(pull_request_payload(4), delivery="d-4")
    assert refused.status == 503
    assert refused.json()["error"] == "overloaded"
    assert "redeliver" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert server.metrics.rejected.value(reason="overloaded") == 1

    release.set()
    await server.recorder.wait("end", "d-3")
    # The refused delivery was not remembered as seen: its redelivery is accepted.
    assert (await server.deliver(pull_request_payload(4), delivery="d-4")).status == 202
    await server.recorder.wait("end", "d-4")
    assert server.recorder.seen("end") == ["d-1", "d-2", "d-3", "d-4"]
