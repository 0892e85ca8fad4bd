"""KServe manifests of a deployment, checked against the real CRD and the Kubernetes models;
and the reading of an InferenceService's status in Kaptain's terms."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaptain.activities.kubernetes.manifests.serving import (
    PYTORCH_RUNTIME,
    canary_patch,
    inference_service,
    model_format,
    serving_secret,
    serving_service_account,
    spec_hash,
)
from kaptain.activities.kubernetes.serving_status import ServiceView
from kaptain.contracts.common import ModelFramework, ResourceSpec, StorageRef
from kaptain.contracts.serve import (
    DeploymentRef,
    InferenceProtocol,
    RevisionSpec,
    TransformerSpec,
)
from kubeemu import validate_manifest

RUNTIMES = Path(__file__).resolve().parents[2] / "deploy" / "kserve"
REF = DeploymentRef(
    namespace="team",
    model_id="dev/mnist",
    name="dev-mnist",
    storage=StorageRef(base_uri="s3://kaptain/models", credentials_ref="creds"),
)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret-value",
    "AWS_REGION": "eu-west-1",
    "S3_ENDPOINT": "http://minio.storage:9000",
    "S3_USE_HTTPS": "0",
    "S3_VERIFY_SSL": "0",
    "S3_FORCE_PATH_STYLE": "true",
}


def spec(revision: str = "r1", **fields: Any) -> RevisionSpec:
    uri = f"s3://kaptain/models/dev/mnist/deploy/{revision}/"
    values: dict[str, Any] = {
        "revision": revision,
        "source_uri": uri,
        "model_uri": uri,
        "framework": ModelFramework.PYTORCH,
    }
    values.update(fields)
    return RevisionSpec(**values)


def test_the_inference_service_is_valid_and_serves_torchscript_with_kaptains_runtime() -> None:
    isvc = inference_service(REF, spec(target_concurrency=4, min_replicas=2, max_replicas=5))
    assert validate_manifest(isvc) == []
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"] == {
        "modelFormat": {"name": "pytorch"},
        "runtime": PYTORCH_RUNTIME,
        "protocolVersion": "v1",
        "storageUri": "s3://kaptain/models/dev/mnist/deploy/r1/",
    }
    assert predictor["serviceAccountName"] == "kaptain-serving-dev-mnist"
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("concurrency", 4)
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 5)
    assert "canaryTrafficPercent" not in predictor
    metadata = isvc["metadata"]
    assert metadata["name"] == "dev-mnist" and metadata["namespace"] == "team"
    assert metadata["labels"] == {
        "app.kubernetes.io/managed-by": "kaptain",
        "kaptain.d2iq.io/model-id": "dev-mnist",
    }
    annotations = metadata["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Serverless"
    assert annotations["serving.kserve.io/enable-tag-routing"] == "true"
    assert annotations["kaptain.d2iq.io/revision"] == "r1"
    assert annotations["kaptain.d2iq.io/model-id"] == "dev/mnist"
    assert "kaptain.d2iq.io/previous-revision" not in annotations


def test_canary_percent_and_the_previous_revision() -> None:
    canary = inference_service(REF, spec("r2"), previous_revision="r1", canary_percent=30)
    assert validate_manifest(canary) == []
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 30
    assert canary["metadata"]["annotations"]["kaptain.d2iq.io/previous-revision"] == "r1"
    tested = inference_service(REF, spec("r2"), previous_revision="r1", canary_percent=0)
    assert tested["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert canary_patch(30) == {"spec": {"predictor": {"canaryTrafficPercent": 30}}}
    assert canary_patch(0)["spec"]["predictor"]["canaryTrafficPercent"] == 0  # rollback
    assert canary_patch(None)["spec"]["predictor"]["canaryTrafficPercent"] is None  # promote
    with pytest.raises(ValueError, match=r"0\.\.100"):
        inference_service(REF, spec(), canary_percent=101)


def test_formats_protocols_and_resources() -> None:
    assert model_format(ModelFramework.PYTORCH) == ("pytorch", PYTORCH_RUNTIME)
    assert model_format(ModelFramework.SKLEARN) == ("sklearn", None)
    assert model_format(ModelFramework.TENSORFLOW) == ("tensorflow", None)
    with pytest.raises(ValueError, match="mxnet"):
        model_format(ModelFramework.MXNET)
    resources = ResourceSpec(cpu_request="500m", memory_limit="1Gi", gpu_limit=1)
    isvc = inference_service(
        REF,
        spec(framework=ModelFramework.SKLEARN, protocol=InferenceProtocol.V2, resources=resources),
    )
    assert validate_manifest(isvc) == []
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "sklearn"} and "runtime" not in model
    assert model["protocolVersion"] == "v2"
    assert model["resources"] == {
        "requests": {"cpu": "500m", "nvidia.com/gpu": "1"},
        "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"},
    }
    with pytest.raises(ValueError, match="DNS-1123"):
        inference_service(REF.model_copy(update={"name": "Dev_Mnist"}), spec())


def test_a_transformer_container_with_env_and_volumes() -> None:
    transformer = TransformerSpec(
        image="registry.local/kaptain/transformer:1",
        args=["--feast-url", "feast:6566"],
        env_from=["feature-store", "configmap:transformer-settings"],
        volumes=[
            {"name": "vocab", "mount_path": "/vocab", "config_map": "vocabulary"},
            {"name": "scratch", "mount_path": "/scratch"},
        ],
    )
    isvc = inference_service(REF, spec(transformer=transformer))
    assert validate_manifest(isvc) == []
    [container] = isvc["spec"]["transformer"]["containers"]
    assert container["image"] == "registry.local/kaptain/transformer:1"
    assert container["args"] == ["--feast-url", "feast:6566"]
    assert container["envFrom"] == [
        {"secretRef": {"name": "feature-store"}},
        {"configMapRef": {"name": "transformer-settings"}},
    ]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/vocab", "/scratch"]
    assert isvc["spec"]["transformer"]["volumes"] == [
        {"name": "vocab", "configMap": {"name": "vocabulary"}},
        {"name": "scratch", "emptyDir": {}},
    ]
    with pytest.raises(ValueError, match="mount_path"):
        inference_service(
            REF, spec(transformer=TransformerSpec(image="t", volumes=[{"name": "x"}]))
        )


def test_the_spec_hash_follows_what_the_spec_says() -> None:
    account = "kaptain-serving-dev-mnist"
    assert spec_hash(spec(), account) == spec_hash(spec(), account)
    assert spec_hash(spec(), account) != spec_hash(spec(max_replicas=4), account)
    assert spec_hash(spec(), account) != spec_hash(spec("r2"), account)
    isvc = inference_service(REF, spec())
    assert isvc["metadata"]["annotations"]["kaptain.d2iq.io/spec-hash"] == spec_hash(
        spec(), account
    )


def test_the_storage_secret_carries_kserves_s3_annotations() -> None:
    secret = serving_secret(REF, CREDENTIALS)
    assert validate_manifest(secret) == []
    assert secret["metadata"]["name"] == "kaptain-serving-dev-mnist"
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kaptain"
    annotations = secret["metadata"]["annotations"]
    assert annotations["serving.kserve.io/s3-endpoint"] == "minio.storage:9000"
    assert annotations["serving.kserve.io/s3-usehttps"] == "0"
    assert annotations["serving.kserve.io/s3-region"] == "eu-west-1"
    assert annotations["serving.kserve.io/s3-verifyssl"] == "0"
    assert annotations["serving.kserve.io/s3-usevirtualbucket"] == "false"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value"}
    https = serving_secret(REF, {**CREDENTIALS, "S3_ENDPOINT": "https://s3.example.com"})
    assert https["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == "s3.example.com"
    assert https["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] == "1"
    with pytest.raises(ValueError, match="AWS_SECRET_ACCESS_KEY"):
        serving_secret(REF, {"AWS_ACCESS_KEY_ID": "x"})


def test_the_service_account_carries_the_secret() -> None:
    account = serving_service_account(REF)
    assert validate_manifest(account) == []
    assert account["metadata"]["name"] == "kaptain-serving-dev-mnist"
    assert account["secrets"] == [{"name": "kaptain-serving-dev-mnist"}]
    assert account["metadata"]["labels"]["kaptain.d2iq.io/model-id"] == "dev-mnist"


def test_the_shipped_runtime_serves_the_pytorch_format_with_kaptains_server() -> None:
    [runtime] = list(yaml.safe_load_all((RUNTIMES / "cluster-serving-runtime.yaml").read_text()))
    assert runtime["kind"] == "ClusterServingRuntime"
    assert runtime["metadata"]["name"] == PYTORCH_RUNTIME
    assert runtime["spec"]["supportedModelFormats"][0]["name"] == "pytorch"
    assert runtime["spec"]["supportedModelFormats"][0]["autoSelect"] is False
    assert set(runtime["spec"]["protocolVersions"]) == {"v1", "v2"}
    [container] = runtime["spec"]["containers"]
    assert container["name"] == "kserve-container"
    assert container["command"] == ["python", "-m", "kaptain.serving.server"]
    assert "--model-dir=/mnt/models" in container["args"]
    assert "--name={{.Name}}" in container["args"]


def status(**predictor: Any) -> dict[str, Any]:
    obj = inference_service(REF, spec("r2"), previous_revision="r1", canary_percent=30)
    obj["metadata"]["generation"] = 3
    obj["status"] = {
        "observedGeneration": 3,
        "url": "http://dev-mnist.team.example.com",
        "components": {"predictor": predictor},
        "conditions": [],
    }
    return obj


def test_the_status_maps_knative_revisions_to_kaptain_revisions() -> None:
    obj = status(
        latestCreatedRevision="dev-mnist-predictor-00002",
        latestReadyRevision="dev-mnist-predictor-00002",
        latestRolledoutRevision="dev-mnist-predictor-00001",
        traffic=[
            {"tag": "latest", "revisionName": "dev-mnist-predictor-00002", "percent": 30,
             "latestRevision": True, "url": "http://latest-dev-mnist-predictor.team"},
            {"tag": "prev", "revisionName": "dev-mnist-predictor-00001", "percent": 70,
             "latestRevision": False, "url": "http://prev-dev-mnist-predictor.team"},
        ],
    )  # fmt: skip
    view = ServiceView.of(obj)
    assert view.current and view.latest_is_ready
    assert view.kaptain_traffic() == {"r1": 70, "r2": 30}
    assert view.rolled_out_revision == "r1"
    assert view.canary_percent == 30
    assert view.knative_revisions() == {
        "dev-mnist-predictor-00002": "r2",
        "dev-mnist-predictor-00001": "r1",
    }
    assert view.tagged_url("dev-mnist-predictor-00002") == "http://latest-dev-mnist-predictor.team"
    assert view.latest_failure() is None


def test_a_failed_revision_is_described_in_words() -> None:
    obj = status(
        latestCreatedRevision="dev-mnist-predictor-00002",
        latestReadyRevision="dev-mnist-predictor-00001",
        latestRolledoutRevision="dev-mnist-predictor-00001",
        traffic=[{"revisionName": "dev-mnist-predictor-00001", "percent": 100}],
    )
    obj["status"]["conditions"] = [
        {"type": "PredictorReady", "status": "False", "reason": "RevisionFailed",
         "message": 'Revision "dev-mnist-predictor-00002" failed with message: boom.'},
    ]  # fmt: skip
    obj["status"]["modelStatus"] = {
        "transitionStatus": "BlockedByFailedLoad",
        "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "No model found in s3://x"},
    }
    view = ServiceView.of(obj)
    assert not view.latest_is_ready
    failure = view.latest_failure()
    assert failure is not None
    assert failure.startswith("RevisionFailed: Revision")
    assert "No model found in s3://x" in failure
    assert view.kaptain_traffic() == {"r1": 100}
    obj["status"]["observedGeneration"] = 2
    assert not ServiceView.of(obj).current
