"""Kubeflow Training Operator jobs (``kubeflow.org/v1`` PyTorchJob and TFJob) for a JobSpec.

The leader (PyTorchJob ``Master``, TFJob ``Chief``) is one replica and the rest are
``Worker`` replicas; the operator injects the distributed variables (``MASTER_ADDR``,
``RANK``, ``TF_CONFIG``, ...) and the kubelet's device plugin sets
``CUDA_VISIBLE_DEVICES``, so only :func:`~kaptain.activities.replica_env.kaptain_env` is
set here. The operator names a pod and a headless Service ``<job>-<type>-<index>`` per
replica, so the job name must leave room for that within a 63-character DNS-1035 label.
Pods opt out of Istio sidecar injection, which would keep finished replicas running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from kaptain.activities.kubernetes.manifests.labels import managed_annotations, managed_labels
from kaptain.activities.kubernetes.manifests.resources import resource_requirements
from kaptain.activities.replica_env import kaptain_env
from kaptain.contracts.common import JobKind
from kaptain.contracts.train import JobSpec

__all__ = ["KINDS", "JobKindInfo", "training_job"]


@dataclass(frozen=True)
class JobKindInfo:
    """How one Training Operator kind spells its replicas.

    Attributes:
        plural: Resource name, e.g. ``pytorchjobs``.
        replica_specs: Field holding the replica specs, e.g. ``pytorchReplicaSpecs``.
        leader: Replica type of replica 0 (``Master`` or ``Chief``).
        container: The container name the operator looks for.
        port_name: Name of the port the operator wires between replicas.
        port: Its default number.
    """

    plural: str
    replica_specs: str
    leader: str
    container: str
    port_name: str
    port: int


KINDS: Final[dict[JobKind, JobKindInfo]] = {
    JobKind.PYTORCH: JobKindInfo(
        "pytorchjobs", "pytorchReplicaSpecs", "Master", "pytorch", "pytorchjob-port", 23456
    ),
    JobKind.TENSORFLOW: JobKindInfo(
        "tfjobs", "tfReplicaSpecs", "Chief", "tensorflow", "tfjob-port", 2222
    ),
}
"""Replica layout of each job kind."""

_DNS1035_LABEL = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_MAX_NAME = 63
_NO_ISTIO = {"sidecar.istio.io/inject": "false"}


def training_job(spec: JobSpec, *, storage_secret: str | None) -> dict[str, Any]:
    """The PyTorchJob or TFJob that runs ``spec``.

    Args:
        spec: The job: kind, image, flags, replicas, resources and Kaptain env.
        storage_secret: Secret with the storage variables (``envFrom``), if any.

    Returns:
        The custom resource manifest.

    Raises:
        ValueError: ``spec.name`` cannot name the operator's pods and Services, or
            ``spec.replicas`` is below 1.
    """
    info = KINDS[spec.kind]
    _check_name(spec.name, spec.replicas)
    labels = managed_labels(spec.model_id, action="train", revision=spec.revision)
    replica_specs = {info.leader: _replica(spec, info, 1, labels, storage_secret)}
    if spec.replicas > 1:
        replica_specs["Worker"] = _replica(spec, info, spec.replicas - 1, labels, storage_secret)
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": spec.kind.value,
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": managed_annotations(spec.model_id, workflow_id=spec.workflow_id),
        },
        "spec": {"runPolicy": _run_policy(spec), info.replica_specs: replica_specs},
    }


def _check_name(name: str, replicas: int) -> None:
    if replicas < 1:
        raise ValueError(f"a training job needs at least 1 replica, got {replicas}")
    longest = f"{name}-worker-{max(replicas - 2, 0)}"
    if not _DNS1035_LABEL.match(name) or len(longest) > _MAX_NAME:
        raise ValueError(
            f"training job name {name!r} cannot name its replicas' pods and Services "
            f"(e.g. {longest!r}): it must start with a lower-case letter, use only "
            f"lower-case letters, digits and '-', and leave the replica names within "
            f"{_MAX_NAME} characters"
        )


def _run_policy(spec: JobSpec) -> dict[str, Any]:
    policy: dict[str, Any] = {"cleanPodPolicy": "None"}
    if spec.active_deadline_seconds is not None:
        policy["activeDeadlineSeconds"] = spec.active_deadline_seconds
    if spec.ttl_seconds_after_finished is not None:
        policy["ttlSecondsAfterFinished"] = spec.ttl_seconds_after_finished
    return policy


def _replica(
    spec: JobSpec,
    info: JobKindInfo,
    replicas: int,
    labels: dict[str, str],
    storage_secret: str | None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": info.container,
        "image": spec.image.image,
        "args": list(spec.flags),
        "env": [{"name": name, "value": value} for name, value in kaptain_env(spec).items()],
        "ports": [{"name": info.port_name, "containerPort": info.port, "protocol": "TCP"}],
    }
    if storage_secret:
        container["envFrom"] = [{"secretRef": {"name": storage_secret}}]
    resources = resource_requirements(spec.resources)
    if resources:
        container["resources"] = resources
    pod: dict[str, Any] = {"containers": [container]}
    if spec.image_pull_secret:
        pod["imagePullSecrets"] = [{"name": spec.image_pull_secret}]
    return {
        "replicas": replicas,
        "restartPolicy": "Never",
        "template": {
            "metadata": {"labels": dict(labels), "annotations": dict(_NO_ISTIO)},
            "spec": pod,
        },
    }
