"""One OpenTelemetry trace from the SDK call through the workflow to its activities, down to
each storage call.

The worker runs in this process (on the portal's loop) so that its spans reach the same
in-memory exporter as the SDK's. The Kubernetes platform's trace (one span per API request)
is in ``kubernetes/test_kube_tracing.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.worker import Worker

from harness import make_model
from kaptain.worker.settings import WorkerSettings
from spans import ancestors, named, one_tree, parent_name, recorded_spans, worker_in_process


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


@pytest.fixture
def in_process_worker(
    temporal_address: str, task_queue: str, kaptain_home: Path
) -> Iterator[Worker]:
    """A local-platform worker running on the portal's loop, in this process."""
    settings = WorkerSettings(address=temporal_address, task_queue=task_queue, home=kaptain_home)
    with worker_in_process(settings) as worker:
        yield worker


def test_train_is_one_trace_from_the_sdk_call_to_the_activities(
    spans: InMemorySpanExporter, in_process_worker: Worker
) -> None:
    spans.clear()
    assert make_model().train(workers=1, hyperparameters={"--epochs": 1})
    finished = list(spans.get_finished_spans())
    names = sorted({s.name for s in finished})

    root = one_tree(finished, "kaptain.train")
    assert root.attributes is not None
    assert root.attributes.get("kaptain.model_id") == "dev/tiny"
    starts = named(finished, "StartWorkflow:kaptain.TrainModel")
    assert len(starts) == 1, names
    start = starts[0]
    assert parent_name(start, finished) == "kaptain.train"
    for expected in (
        "RunWorkflow:kaptain.TrainModel",
        "StartChildWorkflow:kaptain.BuildImage",
        "RunWorkflow:kaptain.BuildImage",  # the child build
        "RunActivity:kaptain.build.check_image",
        "RunActivity:kaptain.build.build_image",
        "RunActivity:kaptain.train.start_job",
        "RunActivity:kaptain.train.wait_job",
        "QueryWorkflow:status",  # the SDK following the run
    ):
        assert named(finished, expected), (expected, names)

    # storage calls: the SDK's upload of the build context, and the activities' own
    uploads = [s for s in named(finished, "storage put_bytes") if "/build/" in key_of(s)]
    assert uploads and parent_name(uploads[0], finished) == "kaptain.train", names
    [recorded] = [s for s in named(finished, "storage put_bytes") if "/tracking/" in key_of(s)]
    assert ancestors(recorded, finished)[:1] == ["RunActivity:kaptain.tracking.record"]
    assert ancestors(recorded, finished)[-1] == "kaptain.train"
    checks = named(finished, "storage list")
    assert any("RunActivity:kaptain.storage.check_upload" in ancestors(s, finished) for s in checks)


def key_of(span: object) -> str:
    attributes = getattr(span, "attributes", None) or {}
    return str(attributes.get("kaptain.storage.key", ""))


def test_build_is_one_trace_from_the_sdk_call_to_the_activities(
    spans: InMemorySpanExporter, in_process_worker: Worker
) -> None:
    spans.clear()
    assert make_model().build()
    finished = list(spans.get_finished_spans())
    names = sorted({s.name for s in finished})

    one_tree(finished, "kaptain.build")
    starts = named(finished, "StartWorkflow:kaptain.BuildImage")
    assert len(starts) == 1, names
    start = starts[0]
    assert parent_name(start, finished) == "kaptain.build"
    for expected in (
        "RunWorkflow:kaptain.BuildImage",
        "RunActivity:kaptain.build.check_image",
        "RunActivity:kaptain.build.build_image",
    ):
        assert named(finished, expected), (expected, names)
