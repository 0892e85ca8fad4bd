"""Secrets on the Kubernetes platform: read by reference, deleted when the action ends."""

from __future__ import annotations

import base64

from temporalio import activity

from kaptain.activities.kubernetes.api import SECRETS, KubeApi
from kaptain.activities.kubernetes.errors import KubeError, to_application_error
from kaptain.contracts import ActivityName, SecretRefs


class KubeSecrets:
    """Reads staged Secrets (blocking) and deletes them (an activity).

    Args:
        api: The Kubernetes adapter.
    """

    def __init__(self, api: KubeApi) -> None:
        self._api = api

    def read(self, namespace: str, name: str) -> dict[str, str]:
        """A Secret's data, decoded (blocking; never logged)."""
        secret = self._api.get(SECRETS, namespace, name)
        return {
            key: base64.b64decode(value).decode()
            for key, value in (secret.get("data") or {}).items()
        }

    @activity.defn(name=ActivityName.DELETE_SECRETS)
    async def delete_secrets(self, refs: SecretRefs) -> int:
        """Delete each named Secret (a missing one is fine); returns how many existed."""
        deleted = 0
        for name in refs.names:
            try:
                deleted += await self._api.run(self._api.delete, SECRETS, refs.namespace, name)
            except KubeError as err:
                raise to_application_error(err) from None
        return deleted


class KubeCredentials:
    """Resolves a storage credentials reference to its environment-style body.

    Args:
        secrets: Secret reader.
    """

    def __init__(self, secrets: KubeSecrets) -> None:
        self._secrets = secrets

    def get(self, name: str, namespace: str) -> dict[str, str]:
        """The Secret's data (blocking)."""
        return self._secrets.read(namespace, name)
