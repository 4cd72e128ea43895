"""The Prometheus registry and the /metrics endpoint."""

from __future__ import annotations

import re

import pytest

from bot import metrics as metrics_module
from bot.metrics import Metrics, Registry

from .conftest import StartServer
from .helpers import delivery_headers, ping_payload, pull_request_payload, sign

# One sample line of the text format: name, optional {labels}, value.
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    rf"[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{{{_LABEL}(?:,{_LABEL})*\}})? "
    r"(?:[-+]?[0-9.]+(?:e[-+]?[0-9]+)?|NaN|[+-]Inf)"
)


def parse(text: str) -> dict[str, float]:
    """Check every line is valid exposition and return the samples by their full name."""
    assert text.endswith("\n")
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge")
            typed.add(name)
            continue
        assert _SAMPLE.fullmatch(line), line
        name, value = line.rsplit(" ", 1)
        assert name.split("{")[0] in typed, f"sample before its TYPE line: {line}"
        samples[name] = float(value)
    return samples


def test_exposition_escapes_label_values_and_help() -> None:
    registry = Registry()
    counter = registry.counter("demo_total", "Help with a \\ and\na newline.", ["path"])
    counter.inc(path='a"b\\c\nd')
    counter.inc(2.5, path="plain")
    gauge = registry.gauge("demo_gauge", "A gauge.")
    gauge.set(float("inf"))
    text = registry.render()
    assert "# HELP demo_total Help with a \\\\ and\\na newline.\n" in text
    assert "# TYPE demo_total counter\n" in text
    assert 'demo_total{path="a\\"b\\\\c\\nd"} 1\n' in text
    assert 'demo_total{path="plain"} 2.5\n' in text
    assert "demo_gauge +Inf\n" in text
    assert len(parse(text)) == 3


def test_counters_reject_misuse() -> None:
    registry = Registry()
    counter = registry.counter("x_total", "X.", ["event"])
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(-1, event="push")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(status="200")
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("x_total", "again")
    with pytest.raises(ValueError, match="invalid label name"):
        registry.gauge("y", "Y.", ["bad-name"])
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.gauge("1y", "Y.")


def test_gauges_go_up_and_down() -> None:
    gauge = Registry().gauge("g", "G.")
    gauge.inc(3)
    gauge.dec()
    assert gauge.value() == 2


def test_github_metrics_api() -> None:
    metrics = Metrics()
    metrics.github_request(200)
    metrics.github_request(200)
    metrics.github_request("error")
    metrics.rate_limit(77, 4999)
    metrics.rate_limit(77, 4998)
    samples = parse(metrics.render())
    assert samples['kepbot_github_requests_total{status="200"}'] == 2
    assert samples['kepbot_github_requests_total{status="error"}'] == 1
    assert samples['kepbot_github_rate_limit_remaining{installation="77"}'] == 4998


def test_module_level_recorders_use_the_default_metrics() -> None:
    default = metrics_module.default_metrics()
    assert metrics_module.default_metrics() is default
    before = default.github_requests.value(status=502)
    metrics_module.github_request(502)
    metrics_module.rate_limit("token", 42)
    assert default.github_requests.value(status=502) == before + 1
    assert default.rate_limit_remaining.value(installation="token") == 42


async def test_metrics_endpoint_counts_deliveries(make_server: StartServer) -> None:
    server = await make_server(kepbot_max_body_bytes=4096)
    server.recorder.failing.add("fails")
    good = await server.deliver(pull_request_payload(1), delivery="ok")
    await server.deliver(pull_request_payload(1), delivery="ok")  # duplicate
    await server.deliver(pull_request_payload(2), delivery="fails")
    await server.deliver(ping_payload(), event="ping")
    await server.post(b"{}", delivery_headers(b"{}", signature=sign(b"{}", "wrong")))
    await server.post(b"[]", delivery_headers(b"[]"))
    await server.post(b" " * 5000, delivery_headers(b" " * 5000))
    assert good.status == 202
    await server.recorder.wait("end", "ok")
    await server.recorder.wait("start", "fails")

    reply = await server.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse(reply.text)
    assert samples['kepbot_deliveries_total{event="pull_request"}'] == 3
    assert samples['kepbot_deliveries_total{event="ping"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="signature"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="malformed"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="oversize"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="duplicate"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="overloaded"}'] == 0
    assert samples['kepbot_handled_total{event="pull_request"}'] == 1
    assert samples['kepbot_failed_total{event="pull_request"}'] == 1
    assert samples["kepbot_queue_depth"] == 0
    assert samples["kepbot_in_flight"] == 0
    assert "# TYPE kepbot_github_requests_total counter" in reply.text
    assert "# TYPE kepbot_github_rate_limit_remaining gauge" in reply.text
