"""Serving on the Kubernetes platform: KubeServingActivities against the API emulator.

The emulator's KServe controller validates every InferenceService against the real CRD,
downloads the model from S3 (moto) with the credentials of the service account's Secret,
serves it with real ``kaptain.serving.server`` processes behind a real router whose URL is
``status.url``, and serves each revision's metrics through the service proxy; so every
prediction and every split below is real HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest
import requests
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from kaptain.activities.kubernetes.connect import connect
from kaptain.activities.kubernetes.manifests import managed_labels, storage_secret
from kaptain.activities.kubernetes.permissions import WORKER_PERMISSIONS
from kaptain.activities.kubernetes.secrets import KubeCredentials, KubeSecrets
from kaptain.activities.kubernetes.serving import KubeServingActivities
from kaptain.contracts.common import ModelFramework, StorageRef
from kaptain.contracts.serve import ApplyServing, DeploymentRef, RevisionSpec
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kubeemu import KubeEmulator
from kubestack import S3_KEY_ID, S3_SECRET
from servable import EXAMPLE, Affine, save_torchscript, split

A = TypeVar("A")
R = TypeVar("R")
NAMESPACE = "serving"
BASE = "s3://kaptain/models"


@pytest.fixture(scope="module")
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def models(s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """TorchScript revisions in S3: r1 doubles its input, r2 triples it, r3 quadruples it."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    uris = {}
    for revision, scale in (("r1", 2.0), ("r2", 3.0), ("r3", 4.0)):
        local = tmp_path_factory.mktemp(revision)
        save_torchscript(local, Affine(scale))
        for path in local.iterdir():
            key = f"models/dev/tiny/deploy/{revision}/{path.name}"
            s3.put_object(Bucket="kaptain", Key=key, Body=path.read_bytes())
        uris[revision] = f"{BASE}/dev/tiny/deploy/{revision}/"
    uris["missing"] = f"{BASE}/dev/tiny/deploy/missing/"
    return uris


