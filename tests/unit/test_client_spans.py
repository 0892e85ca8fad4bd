"""Every Kubernetes API request and every object-store call is a span of the current trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kaptain.activities.kubernetes.api import SECRETS, KubeApi
from kaptain.activities.kubernetes.errors import Invalid
from kaptain.storage import LocalObjectStore, S3ObjectStore, client_from_env
from kubeemu import KubeEmulator
from spans import recorded_spans


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as recorded:
        yield recorded


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def under_one_parent(spans: InMemorySpanExporter, name: str = "caller") -> list[ReadableSpan]:
    """The spans recorded under one ``name`` span (which is checked to be their parent)."""
    finished = list(spans.get_finished_spans())
    [parent] = [s for s in finished if s.name == name]
    assert parent.context is not None
    children = [s for s in finished if s is not parent]
    for child in children:
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
        assert child.context is not None and child.context.trace_id == parent.context.trace_id
    return children


def test_each_kubernetes_request_is_a_client_span(spans: InMemorySpanExporter) -> None:
    secret = {"metadata": {"name": "s1"}, "stringData": {"token": "x"}}
    with KubeEmulator() as emulator:
        api = KubeApi(emulator.api_client())
        with trace.get_tracer("test").start_as_current_span("caller"):
            api.create(SECRETS, "team-a", secret)
            api.get(SECRETS, "team-a", "s1")
            assert api.delete(SECRETS, "team-a", "s1")
            assert not api.delete(SECRETS, "team-a", "s1")  # 404: control flow, no error
            with pytest.raises(Invalid):
                api.create(SECRETS, "team-a", {"metadata": {"name": "Not_Valid"}})
    children = under_one_parent(spans)
    assert [s.name for s in children] == [
        "k8s create secrets",
        "k8s get secrets",
        "k8s delete secrets",
        "k8s delete secrets",
        "k8s create secrets",
    ]
    assert all(s.kind is trace.SpanKind.CLIENT for s in children)
    created, _, deleted, gone, rejected = children
    assert created.attributes is not None
    assert created.attributes["k8s.namespace.name"] == "team-a"
    assert created.attributes["url.path"] == "/api/v1/namespaces/team-a/secrets"
    assert created.attributes["http.response.status_code"] == 201
    assert deleted.status.is_ok and gone.status.is_ok
    assert gone.attributes is not None and gone.attributes["http.response.status_code"] == 404
    assert not rejected.status.is_ok  # a real failure is an error span
    assert rejected.attributes is not None
    assert rejected.attributes["http.response.status_code"] == 422
    assert "token" not in str([dict(s.attributes or {}) for s in children])  # no bodies


def test_each_storage_call_is_a_client_span(
    spans: InMemorySpanExporter, tmp_path: Path, s3_env: dict[str, str], bucket: str
) -> None:
    local = LocalObjectStore(tmp_path)
    s3 = S3ObjectStore(bucket, client_from_env(s3_env))
    with trace.get_tracer("test").start_as_current_span("caller"):
        for store in (local, s3):
            store.put_bytes("models/a.txt", b"a")
            assert store.get_bytes("models/a.txt") == b"a"
            with pytest.raises(FileNotFoundError):
                store.get_bytes("models/missing")
    children = under_one_parent(spans)
    systems = [(s.name, (s.attributes or {}).get("kaptain.storage.system")) for s in children]
    assert systems == [
        ("storage put_bytes", "file"),
        ("storage get_bytes", "file"),
        ("storage get_bytes", "file"),
        ("storage put_bytes", "s3"),
        ("storage get_bytes", "s3"),
        ("storage get_bytes", "s3"),
    ]
    s3_put = children[3]
    assert s3_put.attributes is not None
    assert s3_put.attributes["kaptain.storage.bucket"] == bucket
    assert s3_put.attributes["kaptain.storage.key"] == "models/a.txt"
    missing = children[5]
    assert missing.status.is_ok  # a missing object is an answer, not an error
    assert missing.attributes is not None and missing.attributes["kaptain.storage.found"] is False
