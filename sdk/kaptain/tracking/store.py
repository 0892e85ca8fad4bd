"""The tracking store lives with the model storage: one JSON object per record.

Layout: ``<base>/<model id>/tracking/<timestamp>-<action>-<revision>-<digest>.json``. One object
per record (object stores cannot append), sorted by name = sorted by time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from kaptain.contracts import TrackingRecord
from kaptain.storage import ObjectStore, open_location

_UNSAFE = re.compile(r"[^0-9A-Za-z]+")


class TrackingStore:
    """Reads and writes tracking records under a base storage location.

    Args:
        store: The object store.
        prefix: Key prefix of the base location (``base_model_storage_uri``).
    """

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix.strip("/")

    @classmethod
    def open(cls, base_uri: str, env: Mapping[str, str] | None = None) -> TrackingStore:
        """Open the tracking store of a ``file://`` or ``s3://`` base location."""
        store, prefix = open_location(base_uri, env)
        return cls(store, prefix)

    def _dir(self, model_id: str) -> str:
        parts = [p for p in (self._prefix, model_id.strip("/"), "tracking") if p]
        return "/".join(parts) + "/"

    def append(self, record: TrackingRecord) -> str:
        """Store one record; returns its key.

        The key derives from the record's content, so a retried write is idempotent.
        """
        body = record.model_dump_json().encode()
        stamp = _UNSAFE.sub("", record.timestamp)
        digest = hashlib.sha256(body).hexdigest()[:8]
        name = f"{stamp}-{record.action}-{record.revision[:12]}-{digest}.json"
        key = self._dir(record.model_id) + name
        self._store.put_bytes(key, body)
        return key

    def records(self, model_id: str) -> list[TrackingRecord]:
        """Every record of a model, oldest first."""
        folder = self._dir(model_id)
        # Only the folder's own objects: "team/tracking/..." is another model's folder.
        keys = sorted(
            key
            for key in self._store.list(folder)
            if key.endswith(".json") and "/" not in key[len(folder) :]
        )
        return [TrackingRecord.model_validate_json(self._store.get_bytes(key)) for key in keys]
