"""The Prometheus registry and the /metrics endpoint."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics as metrics_module
from bot.metrics import CONTENT_TYPE, Metrics

from .conftest import StartServer
from .helpers import delivery_headers, ping_payload, pull_request_payload, sign


def parse(text: str) -> dict[str, float]:
    """Parse the exposition with Prometheus' own parser; the samples by their full name
    (``_created`` timestamps left out)."""
    assert text.endswith("\n")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        assert family.type in ("counter", "gauge"), family
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f'{name}="{value}"' for name, value in sample.labels.items())
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_label_values_are_escaped_in_the_exposition() -> None:
    metrics = Metrics()
    metrics.deliveries.inc(event='a"b\\c\nd')
    metrics.deliveries.inc(2.5, event="plain")
    text = metrics.render()
    assert 'kepbot_deliveries_total{event="a\\"b\\\\c\\nd"} 1.0\n' in text
    samples = parse(text)
    assert samples['kepbot_deliveries_total{event="a"b\\c\nd"}'] == 1
    assert samples['kepbot_deliveries_total{event="plain"}'] == 2.5


def test_every_family_keeps_its_name_and_type() -> None:
    families = {f.name: f.type for f in text_string_to_metric_families(Metrics().render())}
    assert {name: kind for name, kind in families.items() if not name.endswith("_created")} == {
        "kepbot_deliveries": "counter",
        "kepbot_deliveries_rejected": "counter",
        "kepbot_handled": "counter",
        "kepbot_failed": "counter",
        "kepbot_queue_depth": "gauge",
        "kepbot_in_flight": "gauge",
        "kepbot_github_requests": "counter",
        "kepbot_github_rate_limit_remaining": "gauge",
    }


def test_counters_cannot_decrease_and_take_their_labels() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError):
        metrics.deliveries.inc(-1, event="push")
    with pytest.raises(ValueError):
        metrics.deliveries.inc(status="200")
    assert metrics.deliveries.value(event="push") == 0


def test_gauges_go_up_and_down() -> None:
    gauge = Metrics().queue_depth
    gauge.inc(3)
    gauge.dec()
    assert gauge.value() == 2
    gauge.set(7)
    assert gauge.value() == 7


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
    assert reply.headers["Content-Type"] == CONTENT_TYPE
    samples = parse(reply.text)
    assert samples['kepbot_deliveries_total{event="pull_request"}'] == 3
    assert samples['kepbot_deliveries_total{event="ping"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="signature"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="malformed"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="oversize"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="duplicate"}'] == 1
    assert samples['kepbot_deliveries_rejected_total{reason="overloaded"}'] == 0
    assert samples['kepbot_deliveries_rejected_total{reason="slow"}'] == 0
    assert samples['kepbot_handled_total{event="pull_request"}'] == 1
    assert samples['kepbot_failed_total{event="pull_request"}'] == 1
    assert samples["kepbot_queue_depth"] == 0
    assert samples["kepbot_in_flight"] == 0
    assert "# TYPE kepbot_github_requests_total counter" in reply.text
    assert "# TYPE kepbot_github_rate_limit_remaining gauge" in reply.text
