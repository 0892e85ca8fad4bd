"""Manifest builders: custom resources against the real CRD schemas, core objects by a
lossless round trip through the ``kubernetes`` client's models, plus table tests."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes.client import ApiClient

from kaptain.activities.kubernetes.manifests import (
    GPU_RESOURCE,
    KANIKO_IMAGE,
    ca_secret,
    docker_config_secret,
    kaniko_job,
    label_value,
    managed_labels,
    selector_for,
    storage_secret,
    training_job,
)
from kaptain.contracts import JobKind
from kaptain.contracts.build import BuildInput, BuildResult
from kaptain.contracts.common import ResourceSpec, StorageRef
from kaptain.contracts.names import model_slug
from kaptain.contracts.train import JobSpec

CRD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "crds"
LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
LABEL_KEY = re.compile(r"^(?:[a-z0-9.-]{1,253}/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
DNS1123_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
CHECKSUM = "0f" * 32
LONG_ID = "team-with-a-long-name/" + "Very_Long.Model" * 30


# --- validation helpers -------------------------------------------------------------------


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("int-or-string")(_is_int_or_string)
    checker.checks("int32")(_fits_int32)
    return checker


def _is_int_or_string(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _fits_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def _structural(node: Any) -> Any:
    """The CRD schema as JSON Schema: x-kubernetes-* dropped, int-or-string as anyOf, and
    objects with properties closed (the API server silently prunes unknown fields)."""
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _structural(value) for key, value in node.items() if not key.startswith("x-")}
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string":
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@cache
def _crd_validator(group: str, plural: str) -> jsonschema.Draft7Validator:
    """The served version's schema of a real CRD, loaded once per session."""
    if not CRD_DIR.is_dir():
        pytest.fail(f"the real CRDs are missing: expected {CRD_DIR}")
    path = CRD_DIR / f"{group}_{plural}.yaml"
    if not path.is_file():
        pytest.fail(f"CRD {group}/{plural} is missing: expected {path}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as stream:
        crd = yaml.load(stream, Loader=loader)
    served = [version for version in crd["spec"]["versions"] if version["served"]]
    version = next(v for v in served if v.get("storage")) if len(served) > 1 else served[0]
    schema = _structural(version["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema, format_checker=_format_checker())


def crd_errors(obj: dict[str, Any]) -> list[str]:
    """Every schema violation of a custom resource (empty when valid)."""
    group = obj["apiVersion"].split("/")[0]
    plural = obj["kind"].lower() + "s"
    validator = _crd_validator(group, plural)
    errors = sorted(validator.iter_errors(obj), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    client: Any = ApiClient()
    yield client
    client.close()


def roundtrip(api: Any, obj: dict[str, Any], model: str) -> Any:
    """Deserialize into the client's model and back: nothing may be lost or renamed."""
    instance = api._ApiClient__deserialize(copy.deepcopy(obj), model)
    assert api.sanitize_for_serialization(instance) == obj
    return instance


def assert_valid_custom_resource(api: Any, obj: dict[str, Any]) -> None:
    assert crd_errors(obj) == []
    roundtrip(api, obj["metadata"], "V1ObjectMeta")
    replica_specs = next(v for k, v in obj["spec"].items() if k.endswith("ReplicaSpecs"))
    for replica in replica_specs.values():
        roundtrip(api, replica["template"], "V1PodTemplateSpec")


def assert_valid_metadata(meta: dict[str, Any]) -> None:
    for key, value in {**meta.get("labels", {})}.items():
        assert LABEL_KEY.match(key), key
        assert LABEL_VALUE.match(value), (key, value)
    for key in meta.get("annotations", {}):
        assert LABEL_KEY.match(key), key


# --- inputs -------------------------------------------------------------------------------

STORAGE = StorageRef(base_uri="s3://kaptain/models", credentials_ref="storage-creds")


def job_spec(**changes: Any) -> JobSpec:
    values: dict[str, Any] = {
        "name": "dev-mnist-0123abcd",
        "namespace": "kaptain-test",
        "kind": JobKind.PYTORCH,
        "model_id": "dev/mnist",
        "revision": "0123abcd4567",
        "workflow_id": "kaptain/kaptain-test/dev/mnist/train",
        "image": BuildResult(
            image="registry.local:5000/dev/mnist:0f0f",
            checksum=CHECKSUM,
            skipped=False,
            location="registry.local:5000/dev/mnist:0f0f",
        ),
        "main_file": "trainer.py",
        "flags": ["--epochs", "5", "--lr", "0.1"],
        "replicas": 3,
        "resources": ResourceSpec(
            cpu_request="1", cpu_limit="1", memory_request="2Gi", memory_limit="2Gi"
        ),
        "upload_path": "s3://kaptain/models/dev/mnist/trained/0123abcd4567",
        "storage": STORAGE,
        "active_deadline_seconds": 3600,
        "ttl_seconds_after_finished": 120,
        "image_pull_secret": "registry-pull",
    }
    values.update(changes)
    return JobSpec.model_validate(values)


def build_input(**changes: Any) -> BuildInput:
    values: dict[str, Any] = {
        "model_id": "dev/mnist",
        "image": "registry.local:5000/dev/mnist:0f0f",
        "checksum": CHECKSUM,
        "context_uri": "s3://kaptain/contexts/dev/mnist/0f0f.tar.gz",
        "dockerfile": "FROM python:3.11\n",
        "main_file": "trainer.py",
        "base_image": "python:3.11",
        "storage": STORAGE,
        "namespace": "kaptain-test",
        "resources": ResourceSpec(
            cpu_request="500m", cpu_limit="1", memory_request="500M", memory_limit="1G"
        ),
    }
    values.update(changes)
    return BuildInput.model_validate(values)


def kaniko(build: BuildInput | None = None, **changes: Any) -> dict[str, Any]:
    build = build or build_input()
    options: dict[str, Any] = {
        "name": "build-dev-mnist-0f0f",
        "context_uri": build.context_uri,
        "storage_secret": "build-storage",
        "docker_config_secret": "build-docker",
        "ca_secret": "build-ca",
        "registry_host": "registry.local:5000",
    }
    options.update(changes)
    return kaniko_job(build, **options)


def replicas_of(job: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in job["spec"].items() if k.endswith("ReplicaSpecs"))


def container_of(replica: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = replica["template"]["spec"]["containers"][0]
    return container


# --- training jobs ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(JobKind))
@pytest.mark.parametrize("replicas", [1, 2, 5])
@pytest.mark.parametrize(
    "resources",
    [
        ResourceSpec(),
        ResourceSpec(
            cpu_request="2",
            cpu_limit="2",
            memory_request="4Gi",
            memory_limit="4Gi",
            gpu_request=1,
            gpu_limit=1,
        ),
        ResourceSpec(cpu_request="250m", memory_limit="1Gi", gpu_limit=2),
    ],
    ids=["none", "simple", "advanced"],
)
def test_training_job_is_valid_against_the_real_crd(
    api: Any, kind: JobKind, replicas: int, resources: ResourceSpec
) -> None:
    job = training_job(
        job_spec(kind=kind, replicas=replicas, resources=resources), storage_secret="storage-creds"
    )
    assert_valid_custom_resource(api, job)


@pytest.mark.parametrize(
    ("kind", "field", "leader", "container", "port"),
    [
        (JobKind.PYTORCH, "pytorchReplicaSpecs", "Master", "pytorch", ("pytorchjob-port", 23456)),
        (JobKind.TENSORFLOW, "tfReplicaSpecs", "Chief", "tensorflow", ("tfjob-port", 2222)),
    ],
)
def test_replica_layout_per_kind(
    kind: JobKind, field: str, leader: str, container: str, port: tuple[str, int]
) -> None:
    job = training_job(job_spec(kind=kind, replicas=4), storage_secret=None)
    assert job["apiVersion"] == "kubeflow.org/v1"
    assert job["kind"] == kind.value
    specs = job["spec"][field]
    assert list(specs) == [leader, "Worker"]
    assert specs[leader]["replicas"] == 1
    assert specs["Worker"]["replicas"] == 3
    for replica in specs.values():
        assert replica["restartPolicy"] == "Never"
        main = container_of(replica)
        assert main["name"] == container
        assert main["ports"] == [{"name": port[0], "containerPort": port[1], "protocol": "TCP"}]
    single = training_job(job_spec(kind=kind, replicas=1), storage_secret=None)
    assert list(single["spec"][field]) == [leader]


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (ResourceSpec(), None),
        (ResourceSpec(gpu_limit=0, gpu_request=0), None),
        (
            ResourceSpec(gpu_limit=2),
            {"requests": {GPU_RESOURCE: "2"}, "limits": {GPU_RESOURCE: "2"}},
        ),
        (
            ResourceSpec(gpu_request=1),
            {"requests": {GPU_RESOURCE: "1"}, "limits": {GPU_RESOURCE: "1"}},
        ),
        (
            ResourceSpec(
                cpu_request="2",
                cpu_limit="2",
                memory_request="4Gi",
                memory_limit="4Gi",
                gpu_request=1,
                gpu_limit=1,
            ),
            {
                "requests": {"cpu": "2", "memory": "4Gi", GPU_RESOURCE: "1"},
                "limits": {"cpu": "2", "memory": "4Gi", GPU_RESOURCE: "1"},
            },
        ),
        (
            ResourceSpec(cpu_request="500m", cpu_limit="1500m", memory_request="1G"),
            {"requests": {"cpu": "500m", "memory": "1G"}, "limits": {"cpu": "1500m"}},
        ),
        (ResourceSpec(memory_limit="3Gi"), {"limits": {"memory": "3Gi"}}),
    ],
    ids=["empty", "zero-gpus", "gpu-limit", "gpu-request", "simple", "advanced", "limit-only"],
)
def test_resources_per_replica(resources: ResourceSpec, expected: dict[str, Any] | None) -> None:
    job = training_job(job_spec(resources=resources), storage_secret=None)
    for replica in replicas_of(job).values():
        assert container_of(replica).get("resources") == expected


def test_container_runs_the_image_with_flags_and_the_kaptain_env() -> None:
    spec = job_spec(resources=ResourceSpec(gpu_limit=2))
    job = training_job(spec, storage_secret="storage-creds")
    for replica in replicas_of(job).values():
        main = container_of(replica)
        assert main["image"] == spec.image.image
        assert main["args"] == spec.flags
        assert "command" not in main  # the image's ENTRYPOINT runs main_file
        env = {item["name"]: item["value"] for item in main["env"]}
        assert env["TRAINED_MODEL_UPLOAD_PATH"] == spec.upload_path
        assert env["MODEL_LIFECYCLE_PHASE"] == "training"
        assert env["GPUS"] == "2"
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["KAPTAIN_MODEL_ID"] == "dev/mnist"
        assert "CUDA_VISIBLE_DEVICES" not in env
        assert main["envFrom"] == [{"secretRef": {"name": "storage-creds"}}]
        pod = replica["template"]["spec"]
        assert pod["imagePullSecrets"] == [{"name": "registry-pull"}]


def test_optional_parts_are_left_out() -> None:
    spec = job_spec(
        image_pull_secret=None,
        active_deadline_seconds=None,
        ttl_seconds_after_finished=None,
        resources=ResourceSpec(),
    )
    job = training_job(spec, storage_secret=None)
    assert job["spec"]["runPolicy"] == {"cleanPodPolicy": "None"}
    for replica in replicas_of(job).values():
        assert "imagePullSecrets" not in replica["template"]["spec"]
        assert "envFrom" not in container_of(replica)
        assert "resources" not in container_of(replica)


def test_run_policy_and_metadata() -> None:
    spec = job_spec()
    job = training_job(spec, storage_secret=None)
    assert job["spec"]["runPolicy"] == {
        "cleanPodPolicy": "None",
        "activeDeadlineSeconds": 3600,
        "ttlSecondsAfterFinished": 120,
    }
    meta = job["metadata"]
    assert (meta["name"], meta["namespace"]) == (spec.name, spec.namespace)
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "kaptain",
        "kaptain.d2iq.io/model-id": "dev-mnist",
        "kaptain.d2iq.io/action": "train",
        "kaptain.d2iq.io/revision": "0123abcd4567",
    }
    assert meta["annotations"] == {
        "kaptain.d2iq.io/model-id": "dev/mnist",
        "kaptain.d2iq.io/workflow-id": spec.workflow_id,
    }
    for replica in replicas_of(job).values():
        assert replica["template"]["metadata"]["labels"] == meta["labels"]


@pytest.mark.parametrize(
    ("name", "replicas"),
    [("1st-model-0123abcd", 2), ("Dev-mnist", 2), ("a" * 55, 2), ("dev_mnist", 1), ("ok", 0)],
)
def test_names_that_cannot_name_replicas_are_rejected(name: str, replicas: int) -> None:
    spec = job_spec().model_copy(update={"name": name, "replicas": replicas})
    with pytest.raises(ValueError, match="replica"):
        training_job(spec, storage_secret=None)


# --- CRD validation catches mistakes (the validator is not vacuous) ------------------------


def _mutated(path: list[str], value: Any) -> dict[str, Any]:
    job = training_job(job_spec(), storage_secret=None)
    node = job
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return job


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["spec", "pytorchReplicaSpecs", "Worker", "replicas"], "two", "is not of type"),
        (["spec", "runPolicy", "activeDeadlineSeconds"], "1h", "is not of type"),
        (["spec", "pytorchReplicaSpecs", "Master", "restartpolicy"], "Never", "Additional"),
        (
            [
                "spec",
                "pytorchReplicaSpecs",
                "Master",
                "template",
                "spec",
                "containers",
                0,
                "resources",
            ],
            {"limits": {"cpu": 1.5}},
            "is not valid",
        ),
    ],
    ids=["replicas-string", "deadline-string", "misspelled-field", "quantity-float"],
)
def test_crd_validation_catches_wrong_types_and_unknown_fields(
    path: list[Any], value: Any, message: str
) -> None:
    errors = crd_errors(_mutated(path, value))
    assert errors
    assert any(message in error for error in errors), errors


