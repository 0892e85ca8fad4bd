"""Pod logs for ``verbose`` runs on the Kubernetes platform, read with the user's access."""

from __future__ import annotations

from typing import Any


class PodLogReader:
    """Reads a container's whole log (empty while the pod is not started yet).

    Args:
        api_client: A ``kubernetes.client.ApiClient``; the user's by default.
    """

    def __init__(self, api_client: Any = None) -> None:
        from kubernetes import client

        from kaptain.cluster.client import user_api_client

        self._core = client.CoreV1Api(api_client or user_api_client())

    def read(self, namespace: str, pod: str, container: str) -> str:
        """The log so far; "" when the pod or its container does not run yet."""
        from kubernetes.client.exceptions import ApiException

        try:
            text = self._core.read_namespaced_pod_log(pod, namespace, container=container)
        except ApiException as err:
            if err.status in (400, 404):  # pending / not created yet
                return ""
            raise
        return str(text)
