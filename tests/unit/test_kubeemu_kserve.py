"""The emulator's KServe controller: revisions, KServe's canary traffic rules, failures,
the data plane (real servers behind a real router) and the service proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from kaptain.activities.kubernetes.manifests.serving import (
    inference_service,
    serving_secret,
    serving_service_account,
)
from kaptain.contracts.common import ModelFramework, StorageRef
from kaptain.contracts.serve import DeploymentRef, RevisionSpec
from kubeemu import KubeEmulator, resources
from kubeemu.controllers.kserve import revision_metrics, template_hash
from kubeemu.validation.crd import DEFAULT_CRDS_DIR, schema_errors
from servable import EXAMPLE, Affine, save_torchscript

ISVC = resources.resolve("inferenceservices")
NS = "kserve"
BUCKET_URI = "s3://kserve-emu/models"
CRD = DEFAULT_CRDS_DIR / "serving.kserve.io_inferenceservices.yaml"
REF = DeploymentRef(
    namespace=NS, model_id="dev/tiny", name="tiny", storage=StorageRef(base_uri="s3://b")
)


@pytest.fixture(scope="module")
def emu(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeEmulator]:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="moto-secret-value",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="kserve-emu")
    for name, scale in (("one", 2.0), ("two", 5.0)):
        local = tmp_path_factory.mktemp(name)
        save_torchscript(local, Affine(scale))
        for path in local.iterdir():
            s3.put_object(
                Bucket="kserve-emu", Key=f"models/{name}/{path.name}", Body=path.read_bytes()
            )
    credentials = {
        "AWS_ACCESS_KEY_ID": "AKIATESTKEY",
        "AWS_SECRET_ACCESS_KEY": "moto-secret-value",
        "AWS_REGION": "us-east-1",
        "S3_ENDPOINT": moto_endpoint,
        "S3_FORCE_PATH_STYLE": "true",
    }
    with KubeEmulator() as emulator:
        for name in ("tiny", "sad"):
            ref = REF.model_copy(update={"name": name})
            emulator.put_object(serving_secret(ref, credentials))
            emulator.put_object(serving_service_account(ref))
        yield emulator


def spec(uri: str, revision: str = "r1") -> RevisionSpec:
    return RevisionSpec(
        revision=revision, source_uri=uri, model_uri=uri, framework=ModelFramework.PYTORCH
    )


def predictor_status(emu: KubeEmulator, name: str) -> dict[str, Any]:
    obj = emu.get("inferenceservices", NS, name) or {}
    return dict(((obj.get("status") or {}).get("components") or {}).get("predictor") or {})


def condition(emu: KubeEmulator, name: str, kind: str) -> dict[str, Any]:
    obj = emu.get("inferenceservices", NS, name) or {}
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind]
    return found[0] if found else {}


def split(emu: KubeEmulator, name: str) -> dict[str, int]:
    traffic = predictor_status(emu, name).get("traffic") or []
    result: dict[str, int] = {}
    for target in traffic:
        result[target["revisionName"]] = result.get(target["revisionName"], 0) + target["percent"]
    return {k: v for k, v in result.items() if v}


def patch(emu: KubeEmulator, name: str, body: dict[str, Any]) -> None:
    emu.api.patch(ISVC, NS, name, json.dumps(body).encode(), "application/merge-patch+json")


def test_template_hash_ignores_the_traffic_share_but_not_annotations() -> None:
    isvc = inference_service(REF, spec("s3://b/one/"))
    same = inference_service(REF, spec("s3://b/one/"), canary_percent=20)
    assert template_hash(isvc) == template_hash(same)
    other = inference_service(REF, spec("s3://b/one/"), previous_revision="r0")
    assert template_hash(isvc) != template_hash(other)


def test_revision_metrics_look_like_one_queue_proxy() -> None:
    text = "\n".join(
        [
            "# TYPE revision_request_count counter",
            'revision_request_count{namespace_name="n",service_name="tiny",'
            'revision_name="tiny-predictor-00001",response_code_class="2xx"} 7',
            'revision_request_count{namespace_name="n",service_name="tiny",'
            'revision_name="tiny-predictor-00002",response_code_class="2xx"} 3',
        ]
    )
    mine = revision_metrics(text, "tiny-predictor-00002", "tiny")
    assert "00001" not in mine
    assert 'service_name="tiny-predictor",revision_name="tiny-predictor-00002"' in mine
    assert mine.startswith("# TYPE")


def test_revisions_serve_for_real_and_follow_canary_traffic_percent(
    emu: KubeEmulator,
) -> None:
    one, two = f"{BUCKET_URI}/one/", f"{BUCKET_URI}/two/"
    created, _ = emu.api.create(ISVC, NS, inference_service(REF, spec(one)))
    first = "tiny-predictor-00001"
    emu.wait_for(lambda: condition(emu, "tiny", "Ready").get("status") == "True", 90, "ready")
    obj = emu.get("inferenceservices", NS, "tiny")
    assert obj is not None
    assert schema_errors(CRD, "v1beta1", obj) == []  # the status is what the CRD allows
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    predictor = predictor_status(emu, "tiny")
    assert predictor["latestCreatedRevision"] == predictor["latestReadyRevision"] == first
    assert predictor["latestRolledoutRevision"] == first
    [target] = predictor["traffic"]
    assert (target["tag"], target["percent"], target["latestRevision"]) == ("latest", 100, True)
    url = obj["status"]["url"]
    answer = requests.post(f"{url}/v1/models/tiny:predict", json=EXAMPLE, timeout=30)
    assert answer.json() == {"predictions": [[2.0, 4.0]]}
    assert answer.headers["x-kaptain-revision"] == first
    tagged = requests.post(f"{target['url']}/v1/models/tiny:predict", json=EXAMPLE, timeout=30)
    assert tagged.status_code == 200
    [pod] = [p for p in emu.objects("pods", NS) if p["metadata"]["name"].startswith(first)]
    assert pod["spec"]["initContainers"][0]["args"] == [one, "/mnt/models"]
    env = {e["name"]: e for e in pod["spec"]["initContainers"][0]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == (
        "kaptain-serving-tiny"
    )

    # a new spec at 20 %: latest gets 20 once ready, the rolled-out revision keeps 80
    changed = inference_service(REF, spec(two, "r2"), previous_revision="r1", canary_percent=20)
    current = emu.get("inferenceservices", NS, "tiny")
    assert current is not None and current["metadata"]["uid"] == created["metadata"]["uid"]
    changed["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    emu.api.update(ISVC, NS, "tiny", changed)
    second = "tiny-predictor-00002"
    emu.wait_for(lambda: split(emu, "tiny") == {first: 80, second: 20}, 90, "the canary split")
    tags = {t["tag"]: t["revisionName"] for t in predictor_status(emu, "tiny")["traffic"]}
    assert tags == {"latest": second, "prev": first}
    assert predictor_status(emu, "tiny")["latestRolledoutRevision"] == first

    # metrics of one revision, through the API server's service proxy
    for _ in range(10):
        requests.post(f"{url}/v1/models/tiny:predict", json=EXAMPLE, timeout=30)
    proxied = requests.get(
        f"{emu.url}/api/v1/namespaces/{NS}/services/{second}-private:http-usermetric/proxy/metrics",
        timeout=10,
    )
    assert proxied.status_code == 200
    assert f'revision_name="{second}"' in proxied.text
    assert f'revision_name="{first}"' not in proxied.text
    assert 'service_name="tiny-predictor"' in proxied.text
    assert ("", "services/proxy", "get") in emu.requests.permissions(NS)
    missing = requests.get(
        f"{emu.url}/api/v1/namespaces/{NS}/services/nope:http/proxy/metrics", timeout=10
    )
    assert missing.status_code == 404

    # promote: without canaryTrafficPercent the latest takes everything and is rolled out
    patch(emu, "tiny", {"spec": {"predictor": {"canaryTrafficPercent": None}}})
    emu.wait_for(lambda: split(emu, "tiny") == {second: 100}, 30, "the promotion")
    emu.wait_for(lambda: predictor_status(emu, "tiny").get("latestRolledoutRevision") == second, 10)
    assert predictor_status(emu, "tiny")["previousRolledoutRevision"] == first
    emu.wait_for(lambda: emu.get("pods", NS, f"{first}-deployment-0") is None, 10, "scale to zero")

    # rollback semantics: canaryTrafficPercent 0 sends everything to the rolled-out revision
    patch(emu, "tiny", {"spec": {"predictor": {"canaryTrafficPercent": 0}}})
    emu.wait_for(lambda: split(emu, "tiny") == {second: 100}, 10, "all on the rolled-out")


def test_a_model_that_cannot_be_fetched_fails_the_revision(
    emu: KubeEmulator,
) -> None:
    ref = REF.model_copy(update={"name": "sad"})
    created, _ = emu.api.create(ISVC, NS, inference_service(ref, spec(f"{BUCKET_URI}/one/")))
    emu.wait_for(lambda: condition(emu, "sad", "Ready").get("status") == "True", 90, "ready")
    broken = inference_service(
        ref, spec(f"{BUCKET_URI}/nothing/", "r2"), previous_revision="r1", canary_percent=0
    )
    current = emu.get("inferenceservices", NS, "sad")
    assert current is not None
    broken["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    emu.api.update(ISVC, NS, "sad", broken)
    emu.wait_for(
        lambda: condition(emu, "sad", "PredictorReady").get("status") == "False", 60, "failure"
    )
    ready = condition(emu, "sad", "PredictorReady")
    assert ready["reason"] == "RevisionFailed"
    assert "sad-predictor-00002" in ready["message"]
    assert "No model found" in ready["message"]
    obj = emu.get("inferenceservices", NS, "sad")
    assert obj is not None
    info = obj["status"]["modelStatus"]["lastFailureInfo"]
    assert (
        info["reason"] == "ModelLoadFailed" and info["modelRevisionName"] == "sad-predictor-00002"
    )
    assert obj["status"]["modelStatus"]["transitionStatus"] == "BlockedByFailedLoad"
    assert schema_errors(CRD, "v1beta1", obj) == []
    assert split(emu, "sad") == {"sad-predictor-00001": 100}  # the traffic stays

    # the InferenceService's pods go with it (ownerReferences), and so does its router
    emu.delete_object("inferenceservices", NS, "sad")
    emu.wait_for(
        lambda: not [p for p in emu.objects("pods", NS) if p["metadata"]["name"].startswith("sad")],
        10,
        "the pods to go",
    )
    assert created["metadata"]["name"] == "sad"