def test_crd_validation_requires_the_replica_specs() -> None:
    job = training_job(job_spec(), storage_secret=None)
    del job["spec"]["pytorchReplicaSpecs"]
    assert any("pytorchReplicaSpecs" in error for error in crd_errors(job))


# --- Kaniko Job ---------------------------------------------------------------------------


def test_kaniko_job_round_trips_through_v1job(api: Any) -> None:
    job = kaniko()
    instance = roundtrip(api, job, "V1Job")
    assert instance.metadata.name == "build-dev-mnist-0f0f"
    assert instance.spec.template.spec.containers[0].image == KANIKO_IMAGE
    assert_valid_metadata(job["metadata"])
    minimal = kaniko(
        storage_secret=None,
        docker_config_secret=None,
        ca_secret=None,
        build=build_input(resources=ResourceSpec()),
    )
    roundtrip(api, minimal, "V1Job")


def test_kaniko_job_flags_mounts_and_env() -> None:
    build = build_input()
    job = kaniko(build, active_deadline_seconds=1800)
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"]) == (0, 600)
    assert spec["activeDeadlineSeconds"] == 1800
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    main = pod["containers"][0]
    assert main["args"] == [
        f"--context={build.context_uri}",
        "--dockerfile=Dockerfile",
        f"--destination={build.image}",
        f"--label=checksum={CHECKSUM}",
        "--digest-file=/dev/termination-log",
        "--push-retry=2",
        "--cache=false",
        "--verbosity=info",
        "--registry-certificate=registry.local:5000=/kaniko/registry-ca/ca.crt",
    ]
    assert main["envFrom"] == [{"secretRef": {"name": "build-storage"}}]
    assert "env" not in main  # the storage Secret's AWS_REGION/S3_* apply unchanged
    assert main["resources"] == {
        "requests": {"cpu": "500m", "memory": "500M"},
        "limits": {"cpu": "1", "memory": "1G"},
    }
    assert main["volumeMounts"] == [
        {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True},
        {"name": "registry-ca", "mountPath": "/kaniko/registry-ca", "readOnly": True},
    ]
    assert pod["volumes"] == [
        {
            "name": "docker-config",
            "secret": {
                "secretName": "build-docker",
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        },
        {
            "name": "registry-ca",
            "secret": {"secretName": "build-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
        },
    ]
    labels = job["metadata"]["labels"]
    assert labels["kaptain.d2iq.io/action"] == "build"
    assert labels["kaptain.d2iq.io/checksum"] == CHECKSUM[:63]
    assert job["metadata"]["annotations"]["kaptain.d2iq.io/checksum"] == CHECKSUM
    assert spec["template"]["metadata"]["labels"] == labels


def test_kaniko_job_without_ca_or_docker_config_and_with_env_overrides() -> None:
    job = kaniko(
        ca_secret=None, docker_config_secret=None, aws_region="eu-west-1", s3_force_path_style=True
    )
    pod = job["spec"]["template"]["spec"]
    main = pod["containers"][0]
    assert not any(arg.startswith("--registry-certificate") for arg in main["args"])
    assert "volumes" not in pod
    assert "volumeMounts" not in main
    assert main["env"] == [
        {"name": "AWS_REGION", "value": "eu-west-1"},
        {"name": "S3_FORCE_PATH_STYLE", "value": "true"},
    ]
    assert "activeDeadlineSeconds" not in job["spec"]


def test_kaniko_job_never_asks_for_gpus() -> None:
    job = kaniko(build_input(resources=ResourceSpec(cpu_limit="1", gpu_limit=2)))
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Build_Dev"}, "DNS-1123"),
        ({"name": "b" * 64}, "DNS-1123"),
        ({"context_uri": "file:///tmp/context.tar.gz"}, "s3://"),
    ],
)
def test_kaniko_job_rejects_bad_names_and_contexts(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaniko(**changes)


# --- Secrets ------------------------------------------------------------------------------


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_secrets_round_trip_through_v1secret(api: Any) -> None:
    config = '{"auths": {"registry.local:5000": {"auth": "dXNlcjpwYXNz"}}}'
    docker = docker_config_secret("build-docker", "ns", "dev/mnist", config)
    storage = storage_secret(
        "build-storage",
        "ns",
        "dev/mnist",
        {"AWS_ACCESS_KEY_ID": "AKIA", "S3_ENDPOINT": "http://minio:9000"},
    )
    ca = ca_secret("build-ca", "ns", "dev/mnist", "-----BEGIN CERTIFICATE-----\n...\n")
    for secret in (docker, storage, ca):
        instance = roundtrip(api, secret, "V1Secret")
        assert instance.metadata.namespace == "ns"
        assert "stringData" not in secret
        assert_valid_metadata(secret["metadata"])
    assert docker["type"] == "kubernetes.io/dockerconfigjson"
    assert _decoded(docker) == {".dockerconfigjson": config}
    assert storage["type"] == "Opaque"
    assert _decoded(storage) == {"AWS_ACCESS_KEY_ID": "AKIA", "S3_ENDPOINT": "http://minio:9000"}
    assert (ca["type"], _decoded(ca)) == (
        "Opaque",
        {"ca.crt": "-----BEGIN CERTIFICATE-----\n...\n"},
    )


def test_storage_secret_rejects_invalid_keys() -> None:
    with pytest.raises(ValueError, match="invalid keys"):
        storage_secret("s", "ns", "dev/mnist", {"AWS KEY": "x"})


# --- labels -------------------------------------------------------------------------------


def test_managed_labels_selector_and_label_values() -> None:
    assert managed_labels("dev/mnist", action="train") == {
        "app.kubernetes.io/managed-by": "kaptain",
        "kaptain.d2iq.io/model-id": "dev-mnist",
        "kaptain.d2iq.io/action": "train",
    }
    assert selector_for() == "app.kubernetes.io/managed-by=kaptain"
    assert selector_for("dev/mnist") == (
        "app.kubernetes.io/managed-by=kaptain,kaptain.d2iq.io/model-id=dev-mnist"
    )
    for text in ("sha256:" + CHECKSUM, "-._x_.-", "a b/c", "é" * 70, "_" * 70, "x" * 200):
        assert LABEL_VALUE.match(label_value(text)), text


def test_a_very_long_model_id_still_yields_valid_names_and_labels(api: Any) -> None:
    slug = model_slug(LONG_ID)
    name = f"{slug[:40].rstrip('-')}-0123abcd"  # how the TrainModel workflow names jobs
    assert DNS1123_LABEL.match(name)
    job = training_job(job_spec(model_id=LONG_ID, name=name, replicas=8), storage_secret=None)
    assert_valid_custom_resource(api, job)
    assert_valid_metadata(job["metadata"])
    assert job["metadata"]["annotations"]["kaptain.d2iq.io/model-id"] == LONG_ID
    build = kaniko(
        build_input(model_id=LONG_ID, checksum="sha256:" + CHECKSUM),
        name=f"build-{slug[:40].rstrip('-')}",
    )
    roundtrip(api, build, "V1Job")
    assert_valid_metadata(build["metadata"])
    secret = storage_secret(f"{slug[:50]}-storage", "ns", LONG_ID, {"A": "b"})
    assert_valid_metadata(secret["metadata"])
    assert selector_for(LONG_ID).endswith(f"={slug}")
    assert len(slug) <= 63
