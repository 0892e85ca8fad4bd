"""On the Kubernetes platform the trace reaches every API request and storage call.

SDK call -> workflow -> activity -> ``k8s <verb> <resource>`` (the API emulator) and
``storage <operation>`` (S3 on moto), all one trace. The worker runs in this process so its
spans reach the test's in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness import WorkerProcess
from kaptain.worker.settings import Platform, WorkerSettings
from kubeemu import KubeEmulator
from kubestack import KubeStack
from registry import LocalRegistry
from spans import ancestors, named, one_tree, recorded_spans, worker_in_process


@pytest.fixture
def traced_kube(
    temporal_address: str,
    task_queue: str,
    kaptain_home: Path,
    tmp_path: Path,
    s3_server: str,
    registry: LocalRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[KubeStack, InMemorySpanExporter]]:
    """The Kubernetes test stack with its worker in this process, spans recorded."""
    with KubeEmulator() as emulator, recorded_spans() as spans:
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KAPTAIN_PLATFORM", "kubernetes")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("KAPTAIN_SDK_NAMESPACE", "default")
        settings = WorkerSettings(
            platform=Platform.KUBERNETES,
            address=temporal_address,
            task_queue=task_queue,
            home=kaptain_home,
            kubeconfig=str(kubeconfig),
            stuck_grace_seconds=2,
        )
        # the worker runs in this process: the stack's worker process is never started
        idle = WorkerProcess(temporal_address, task_queue, kaptain_home, tmp_path / "unused.log")
        with worker_in_process(settings):
            yield KubeStack(emulator, registry, s3_server, kubeconfig, idle), spans


def test_train_traces_each_kubernetes_request_and_storage_call(
    traced_kube: tuple[KubeStack, InMemorySpanExporter],
) -> None:
    kube, spans = traced_kube
    spans.clear()
    assert kube.model("dev/traced").train(workers=2, hyperparameters={"--epochs": 1})
    finished = list(spans.get_finished_spans())
    names = sorted({s.name for s in finished})
    one_tree(finished, "kaptain.train")

    [create_job] = named(finished, "k8s create pytorchjobs.kubeflow.org")
    assert ancestors(create_job, finished)[0] == "RunActivity:kaptain.train.start_job"
    assert create_job.attributes is not None
    assert create_job.attributes["http.response.status_code"] == 201
    assert create_job.attributes["k8s.namespace.name"] == "default"
    kaniko = named(finished, "k8s create jobs.batch")
    assert kaniko and ancestors(kaniko[0], finished)[0] == "RunActivity:kaptain.build.build_image"
    watches = named(finished, "k8s watch pytorchjobs.kubeflow.org")
    assert any("RunActivity:kaptain.train.wait_job" in ancestors(w, finished) for w in watches)
    deletes = named(finished, "k8s delete secrets")  # the run's credentials, when it ends
    assert deletes, names

    s3_calls = [s for s in finished if (s.attributes or {}).get("kaptain.storage.system") == "s3"]
    by_key = {(s.name, str((s.attributes or {}).get("kaptain.storage.key"))): s for s in s3_calls}
    [upload] = [
        s for (name, key), s in by_key.items() if name == "storage put_bytes" and "/build/" in key
    ]
    assert ancestors(upload, finished) == ["kaptain.train"]  # the SDK's build-context upload
    [record] = [s for (name, key), s in by_key.items() if "/tracking/" in key]
    assert ancestors(record, finished)[0] == "RunActivity:kaptain.tracking.record"
    [check] = [s for (name, key), s in by_key.items() if name == "storage list"]
    assert ancestors(check, finished)[0] == "RunActivity:kaptain.storage.check_upload"
