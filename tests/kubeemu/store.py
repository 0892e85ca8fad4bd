"""The object store: objects by type/namespace/name, a global resourceVersion counter,
a bounded change history (what watches replay) and change subscriptions (controllers)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kubeemu.errors import already_exists, conflict, not_found
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, clone, meta, new_uid, now_iso


@dataclass(frozen=True)
class Change:
    """One stored change: ``ADDED``, ``MODIFIED`` or ``DELETED`` at resourceVersion ``rv``."""

    rv: int
    type: str
    resource: ResourceType
    obj: JSON
    old: JSON | None = None


def _spec_part(obj: JSON) -> JSON:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _without_rv(obj: JSON) -> JSON:
    copy = dict(obj)
    copy["metadata"] = {
        k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"
    }
    return copy


class ObjectStore:
    """Thread-safe storage. Every method returns copies; nothing outside holds live objects."""

    def __init__(self, history_limit: int = 1000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.history_limit = history_limit
        self.history_floor = 0
        """Changes at or below this resourceVersion have been dropped from the history."""
        self._rv = 0
        self._objects: dict[str, dict[tuple[str, str], JSON]] = {}
        self._types: dict[str, ResourceType] = {}
        self._history: list[Change] = []
        self._subscribers: list[queue.SimpleQueue[Change | None]] = []

    @property
    def resource_version(self) -> int:
        """The latest resourceVersion handed out."""
        with self.lock:
            return self._rv

    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], JSON]:
        self._types[rt.key] = rt
        return self._objects.setdefault(rt.key, {})

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> JSON | None:
        """A copy of one object, or ``None``."""
        with self.lock:
            obj = self._bucket(rt).get((namespace or "", name))
            return clone(obj) if obj is not None else None

    def items(self, rt: ResourceType, namespace: str | None = None) -> list[JSON]:
        """Copies of the objects of a type (one namespace, or all), sorted by namespace/name."""
        return self.snapshot(rt, namespace)[0]

    def snapshot(self, rt: ResourceType, namespace: str | None = None) -> tuple[list[JSON], int]:
        """The objects and the resourceVersion they are consistent with."""
        with self.lock:
            found = [
                clone(obj)
                for (ns, _), obj in sorted(self._bucket(rt).items())
                if namespace is None or ns == namespace
            ]
            return found, self._rv

    def _record(self, change_type: str, rt: ResourceType, obj: JSON, old: JSON | None) -> None:
        change = Change(self._rv, change_type, rt, clone(obj), old)
        self._history.append(change)
        overflow = len(self._history) - self.history_limit
        if overflow > 0:
            self.history_floor = self._history[overflow - 1].rv
            del self._history[:overflow]
        for subscriber in self._subscribers:
            subscriber.put(change)
        self.changed.notify_all()

    def insert(self, rt: ResourceType, obj: JSON) -> JSON:
        """Stores a new object; fills uid, creationTimestamp, generation, resourceVersion."""
        with self.lock:
            metadata = meta(obj)
            key = (metadata.get("namespace") or "", metadata["name"])
            if key in self._bucket(rt):
                raise already_exists(rt, metadata["name"])
            self._rv += 1
            stored = clone(obj)
            metadata = meta(stored)
            metadata.setdefault("uid", new_uid())
            metadata.setdefault("creationTimestamp", now_iso())
            metadata.setdefault("generation", 1)
            metadata["resourceVersion"] = str(self._rv)
            self._bucket(rt)[key] = stored
            self._record("ADDED", rt, stored, None)
            return clone(stored)

    def replace(self, rt: ResourceType, obj: JSON, *, expected_rv: str | None = None) -> JSON:
        """Replaces an object (409 on a stale ``expected_rv``); a no-op keeps its version."""
        with self.lock:
            metadata = meta(obj)
            key = (metadata.get("namespace") or "", metadata["name"])
            old = self._bucket(rt).get(key)
            if old is None:
                raise not_found(rt, metadata["name"])
            if expected_rv and expected_rv != old["metadata"]["resourceVersion"]:
                raise conflict(rt, metadata["name"])
            new = clone(obj)
            for field in ("uid", "creationTimestamp"):
                new["metadata"][field] = old["metadata"][field]
            new["metadata"]["generation"] = old["metadata"].get("generation", 1)
            if _spec_part(new) != _spec_part(old):
                new["metadata"]["generation"] += 1
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if _without_rv(new) == _without_rv(old):
                return clone(old)
            self._rv += 1
            new["metadata"]["resourceVersion"] = str(self._rv)
            self._bucket(rt)[key] = new
            self._record("MODIFIED", rt, new, old)
            return clone(new)

    def mutate(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        change: Callable[[JSON], JSON | None],
    ) -> JSON | None:
        """Atomic read-modify-write: ``change`` gets a copy and returns the new object (or
        ``None`` for no change). Returns the stored object, or ``None`` when it is gone."""
        with self.lock:
            current = self.get(rt, namespace, name)
            if current is None:
                return None
            updated = change(current)
            if updated is None:
                return self.get(rt, namespace, name)
            return self.replace(rt, updated)

    def remove(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        """Deletes one object (404 when missing); the DELETED change carries a new version."""
        with self.lock:
            key = (namespace or "", name)
            old = self._bucket(rt).pop(key, None)
            if old is None:
                raise not_found(rt, name)
            self._rv += 1
            gone = clone(old)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._record("DELETED", rt, gone, old)
            return clone(gone)

    def changes_after(self, rv: int) -> list[Change] | None:
        """The changes after ``rv``; ``None`` when the history no longer reaches back."""
        with self.lock:
            if rv < self.history_floor:
                return None
            return [c for c in self._history if c.rv > rv]

    def subscribe(self) -> queue.SimpleQueue[Change | None]:
        """A queue that receives every change from now on (for controllers); ``None`` is a
        wake-up call (see :meth:`wake`)."""
        subscriber: queue.SimpleQueue[Change | None] = queue.SimpleQueue()
        with self.lock:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: queue.SimpleQueue[Change | None]) -> None:
        """Stops feeding a queue from :meth:`subscribe`."""
        with self.lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def wake(self) -> None:
        """Wakes every waiting watch and subscriber (used on shutdown)."""
        with self.lock:
            self.changed.notify_all()
            for subscriber in self._subscribers:
                subscriber.put(None)

    def dependents(self, owner_uid: str, namespace: str | None) -> list[tuple[ResourceType, JSON]]:
        """Objects whose ownerReferences name ``owner_uid`` (same namespace, any type)."""
        with self.lock:
            found: list[tuple[ResourceType, JSON]] = []
            for key, bucket in self._objects.items():
                for (ns, _), obj in bucket.items():
                    if ns != (namespace or "") and namespace is not None:
                        continue
                    refs = obj["metadata"].get("ownerReferences") or []
                    if any(ref.get("uid") == owner_uid for ref in refs):
                        found.append((self._types[key], clone(obj)))
            return found
