"""Secrets the Kubernetes platform stages for builds and jobs (registry, storage, CA).

Values are base64-encoded into ``data`` (never ``stringData``), so the manifest is exactly
what the API server stores and returns.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Final

from kaptain.activities.kubernetes.manifests.labels import managed_annotations, managed_labels

__all__ = [
    "CA_CERT_KEY",
    "DOCKER_CONFIG_KEY",
    "ca_secret",
    "docker_config_secret",
    "storage_secret",
]

DOCKER_CONFIG_KEY: Final = ".dockerconfigjson"
"""Key of the Docker ``config.json`` in a ``kubernetes.io/dockerconfigjson`` Secret."""

CA_CERT_KEY: Final = "ca.crt"
"""Key of the PEM certificate in a CA Secret."""

_DOCKER_CONFIG_TYPE: Final = "kubernetes.io/dockerconfigjson"
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def docker_config_secret(
    name: str, namespace: str, model_id: str, config_json: str
) -> dict[str, Any]:
    """A Docker config Secret, for Kaniko to push and for kubelets to pull.

    Args:
        name: Secret name.
        namespace: Its namespace.
        model_id: The model it serves (labels).
        config_json: A Docker ``config.json`` (``{"auths": {...}}``).

    Returns:
        A ``kubernetes.io/dockerconfigjson`` Secret.
    """
    return _secret(name, namespace, model_id, _DOCKER_CONFIG_TYPE, {DOCKER_CONFIG_KEY: config_json})


def storage_secret(
    name: str, namespace: str, model_id: str, env: Mapping[str, str]
) -> dict[str, Any]:
    """An Opaque Secret of storage credentials as environment variables (``envFrom``).

    Args:
        name: Secret name.
        namespace: Its namespace.
        model_id: The model it serves (labels).
        env: Variables such as ``AWS_ACCESS_KEY_ID`` and ``S3_ENDPOINT``.

    Returns:
        An Opaque Secret whose keys are the variable names.

    Raises:
        ValueError: A key is not a valid Secret key.
    """
    return _secret(name, namespace, model_id, "Opaque", env)


def ca_secret(name: str, namespace: str, model_id: str, pem: str) -> dict[str, Any]:
    """An Opaque Secret holding a registry's CA certificate under ``ca.crt``.

    Args:
        name: Secret name.
        namespace: Its namespace.
        model_id: The model it serves (labels).
        pem: PEM-encoded certificate(s).

    Returns:
        The Secret.
    """
    return _secret(name, namespace, model_id, "Opaque", {CA_CERT_KEY: pem})


def _secret(
    name: str, namespace: str, model_id: str, secret_type: str, values: Mapping[str, str]
) -> dict[str, Any]:
    bad = sorted(key for key in values if not _SECRET_KEY.match(key))
    if bad:
        raise ValueError(
            f"Secret {name!r}: invalid keys {bad!r} (letters, digits, '-', '_' and '.' only)"
        )
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": managed_labels(model_id),
            "annotations": managed_annotations(model_id),
        },
        "type": secret_type,
        "data": {key: _b64(value) for key, value in values.items()},
    }


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")
