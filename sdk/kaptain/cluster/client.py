"""The user's Kubernetes client: kubeconfig (read at call time) or the in-cluster account."""

from __future__ import annotations

import os
from typing import Any

from kaptain.exceptions import PlatformUnavailableException

USER_AGENT = "kaptain-sdk"
"""How the SDK's requests identify themselves (audit logs)."""


def user_api_client(kubeconfig: str | None = None) -> Any:
    """A ``kubernetes.client.ApiClient`` for the notebook's user.

    Raises:
        PlatformUnavailableException: No usable kubeconfig or service account.
    """
    from kubernetes import client, config

    try:
        if kubeconfig is None and _in_cluster():
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            api_client = client.ApiClient()
        else:
            # KUBECONFIG is read now: the client library reads it once, at its import.
            path = kubeconfig or os.environ.get("KUBECONFIG") or None
            api_client = config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]
    except Exception as err:
        raise PlatformUnavailableException(f"cannot load Kubernetes credentials: {err}") from None
    api_client.user_agent = USER_AGENT
    return api_client


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG")
