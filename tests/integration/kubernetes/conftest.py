"""Kubernetes-platform tests: S3 (moto), a TLS registry with auth, the API emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from harness import WorkerProcess
from kaptain.stack.temporal_server import free_port
from kubeemu import KubeEmulator
from kubestack import S3_KEY_ID, S3_SECRET, KubeStack
from registry import LocalRegistry


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    ).create_bucket(Bucket="kaptain")
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """A registry per test: the emulator's kubelet runs images its own Kaniko built."""
    with LocalRegistry(tmp_path / "registry") as running:
        yield running


@pytest.fixture
def kube(
    temporal_address: str,
    task_queue: str,
    kaptain_home: Path,
    tmp_path: Path,
    s3_server: str,
    registry: LocalRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[KubeStack]:
    """SDK -> Temporal -> worker (--platform kubernetes) -> API emulator, per test."""
    emulator = KubeEmulator()
    emulator.start()
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KAPTAIN_PLATFORM", "kubernetes")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("KAPTAIN_SDK_NAMESPACE", "default")
    worker = WorkerProcess(
        temporal_address,
        task_queue,
        kaptain_home,
        tmp_path / "worker.log",
        platform="kubernetes",
        extra_args=["--kubeconfig", str(kubeconfig), "--stuck-grace-seconds", "2"],
    )
    try:
        worker.start()
        yield KubeStack(emulator, registry, s3_server, kubeconfig, worker)
    finally:
        worker.stop()
        emulator.stop()
