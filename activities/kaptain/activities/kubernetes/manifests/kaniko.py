"""The Kaniko Job that builds and pushes a training image from a context tarball in S3.

Kaniko reads an ``s3://bucket/key.tar.gz`` context with the AWS SDK, so the storage
Secret (see :meth:`kaptain.platform.config.S3ConfigurationProvider.get_secret_body`) is
passed whole with ``envFrom``: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``S3_ENDPOINT`` and ``S3_FORCE_PATH_STYLE``. Explicit ``env`` entries win
over ``envFrom`` in Kubernetes, so ``AWS_REGION``/``S3_FORCE_PATH_STYLE`` are set only
when the caller overrides them.

The image gets the ``checksum`` label twice on purpose: the generated Dockerfile in the
context has ``LABEL checksum=...``, and ``--label=checksum=...`` guarantees it even for a
context whose Dockerfile lacks it -- the registry skip check depends on that label alone.
``--digest-file=/dev/termination-log`` leaves the pushed digest in the pod's termination
message.
"""

from __future__ import annotations

from typing import Any, Final

from kaptain.activities.kubernetes.manifests.labels import (
    managed_annotations,
    managed_labels,
    require_dns1123_label,
)
from kaptain.activities.kubernetes.manifests.resources import resource_requirements
from kaptain.activities.kubernetes.manifests.secrets import CA_CERT_KEY, DOCKER_CONFIG_KEY
from kaptain.contracts.build import BuildInput

__all__ = ["KANIKO_IMAGE", "KANIKO_TTL_SECONDS", "kaniko_args", "kaniko_job"]

KANIKO_IMAGE: Final = "gcr.io/kaniko-project/executor:v1.23.2"
"""The pinned Kaniko executor image."""

KANIKO_TTL_SECONDS: Final = 600
"""Backstop: the Job deletes itself this long after it finishes (the workflow deletes it first)."""

_DOCKER_DIR: Final = "/kaniko/.docker"
_CA_DIR: Final = "/kaniko/registry-ca"


def kaniko_job(
    build: BuildInput,
    *,
    name: str,
    context_uri: str,
    storage_secret: str | None,
    docker_config_secret: str | None,
    ca_secret: str | None,
    registry_host: str,
    active_deadline_seconds: int | None = None,
    aws_region: str | None = None,
    s3_force_path_style: bool | None = None,
) -> dict[str, Any]:
    """A ``batch/v1`` Job that runs Kaniko once (no retries) for ``build``.

    Args:
        build: What to build; gives the destination image, checksum, model and resources.
        name: Job name (a DNS-1123 label).
        context_uri: The context tarball, ``s3://bucket/key.tar.gz``.
        storage_secret: Secret with the storage variables (``envFrom``), if any.
        docker_config_secret: ``kubernetes.io/dockerconfigjson`` Secret to push with, if any.
        ca_secret: Secret with the registry's CA as ``ca.crt``, if any.
        registry_host: The registry's ``host[:port]`` (for ``--registry-certificate``).
        active_deadline_seconds: Kill the build after this long, if given.
        aws_region: Override the storage Secret's ``AWS_REGION``.
        s3_force_path_style: Override the storage Secret's ``S3_FORCE_PATH_STYLE``.

    Returns:
        The Job manifest.

    Raises:
        ValueError: ``name`` is not a DNS-1123 label, or ``context_uri`` is not ``s3://``.
    """
    require_dns1123_label(name, "Kaniko Job")
    if not context_uri.startswith("s3://"):
        raise ValueError(f"Kaniko build context must be an s3:// URI, got {context_uri!r}")
    labels = managed_labels(build.model_id, action="build", checksum=build.checksum)
    annotations = managed_annotations(build.model_id, checksum=build.checksum, image=build.image)
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": KANIKO_TTL_SECONDS,
        "template": {
            "metadata": {"labels": labels, "annotations": annotations},
            "spec": _pod_spec(
                build,
                context_uri,
                storage_secret,
                docker_config_secret,
                ca_secret,
                registry_host,
                aws_region,
                s3_force_path_style,
            ),
        },
    }
    if active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": build.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def kaniko_args(
    build: BuildInput, context_uri: str, *, ca_secret: str | None, registry_host: str
) -> list[str]:
    """The executor's command-line flags.

    Args:
        build: What to build.
        context_uri: The context tarball, ``s3://...``.
        ca_secret: Whether (and which) CA Secret is mounted.
        registry_host: The registry's ``host[:port]``.

    Returns:
        The flags, in a stable order.
    """
    args = [
        f"--context={context_uri}",
        "--dockerfile=Dockerfile",
        f"--destination={build.image}",
        f"--label=checksum={build.checksum}",
        "--digest-file=/dev/termination-log",
        "--push-retry=2",
        "--cache=false",
        "--verbosity=info",
    ]
    if ca_secret:
        args.append(f"--registry-certificate={registry_host}={_CA_DIR}/{CA_CERT_KEY}")
    return args


def _pod_spec(
    build: BuildInput,
    context_uri: str,
    storage_secret: str | None,
    docker_config_secret: str | None,
    ca_secret: str | None,
    registry_host: str,
    aws_region: str | None,
    s3_force_path_style: bool | None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "kaniko",
        "image": KANIKO_IMAGE,
        "args": kaniko_args(build, context_uri, ca_secret=ca_secret, registry_host=registry_host),
    }
    env = []
    if aws_region:
        env.append({"name": "AWS_REGION", "value": aws_region})
    if s3_force_path_style is not None:
        env.append({"name": "S3_FORCE_PATH_STYLE", "value": str(s3_force_path_style).lower()})
    if env:
        container["env"] = env
    if storage_secret:
        container["envFrom"] = [{"secretRef": {"name": storage_secret}}]
    volumes, mounts = _volumes(docker_config_secret, ca_secret)
    if mounts:
        container["volumeMounts"] = mounts
    resources = resource_requirements(build.resources, gpus=False)
    if resources:
        container["resources"] = resources
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if volumes:
        pod["volumes"] = volumes
    return pod


def _volumes(
    docker_config_secret: str | None, ca_secret: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if docker_config_secret:
        volumes.append(
            _secret_volume("docker-config", docker_config_secret, DOCKER_CONFIG_KEY, "config.json")
        )
        mounts.append({"name": "docker-config", "mountPath": _DOCKER_DIR, "readOnly": True})
    if ca_secret:
        volumes.append(_secret_volume("registry-ca", ca_secret, CA_CERT_KEY, CA_CERT_KEY))
        mounts.append({"name": "registry-ca", "mountPath": _CA_DIR, "readOnly": True})
    return volumes, mounts


def _secret_volume(volume: str, secret: str, key: str, path: str) -> dict[str, Any]:
    return {"name": volume, "secret": {"secretName": secret, "items": [{"key": key, "path": path}]}}