@pytest.fixture(scope="module")
def activities(
    emulator: KubeEmulator, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> KubeServingActivities:
    credentials = S3ConfigurationProvider(
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
        s3_endpoint=s3_server,
        s3_force_path_style=True,
    ).get_secret_body()
    emulator.put_object(storage_secret("tiny-storage", NAMESPACE, "dev/tiny", credentials))
    api = connect(str(emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")))
    return KubeServingActivities(
        api,
        KubeCredentials(KubeSecrets(api)),
        ready_timeout_seconds=150,
        probe_deadline_seconds=30,
        round_seconds=1,
    )


def ref(name: str) -> DeploymentRef:
    return DeploymentRef(
        namespace=NAMESPACE,
        model_id="dev/tiny",
        name=name,
        storage=StorageRef(
            base_uri=BASE, credentials_ref="tiny-storage", credentials_namespace=NAMESPACE
        ),
        labels=managed_labels("dev/tiny"),
    )


def revision(name: str, uri: str) -> RevisionSpec:
    return RevisionSpec(
        revision=name, source_uri=uri, model_uri=uri, framework=ModelFramework.PYTORCH
    )


def run(method: Callable[[A], Awaitable[R]], argument: A) -> R:
    """Run one activity method to completion in a test activity context."""

    async def call() -> R:
        return await ActivityEnvironment().run(method, argument)

    return asyncio.run(call())


def scales(url: str, name: str, count: int) -> dict[float, int]:
    """How many of ``count`` answers each revision gave (by the scale it applies)."""
    seen = split(url, name, count)
    return {value / EXAMPLE["instances"][0][0]: n for value, n in seen.items()}


def worker_permissions(emulator: KubeEmulator) -> set[tuple[str, str, str]]:
    return {r.permission for r in emulator.requests if r.user_agent.startswith("kaptain-worker")}


def granted() -> set[tuple[str, str, str]]:
    return {(g, r, v) for (g, r), verbs in WORKER_PERMISSIONS.items() for v in verbs}


def test_deploy_canary_split_promote_and_rollback(
    emulator: KubeEmulator, activities: KubeServingActivities, models: dict[str, str]
) -> None:
    deployment = ref("tiny")
    r1, r2, r3 = (revision(n, models[n]) for n in ("r1", "r2", "r3"))

    status = run(activities.apply, ApplyServing(deployment=deployment, baseline=r1))
    assert status.traffic == {"r1": 100} and status.ready
    assert status.replicas == {"r1": 1}
    answer = requests.post(f"{status.url}/v1/models/tiny:predict", json=EXAMPLE, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [[2.0, 4.0]]}
    isvc = emulator.get("inferenceservices", NAMESPACE, "tiny")
    assert isvc is not None
    assert isvc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kaptain"
    assert isvc["spec"]["predictor"]["model"]["runtime"] == "kaptain-pytorch"
    assert isvc["spec"]["predictor"]["serviceAccountName"] == "kaptain-serving-tiny"

    # a canary at 30 %: tested on its own URL first, then 30 % of 1000 real requests
    canary = ApplyServing(deployment=deployment, baseline=r1, canary=r2, canary_percent=30)
    status = run(activities.apply, canary)
    assert status.traffic == {"r1": 70, "r2": 30} and status.ready
    assert status.replicas == {"r1": 1, "r2": 1}
    seen = scales(status.url, "tiny", 1000)
    assert set(seen) == {2.0, 3.0}
    assert 250 <= seen[3.0] <= 350, seen
    metrics = run(activities.metrics, deployment)
    assert set(metrics.revisions) == {"r1", "r2"}
    assert 250 <= metrics.revisions["r2"].requests <= 350
    assert metrics.revisions["r1"].requests >= 650  # + the first prediction
    assert metrics.revisions["r2"].errors == 0
    buckets = metrics.revisions["r2"].latency_buckets
    assert list(buckets)[-1] == "+Inf" and buckets["+Inf"] == metrics.revisions["r2"].requests

    # the same desired state again changes nothing
    writes = len(emulator.requests.matching(verb="update", resource="inferenceservices"))
    assert run(activities.apply, canary).traffic == {"r1": 70, "r2": 30}
    assert len(emulator.requests.matching(verb="update", resource="inferenceservices")) == writes

    # promote: everything to r2
    status = run(activities.apply, ApplyServing(deployment=deployment, baseline=r2))
    assert status.traffic == {"r2": 100}
    assert scales(status.url, "tiny", 20) == {3.0: 20}

    # a canary r3, then rollback: everything back to r2
    status = run(
        activities.apply,
        ApplyServing(deployment=deployment, baseline=r2, canary=r3, canary_percent=50),
    )
    assert status.traffic == {"r2": 50, "r3": 50}
    status = run(activities.apply, ApplyServing(deployment=deployment, baseline=r2))
    assert status.traffic == {"r2": 100} and status.ready
    assert scales(status.url, "tiny", 20) == {3.0: 20}
    isvc = emulator.get("inferenceservices", NAMESPACE, "tiny")
    assert isvc is not None
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 0  # KServe's rollback

    assert worker_permissions(emulator) <= granted()


def test_a_revision_that_cannot_load_fails_and_the_baseline_keeps_serving(
    emulator: KubeEmulator, activities: KubeServingActivities, models: dict[str, str]
) -> None:
    deployment = ref("broken")
    r1 = revision("r1", models["r1"])
    bad = revision("r9", models["missing"])
    status = run(activities.apply, ApplyServing(deployment=deployment, baseline=r1))
    with pytest.raises(ApplicationError) as failure:
        run(
            activities.apply,
            ApplyServing(deployment=deployment, baseline=r1, canary=bad, canary_percent=50),
        )
    assert failure.value.type == "RevisionFailed"
    assert failure.value.non_retryable
    assert "No model found" in str(failure.value)
    assert "r9" in str(failure.value)
    assert scales(status.url, "broken", 20) == {2.0: 20}  # the baseline still has everything
    isvc = emulator.get("inferenceservices", NAMESPACE, "broken")
    assert isvc is not None
    traffic = isvc["status"]["components"]["predictor"]["traffic"]
    assert {t["revisionName"]: t["percent"] for t in traffic if t["percent"]} == {
        "broken-predictor-00001": 100
    }
    # giving up on the canary leaves the baseline as the whole deployment
    status = run(activities.apply, ApplyServing(deployment=deployment, baseline=r1))
    assert status.traffic == {"r1": 100} and status.ready


def test_delete_removes_the_inference_service_secret_and_account(
    emulator: KubeEmulator, activities: KubeServingActivities, models: dict[str, str]
) -> None:
    deployment = ref("gone")
    run(
        activities.apply, ApplyServing(deployment=deployment, baseline=revision("r1", models["r1"]))
    )
    assert emulator.get("secrets", NAMESPACE, "kaptain-serving-gone") is not None
    account = emulator.get("serviceaccounts", NAMESPACE, "kaptain-serving-gone")
    assert account is not None and account["secrets"] == [{"name": "kaptain-serving-gone"}]
    secret = emulator.get("secrets", NAMESPACE, "kaptain-serving-gone")
    assert secret is not None
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] == "0"

    run(activities.delete, deployment)
    assert emulator.get("inferenceservices", NAMESPACE, "gone") is None
    assert emulator.get("secrets", NAMESPACE, "kaptain-serving-gone") is None
    assert emulator.get("serviceaccounts", NAMESPACE, "kaptain-serving-gone") is None
    emulator.wait_for(
        lambda: (
            not [
                p
                for p in emulator.objects("pods", NAMESPACE)
                if p["metadata"]["labels"].get("serving.kserve.io/inferenceservice") == "gone"
            ]
        ),
        message="the revision pods to go",
    )
    run(activities.delete, deployment)  # idempotent
    assert run(activities.metrics, deployment).revisions == {}

    # an object Kaptain does not manage is left alone
    foreign: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "kaptain-serving-gone", "namespace": NAMESPACE},
    }
    emulator.put_object(foreign)
    run(activities.delete, deployment)
    assert emulator.get("serviceaccounts", NAMESPACE, "kaptain-serving-gone") is not None
    assert worker_permissions(emulator) <= granted()
