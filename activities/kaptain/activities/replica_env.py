"""The environment contract a trainer sees, shared by every platform.

Kaptain's own variables (upload path, lifecycle phase, GPUs) plus the distributed-training
variables of the job kind, exactly as the Kubeflow Training Operator sets them: PyTorchJob
``MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK`` and ``PET_*``; TFJob ``TF_CONFIG``.
"""

from __future__ import annotations

import json

from kaptain.contracts import JobKind, JobSpec


def replica_names(kind: JobKind, replicas: int) -> list[str]:
    """``master-0, worker-0, ...`` (PyTorchJob) or ``chief-0, worker-0, ...`` (TFJob)."""
    leader = "master" if kind is JobKind.PYTORCH else "chief"
    return [f"{leader}-0"] + [f"worker-{i}" for i in range(replicas - 1)]


def kaptain_env(spec: JobSpec) -> dict[str, str]:
    """Variables every replica gets on every platform."""
    return {
        "PYTHONUNBUFFERED": "1",
        "TRAINED_MODEL_UPLOAD_PATH": spec.upload_path,
        "MODEL_LIFECYCLE_PHASE": spec.lifecycle_phase,
        "GPUS": str(spec.resources.gpus),
        "KAPTAIN_MODEL_ID": spec.model_id,
        "KAPTAIN_MODEL_REVISION": spec.revision,
        "KAPTAIN_JOB_NAME": spec.name,
    }


def pytorch_env(rank: int, world_size: int, master_addr: str, master_port: int) -> dict[str, str]:
    """What the Training Operator sets for replica ``rank`` of a PyTorchJob."""
    return {
        "MASTER_ADDR": master_addr,
        "MASTER_PORT": str(master_port),
        "WORLD_SIZE": str(world_size),
        "RANK": str(rank),
        "PET_MASTER_ADDR": master_addr,
        "PET_MASTER_PORT": str(master_port),
        "PET_NNODES": str(world_size),
        "PET_NPROC_PER_NODE": "1",
        "PET_NODE_RANK": str(rank),
    }


def tf_config(index: int, addresses: list[str]) -> dict[str, str]:
    """``TF_CONFIG`` for replica ``index`` (0 is the chief) of a TFJob."""
    cluster = {"chief": addresses[:1], "worker": addresses[1:]}
    task = {"type": "chief", "index": 0} if index == 0 else {"type": "worker", "index": index - 1}
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": task, "environment": "cloud"})}


def cuda_devices(index: int, gpus_per_replica: int) -> str:
    """``CUDA_VISIBLE_DEVICES`` giving replica ``index`` its own block of GPUs ("" hides all)."""
    first = index * gpus_per_replica
    return ",".join(str(first + i) for i in range(gpus_per_replica))
