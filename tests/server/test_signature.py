"""The signature is checked first: nothing unsigned is parsed, queued or dispatched."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.webhook import signature_for

from .helpers import Server, delivery_headers, pull_request_payload, sign


def test_signature_matches_the_documented_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for(b"It's a Secret to Everybody", b"Hello, World!") == expected
    assert sign(b"Hello, World!") == expected


async def test_signed_delivery_is_queued_and_dispatched(server: Server) -> None:
    payload = pull_request_payload(7)
    reply = await server.deliver(payload, delivery="d-good")
    assert reply.status == 202
    assert reply.json() == {"queued": True, "delivery": "d-good"}
    await server.recorder.wait("end", "d-good")
    [event] = server.recorder.events
    assert event.event == "pull_request"
    assert event.delivery_id == "d-good"
    assert event.data == payload


NOT_JSON = b"this is {not json"
SHA1 = "sha1=" + hmac.new(b"It's a Secret to Everybody", NOT_JSON, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    ("headers_change", "message_part"),
    [
        pytest.param({"X-Hub-Signature-256": None}, "missing X-Hub-Signature-256", id="missing"),
        pytest.param(
            {"X-Hub-Signature-256": sign(NOT_JSON, "another secret")},
            "does not match",
            id="wrong-secret",
        ),
        pytest.param(
            {"X-Hub-Signature-256": sign(b"a different body")}, "does not match", id="other-body"
        ),
        pytest.param(
            {"X-Hub-Signature-256": sign(NOT_JSON).removeprefix("sha256=")},
            "64 hex digits",
            id="no-prefix",
        ),
        pytest.param({"X-Hub-Signature-256": sign(NOT_JSON)[:-2]}, "64 hex digits", id="truncated"),
        pytest.param({"X-Hub-Signature-256": ""}, "64 hex digits", id="empty"),
        pytest.param(
            {"X-Hub-Signature-256": None, "X-Hub-Signature": SHA1}, "legacy", id="sha1-only"
        ),
    ],
)
async def test_bad_signature_is_refused_before_parsing(
    server: Server, headers_change: dict[str, str | None], message_part: str
) -> None:
    # The body is not JSON: a 400 here would prove it was parsed before the signature check.
    headers = delivery_headers(NOT_JSON, delivery="d-bad")
    for name, value in headers_change.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    reply = await server.post(NOT_JSON, headers)
    assert reply.status == 401
    body = reply.json()
    assert body["error"] == "signature"
    assert message_part in body["message"]
    assert server.recorder.events == []
    assert server.metrics.rejected.value(reason="signature") == 1
    assert server.metrics.rejected.value(reason="malformed") == 0
    assert server.metrics.deliveries.value(event="pull_request") == 0


async def test_signature_is_checked_before_the_delivery_headers(server: Server) -> None:
    body = json.dumps(pull_request_payload()).encode()
    headers = delivery_headers(body, signature=sign(body, "wrong"))
    del headers["X-GitHub-Event"]
    reply = await server.post(body, headers)
    assert reply.status == 401


async def test_uppercase_hex_signature_is_accepted(server: Server) -> None:
    body = json.dumps(pull_request_payload()).encode()
    signature = "sha256=" + sign(body).removeprefix("sha256=").upper()
    reply = await server.post(body, delivery_headers(body, signature=signature))
    assert reply.status == 202
