"""Local secrets: delete the private files an action staged, when it ends."""

from __future__ import annotations

from temporalio import activity

from kaptain.contracts import ActivityName, SecretRefs
from kaptain.secrets import LocalSecretStore


class LocalSecretActivities:
    """Deletes staged secrets of the local platform.

    Args:
        store: The local secret store.
    """

    def __init__(self, store: LocalSecretStore) -> None:
        self._store = store

    @activity.defn(name=ActivityName.DELETE_SECRETS)
    async def delete_secrets(self, refs: SecretRefs) -> int:
        """Delete each named secret (a missing one is fine); returns how many existed."""
        return sum(self._store.delete(name) for name in refs.names)
