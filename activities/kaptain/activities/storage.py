"""Storage activities shared by every platform: upload check and tracking records."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from temporalio import activity

from kaptain.contracts import ActivityName, CopyModel, RecordInput, StorageRef, UploadCheck
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

    @activity.defn(name=ActivityName.COPY_MODEL)
    async def copy_model(self, copy: CopyModel) -> int:
        """Copy the best trial's model to the tuned location, then delete the trials' models.

        Idempotent: a retry copies the same objects again and deletes what is left.

        Returns:
            The number of objects copied.
        """

        def _copy() -> int:
            credentials = self.credentials(copy.storage)
            store, source = open_location(copy.source_uri, credentials)
            _, target = open_location(copy.target_uri, credentials)
            copied = len(store.list(target.rstrip("/") + "/"))
            if store.list(source.rstrip("/") + "/"):
                copied = store.copy_prefix(source.rstrip("/") + "/", target.rstrip("/") + "/")
            for uri in copy.delete_uris:
                _, prefix = open_location(uri, credentials)
                store.delete_prefix(prefix.rstrip("/") + "/")
            return copied

        return await asyncio.to_thread(_copy)
