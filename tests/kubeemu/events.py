"""Kubernetes Events as controllers and the kubelet record them (aggregated by count)."""

from __future__ import annotations

import time

from kubeemu import resources
from kubeemu.store import ObjectStore
from kubeemu.util import JSON, now_iso

EVENTS = resources.resolve("events")


class EventRecorder:
    """Writes ``v1`` Events about objects; a repeat of the same event bumps its count."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def emit(
        self,
        obj: JSON,
        type_: str,
        reason: str,
        message: str,
        component: str,
        *,
        field_path: str | None = None,
    ) -> None:
        """Records ``type_`` (Normal/Warning) ``reason``: ``message`` about ``obj``."""
        metadata = obj["metadata"]
        namespace = metadata.get("namespace") or "default"
        involved: JSON = {
            "kind": obj.get("kind"),
            "namespace": metadata.get("namespace"),
            "name": metadata["name"],
            "uid": metadata.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": metadata.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        now = now_iso()
        with self.store.lock:
            for existing in self.store.items(EVENTS, namespace):
                same = existing.get("involvedObject", {}).get("uid") == involved["uid"]
                if same and (existing.get("reason"), existing.get("message")) == (reason, message):

                    def bump(event: JSON) -> JSON:
                        event["count"] = int(event.get("count") or 1) + 1
                        event["lastTimestamp"] = now
                        return event

                    self.store.mutate(EVENTS, namespace, existing["metadata"]["name"], bump)
                    return
            self.store.insert(
                EVENTS,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {
                        "name": f"{metadata['name']}.{time.time_ns():x}",
                        "namespace": namespace,
                    },
                    "involvedObject": {k: v for k, v in involved.items() if v is not None},
                    "reason": reason,
                    "message": message,
                    "source": {"component": component},
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                    "type": type_,
                    "reportingComponent": component,
                    "reportingInstance": "",
                },
            )
