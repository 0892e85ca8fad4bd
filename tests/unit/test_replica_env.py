"""The environment each replica of a training job sees (kaptain.activities.replica_env)."""

from __future__ import annotations

import json

import pytest

from kaptain.activities.replica_env import (
    cuda_devices,
    kaptain_env,
    pytorch_env,
    replica_names,
    tf_config,
)
from kaptain.contracts import BuildResult, JobKind, JobSpec, ResourceSpec, StorageRef

ADDRESSES = ["127.0.0.1:23456", "127.0.0.1:23457", "127.0.0.1:23458"]


@pytest.mark.parametrize(
    ("kind", "replicas", "expected"),
    [
        (JobKind.PYTORCH, 1, ["master-0"]),
        (JobKind.PYTORCH, 3, ["master-0", "worker-0", "worker-1"]),
        (JobKind.TENSORFLOW, 1, ["chief-0"]),
        (JobKind.TENSORFLOW, 3, ["chief-0", "worker-0", "worker-1"]),
    ],
)
def test_replica_names(kind: JobKind, replicas: int, expected: list[str]) -> None:
    assert replica_names(kind, replicas) == expected


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_pytorch_env(rank: int) -> None:
    env = pytorch_env(rank, 3, "10.0.0.5", 29500)
    assert env == {
        "MASTER_ADDR": "10.0.0.5",
        "MASTER_PORT": "29500",
        "WORLD_SIZE": "3",
        "RANK": str(rank),
        "PET_MASTER_ADDR": "10.0.0.5",
        "PET_MASTER_PORT": "29500",
        "PET_NNODES": "3",
        "PET_NPROC_PER_NODE": "1",
        "PET_NODE_RANK": str(rank),
    }


def test_pytorch_ranks_follow_replica_names() -> None:
    # master is rank 0; worker-i is rank i+1 (KAPTAIN.md, the Training Operator's order).
    names = replica_names(JobKind.PYTORCH, 3)
    ranks = {name: pytorch_env(i, len(names), "m", 1)["RANK"] for i, name in enumerate(names)}
    assert ranks == {"master-0": "0", "worker-0": "1", "worker-1": "2"}


def _tf(index: int) -> dict[str, object]:
    env = tf_config(index, ADDRESSES)
    assert set(env) == {"TF_CONFIG"}
    parsed = json.loads(env["TF_CONFIG"])
    assert isinstance(parsed, dict)
    return parsed


def test_tf_config_chief() -> None:
    config = _tf(0)
    assert config["cluster"] == {"chief": ADDRESSES[:1], "worker": ADDRESSES[1:]}
    assert config["task"] == {"type": "chief", "index": 0}
    assert config["environment"] == "cloud"


@pytest.mark.parametrize("index", [1, 2])
def test_tf_config_workers(index: int) -> None:
    config = _tf(index)
    assert config["cluster"] == {"chief": ADDRESSES[:1], "worker": ADDRESSES[1:]}
    assert config["task"] == {"type": "worker", "index": index - 1}


def test_tf_config_single_replica_has_no_workers() -> None:
    config = json.loads(tf_config(0, ADDRESSES[:1])["TF_CONFIG"])
    assert config["cluster"]["chief"] == ADDRESSES[:1]
    assert config["cluster"].get("worker", []) == []


@pytest.mark.parametrize(
    ("index", "gpus", "expected"),
    [
        (0, 0, ""),
        (3, 0, ""),
        (0, 1, "0"),
        (2, 1, "2"),
        (0, 2, "0,1"),
        (1, 2, "2,3"),
        (2, 3, "6,7,8"),
    ],
)
def test_cuda_devices(index: int, gpus: int, expected: str) -> None:
    assert cuda_devices(index, gpus) == expected


def test_cuda_device_blocks_do_not_overlap() -> None:
    seen: set[str] = set()
    for index in range(4):
        block = cuda_devices(index, 2).split(",")
        assert len(block) == 2
        assert seen.isdisjoint(block)
        seen.update(block)
    assert seen == {str(i) for i in range(8)}


def _spec(gpus: int | None) -> JobSpec:
    return JobSpec(
        name="dev-mnist-0123abcd",
        namespace="default",
        kind=JobKind.PYTORCH,
        model_id="dev/mnist",
        revision="0123abcd" * 4,
        workflow_id="kaptain/default/dev/mnist/train",
        image=BuildResult(image="r/m:t", checksum="c" * 64, skipped=False, location="env"),
        main_file="trainer.py",
        flags=["--epochs=1"],
        replicas=2,
        resources=ResourceSpec(gpu_request=gpus, gpu_limit=gpus),
        upload_path="file:///data/models/dev/mnist/trained/0123abcd",
        storage=StorageRef(base_uri="file:///data/models"),
    )


def test_kaptain_env() -> None:
    env = kaptain_env(_spec(2))
    assert env == {
        "PYTHONUNBUFFERED": "1",
        "TRAINED_MODEL_UPLOAD_PATH": "file:///data/models/dev/mnist/trained/0123abcd",
        "MODEL_LIFECYCLE_PHASE": "training",
        "GPUS": "2",
        "KAPTAIN_MODEL_ID": "dev/mnist",
        "KAPTAIN_MODEL_REVISION": "0123abcd" * 4,
        "KAPTAIN_JOB_NAME": "dev-mnist-0123abcd",
    }


def test_kaptain_env_without_gpus_says_zero() -> None:
    assert kaptain_env(_spec(None))["GPUS"] == "0"


def test_kaptain_env_values_are_strings() -> None:
    assert all(isinstance(value, str) for value in kaptain_env(_spec(1)).values())
