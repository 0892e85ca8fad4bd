"""Serving through the SDK on the Kubernetes platform: Model -> ServeModel -> worker -> emulator.

The same user calls as on the local platform; the worker drives a KServe InferenceService
whose revisions the emulator's KServe controller serves with real model servers behind a
real router (``status.url``).
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from harness import all_histories
from kaptain.contracts.serve import ServingPhase
from kaptain.exceptions import ModelDeploymentException
from kaptain.model.models import Model
from kubestack import S3_KEY_ID, S3_SECRET, KubeStack
from servable import (
    Affine,
    FailsOnLargeInput,
    check_policy_rolls_back,
    check_rollout_survives_a_worker_kill,
    predict,
    save_torchscript,
    split,
)

NAME = "dev-tiny"


def upload(stack: KubeStack, directory: Path, revision: str) -> str:
    """Put a saved model in S3 as a trained revision; returns its URI."""
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    for path in directory.iterdir():
        key = f"models/dev/tiny/trained/{revision}/{path.name}"
        s3.put_object(Bucket="kaptain", Key=key, Body=path.read_bytes())
    return f"s3://kaptain/models/dev/tiny/trained/{revision}"


def model_at(stack: KubeStack, tmp_path: Path, name: str, module: object) -> str:
    save_torchscript(tmp_path / name, module)  # type: ignore[arg-type]
    return upload(stack, tmp_path / name, name)


def test_deploy_canary_promote_rollback_on_kubernetes(
    kube: KubeStack, tmp_path: Path, temporal_address: str
) -> None:
    model: Model = kube.model()
    first = model_at(kube, tmp_path, "one", Affine(1.0))
    second = model_at(kube, tmp_path, "two", Affine(2.0))

    assert model.deploy(model_uri=first)
    state = model.deployment()
    assert state is not None and state.url and state.phase is ServingPhase.SERVING
    url = state.url
    assert predict(url, NAME).json()["predictions"] == [[100.0, 200.0]]
    [isvc] = kube.emulator.objects("inferenceservices", "default")
    assert isvc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kaptain"
    storage_uri = isvc["spec"]["predictor"]["model"]["storageUri"]
    assert "/dev/tiny/deploy/" in storage_uri  # served from the deploy artifacts

    model.deploy_canary(canary_traffic_percentage=30, model_uri=second)
    [isvc] = kube.emulator.objects("inferenceservices", "default")
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 30
    seen = split(url, NAME, 1000)
    assert 250 <= seen[2.0] <= 350, seen

    with pytest.raises(ModelDeploymentException):
        model.deploy_canary(
            canary_traffic_percentage=50, model_uri="s3://kaptain/models/dev/tiny/trained/none"
        )
    assert 250 <= split(url, NAME, 1000)[2.0] <= 350  # the rollout stayed where it was

    model.rollback_canary()
    assert split(url, NAME, 50) == {1.0: 50}
    model.deploy_canary(canary_traffic_percentage=30, model_uri=second)
    model.promote_canary()
    assert split(url, NAME, 50) == {2.0: 50}

    model.undeploy()
    for kind in ("inferenceservices", "serviceaccounts", "secrets"):
        left = [o["metadata"]["name"] for o in kube.emulator.objects(kind, "default")]
        assert left in ([], ["default"]), (kind, left)  # only the namespace's own account
    assert "kube-tests-secret" not in all_histories(temporal_address)


def test_policy_rolls_back_a_failing_canary_on_kubernetes(kube: KubeStack, tmp_path: Path) -> None:
    check_policy_rolls_back(
        kube.model(),
        NAME,
        model_at(kube, tmp_path, "good", Affine(1.0)),
        model_at(kube, tmp_path, "bad", FailsOnLargeInput()),
    )


def test_worker_sigkill_mid_rollout_resumes_on_kubernetes(
    kube: KubeStack, tmp_path: Path, temporal_address: str
) -> None:
    check_rollout_survives_a_worker_kill(
        kube.model(),
        NAME,
        kube.worker,
        model_at(kube, tmp_path, "one", Affine(1.0)),
        model_at(kube, tmp_path, "two", Affine(2.0)),
    )
    assert S3_SECRET not in all_histories(temporal_address)
