"""The worker's Kubernetes client: in-cluster service account, or a kubeconfig."""

from __future__ import annotations

import os

from kubernetes import client, config

from kaptain.activities.kubernetes.api import KubeApi

USER_AGENT = "kaptain-worker"
"""How the worker's requests identify themselves (audit logs, the emulator's RBAC check)."""


def connect(kubeconfig: str | None = None) -> KubeApi:
    """An adapter for the cluster the worker runs in (or ``kubeconfig``'s current context).

    Args:
        kubeconfig: A kubeconfig path; None uses the in-cluster service account when there
            is one, else ``KUBECONFIG`` / ``~/.kube/config``.
    """
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        api_client = client.ApiClient()
    else:
        path = kubeconfig or os.environ.get("KUBECONFIG") or None  # read now, not at import
        api_client = config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]
    api_client.user_agent = USER_AGENT
    return KubeApi(api_client)
