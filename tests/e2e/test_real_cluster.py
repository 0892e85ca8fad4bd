"""Build + train on a REAL cluster (Training Operator installed), skipped without one.

Set, then run ``make e2e`` (steps for kind in deploy/README.md):

* ``KAPTAIN_E2E_KUBECONFIG`` -- kubeconfig of the cluster (namespace from
  ``KAPTAIN_E2E_NAMESPACE``, default ``default``);
* ``KAPTAIN_E2E_IMAGE_PREFIX`` -- where Kaniko pushes, as pods see it
  (``kind-registry:5000/kaptain``);
* ``KAPTAIN_E2E_REGISTRY_URL`` -- the same registry as this machine reaches it
  (``http://localhost:5001``);
* ``KAPTAIN_E2E_BASE_IMAGE`` -- a base image with Python and the kaptain package
  (``docker build -f deploy/Dockerfile`` gives one);
* ``KAPTAIN_E2E_S3_ENDPOINT``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` -- MinIO or
  S3 reachable from the pods and from here, with a bucket ``kaptain``.

The worker runs here with ``--platform kubernetes`` against the session's Temporal dev server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import TRAINERS, WorkerProcess, make_model
from kaptain.config import Config
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("KAPTAIN_E2E_KUBECONFIG"),
        reason="real-cluster suite: set KAPTAIN_E2E_KUBECONFIG (see deploy/README.md)",
    ),
]


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} must be set for the real-cluster suite (deploy/README.md)")
    return value


@pytest.fixture
def cluster_worker(
    temporal_address: str,
    task_queue: str,
    kaptain_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[WorkerProcess]:
    kubeconfig = required("KAPTAIN_E2E_KUBECONFIG")
    monkeypatch.setenv("KAPTAIN_PLATFORM", "kubernetes")
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    monkeypatch.setenv("KAPTAIN_SDK_NAMESPACE", os.environ.get("KAPTAIN_E2E_NAMESPACE", "default"))
    worker = WorkerProcess(
        temporal_address,
        task_queue,
        kaptain_home,
        tmp_path / "worker.log",
        platform="kubernetes",
        extra_args=["--kubeconfig", kubeconfig],
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_build_and_train_on_a_real_cluster(cluster_worker: WorkerProcess) -> None:
    config = Config(
        DockerConfigurationProvider.empty(),
        S3ConfigurationProvider(
            aws_access_key_id=required("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=required("AWS_SECRET_ACCESS_KEY"),
            s3_endpoint=required("KAPTAIN_E2E_S3_ENDPOINT"),
            s3_force_path_style=True,
        ),
        docker_registry_url=required("KAPTAIN_E2E_REGISTRY_URL"),
        base_dir=str(TRAINERS),
        base_model_storage_uri="s3://kaptain/models",
    )
    model = make_model(
        "e2e/tiny",
        image_name=f"{required('KAPTAIN_E2E_IMAGE_PREFIX')}/tiny",
        base_image=required("KAPTAIN_E2E_BASE_IMAGE"),
        config=config,
    )
    assert model.train(workers=2, hyperparameters={"--epochs": 2, "--lr": 0.5}, timeout=900)
    assert model.metrics is not None and model.metrics["accuracy"]["latest"] == 1.0
    assert model.build()  # the same contents: skipped through the registry's labels
