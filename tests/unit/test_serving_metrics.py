"""Parsing Knative queue-proxy style request metrics (what the local router serves)."""

from __future__ import annotations

from kaptain.contracts.serve import InferenceProtocol, RevisionMetrics
from kaptain.serving.examples import probe_request
from kaptain.serving.metrics import parse_deployment_metrics
from kaptain.serving.request_metrics import RequestMetrics, RevisionKey

_REV = 'namespace_name="prod",service_name="dev-mnist",revision_name="dev-mnist-predictor-00001"'
_OTHER = 'namespace_name="prod",service_name="other",revision_name="other-00001"'
KNATIVE_SCRAPE = f"""\
# HELP revision_request_count The number of requests that are routed to queue-proxy
# TYPE revision_request_count counter
revision_request_count_total{{{_REV},response_code="200",response_code_class="2xx"}} 40 17000000
revision_request_count_total{{{_REV},response_code="503",response_code_class="5xx"}} 2
revision_request_count_total{{{_OTHER},response_code_class="2xx"}} 99
# TYPE revision_request_latencies histogram
revision_request_latencies_bucket{{{_REV},response_code_class="2xx",le="5.0"}} 30
revision_request_latencies_bucket{{{_REV},response_code_class="2xx",le="+Inf"}} 40
revision_request_latencies_bucket{{{_REV},response_code_class="5xx",le="+Inf"}} 2
revision_request_latencies_bucket{{{_REV},response_code_class="5xx",le="5.0"}} 0
revision_request_latencies_bucket{{{_REV},response_code_class="2xx",le="0.5"}} 1
revision_request_latencies_sum{{{_REV},response_code_class="2xx"}} 123.5
"""


def test_knative_scrape_sums_classes_and_orders_buckets() -> None:
    metrics = parse_deployment_metrics(KNATIVE_SCRAPE, "dev-mnist", "prod")

    assert list(metrics.revisions) == ["dev-mnist-predictor-00001"]
    revision = metrics.revisions["dev-mnist-predictor-00001"]
    assert revision.requests == 42
    assert revision.errors == 2
    assert revision.latency_buckets == {"0.5": 1, "5": 30, "+Inf": 42}
    assert list(revision.latency_buckets)[-1] == "+Inf"


def test_other_namespaces_and_services_are_ignored() -> None:
    assert parse_deployment_metrics(KNATIVE_SCRAPE, "dev-mnist", "default").revisions == {}
    other = parse_deployment_metrics(KNATIVE_SCRAPE, "other")
    assert other.revisions == {"other-00001": RevisionMetrics(requests=99)}


def test_router_rendering_round_trips() -> None:
    recorder = RequestMetrics()
    canary = RevisionKey("default", "dev-mnist", "r2")
    baseline = RevisionKey("default", "dev-mnist", "r1")
    for status, latency in ((200, 3.0), (200, 5.0), (500, 12.0), (404, 250.0)):
        recorder.started(canary)
        recorder.finished(canary, status, latency)
    recorder.started(baseline)
    recorder.finished(baseline, 502, 70_000.0)
    recorder.started(baseline)  # still in flight
    text = recorder.render()

    assert 'revision_inflight_requests{namespace_name="default",service_name="dev-mnist",' in text
    assert recorder.inflight(baseline) == 1
    metrics = parse_deployment_metrics(text, "dev-mnist", "default")
    r2 = metrics.revisions["r2"]
    assert (r2.requests, r2.errors) == (4, 1)
    assert r2.latency_buckets["5"] == 2  # 5.0 ms falls in le=5 (bounds are inclusive)
    assert r2.latency_buckets["10"] == 2
    assert r2.latency_buckets["20"] == 3
    assert r2.latency_buckets["250"] == 4
    assert r2.latency_buckets["+Inf"] == 4
    r1 = metrics.revisions["r1"]
    assert (r1.requests, r1.errors) == (1, 1)
    assert r1.latency_buckets["50000"] == 0
    assert r1.latency_buckets["100000"] == 1


def test_escaped_label_values_and_garbage_lines() -> None:
    text = (
        'revision_request_count{service_name="a\\"b",namespace_name="n",'
        'revision_name="r\\\\1",response_code_class="5xx"} 3\n'
        "not a sample line at all\n"
        "\n"
    )
    metrics = parse_deployment_metrics(text, 'a"b', "n")
    assert metrics.revisions == {"r\\1": RevisionMetrics(requests=3, errors=3)}


def test_the_example_request_is_put_in_each_protocol() -> None:
    v1 = {"instances": [[[1.0, 2.0], [3.0, 4.0]]]}
    assert probe_request(InferenceProtocol.V1, v1) == v1
    assert probe_request(InferenceProtocol.V2, v1) == {
        "inputs": [
            {"name": "input-0", "shape": [1, 2, 2], "datatype": "FP32", "data": v1["instances"]}
        ]
    }
    assert probe_request(InferenceProtocol.V2, [[1, 2]])["inputs"][0]["datatype"] == "INT64"
    v2 = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [0.5]}]}
    assert probe_request(InferenceProtocol.V2, v2) == v2
    assert probe_request(InferenceProtocol.V1, v2) == {"instances": [0.5]}
