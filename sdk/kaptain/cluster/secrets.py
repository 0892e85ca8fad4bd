"""Secrets for the Kubernetes platform, staged by the SDK with the user's own credentials.

Credentials never travel through Temporal: the SDK writes them as Secrets in the user's
namespace (the only object it ever writes to a cluster), the workflow carries their names,
and the workflow deletes them when the action ends.
"""

from __future__ import annotations

import base64
from typing import Any

from kaptain.cluster.client import user_api_client
from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
from kaptain.contracts.names import model_slug
from kaptain.exceptions import PlatformUnavailableException


def secret_manifest(
    name: str, namespace: str, model_id: str, secret_type: str, body: dict[str, str]
) -> dict[str, Any]:
    """A ``v1`` Secret labelled as managed by Kaptain for ``model_id``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, MODEL_ID_LABEL: model_slug(model_id)},
            "annotations": {MODEL_ID_LABEL: model_id},
        },
        "type": secret_type,
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in body.items()},
    }


class KubernetesSecretStore:
    """Creates (or replaces) and deletes Secrets in one namespace.

    Args:
        namespace: The user's namespace.
        kubeconfig: Path of a kubeconfig; None loads ``KUBECONFIG`` / ``~/.kube/config``,
            or the in-cluster service account.
    """

    def __init__(self, namespace: str, kubeconfig: str | None = None) -> None:
        from kubernetes import client

        self._core = client.CoreV1Api(user_api_client(kubeconfig))
        self._namespace = namespace

    def put(self, name: str, model_id: str, secret_type: str, body: dict[str, str]) -> str:
        """Create the Secret, replacing one of the same name; returns the name."""
        from kubernetes.client.exceptions import ApiException

        manifest = secret_manifest(name, self._namespace, model_id, secret_type, body)
        try:
            self._core.create_namespaced_secret(self._namespace, manifest)  # type: ignore[arg-type]
        except ApiException as err:
            if err.status != 409:
                raise _error("create", name, err) from None
            self._core.replace_namespaced_secret(name, self._namespace, manifest)  # type: ignore[arg-type]
        return name

    def delete(self, name: str) -> bool:
        """Delete a Secret; False when it did not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.delete_namespaced_secret(name, self._namespace)
        except ApiException as err:
            if err.status == 404:
                return False
            raise _error("delete", name, err) from None
        return True


def _error(verb: str, name: str, err: Any) -> PlatformUnavailableException:
    reason = getattr(err, "reason", "") or ""
    status = getattr(err, "status", "?")
    hint = " (may your account create Secrets in this namespace?)" if status == 403 else ""
    return PlatformUnavailableException(f"cannot {verb} Secret {name}: {status} {reason}{hint}")
