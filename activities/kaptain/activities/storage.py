"""Storage activities shared by every platform: upload check and tracking records."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from temporalio import activity

from kaptain.contracts import ActivityName, RecordInput, StorageRef, UploadCheck
from kaptain.storage import open_location
from kaptain.tracking import TrackingStore


class CredentialResolver(Protocol):
    """Turns a credentials reference into its environment-style body (blocking)."""

    def get(self, name: str, namespace: str) -> dict[str, str]:
        """The body of secret ``name`` in ``namespace``."""
        ...


class StorageActivities:
    """Reads and writes model storage with the credentials a secret reference names.

    Args:
        secrets: Where secret references resolve on this worker's platform.
    """

    def __init__(self, secrets: CredentialResolver) -> None:
        self._secrets = secrets

    def credentials(self, storage: StorageRef) -> Mapping[str, str] | None:
        """The environment-style credentials of ``storage`` (None: the worker's own)."""
        if storage.credentials_ref is None:
            return None
        return self._secrets.get(storage.credentials_ref, storage.credentials_namespace)

    @activity.defn(name=ActivityName.CHECK_UPLOAD)
    async def check_upload(self, check: UploadCheck) -> bool:
        """True when anything was uploaded under ``check.uri``."""

        def _check() -> bool:
            store, prefix = open_location(check.uri, self.credentials(check.storage))
            return bool(store.list(prefix.rstrip("/") + "/"))

        return await asyncio.to_thread(_check)

    @activity.defn(name=ActivityName.RECORD)
    async def record(self, entry: RecordInput) -> str:
        """Append a tracking record; returns its key."""

        def _append() -> str:
            store = TrackingStore.open(entry.storage.base_uri, self.credentials(entry.storage))
            return store.append(entry.record)

        return await asyncio.to_thread(_append)
