"""Kubernetes-platform tests: S3 (moto), a TLS registry with auth, the API emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from harness import TRAINERS, WorkerProcess, make_model
from kaptain.config import Config
from kaptain.model.models import Model
from kaptain.platform.config.certificates import DockerRegistryCertificateProvider
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kaptain.stack.temporal_server import free_port
from kubeemu import KubeEmulator
from registry import LocalRegistry

S3_KEY_ID = "AKIAKUBETESTS0000000"
S3_SECRET = "kube-tests-secret-0123456789"  # noqa: S105 - a test credential for moto


@dataclass
class KubeStack:
    """Everything a Kubernetes-platform test talks to."""

    emulator: KubeEmulator
    registry: LocalRegistry
    s3_endpoint: str
    kubeconfig: Path
    worker: WorkerProcess

    def config(self, base_dir: Path = TRAINERS) -> Config:
        return Config(
            DockerConfigurationProvider(self.registry.docker_config_json),
            S3ConfigurationProvider(
                aws_access_key_id=S3_KEY_ID,
                aws_secret_access_key=S3_SECRET,
                s3_endpoint=self.s3_endpoint,
                s3_force_path_style=True,
            ),
            docker_registry_url=self.registry.url,
            docker_registry_certificate_provider=DockerRegistryCertificateProvider(
                self.registry.ca_pem
            ),
            base_dir=str(base_dir),
            base_model_storage_uri="s3://kaptain/models",
        )

    def model(self, model_id: str = "dev/tiny", **overrides: object) -> Model:
        fields: dict[str, object] = {
            "image_name": f"{self.registry.host}/kaptain/tiny",
            "config": self.config(),
        }
        fields.update(overrides)
        return make_model(model_id, **fields)


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


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
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
