"""A level-triggered controller loop: reconcile everything it owns on each relevant change
and every ``interval`` seconds (for deadlines and TTLs)."""

from __future__ import annotations

import logging
import queue
import threading
import time

from kubeemu.apiserver import ApiServer
from kubeemu.events import EventRecorder
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, parse_iso

logger = logging.getLogger("kubeemu.controllers")


class Controller(threading.Thread):
    """Base class: subclasses set ``owned``/``watched`` and implement :meth:`reconcile`."""

    owned: tuple[ResourceType, ...] = ()
    """The types this controller reconciles."""
    watched: tuple[ResourceType, ...] = ()
    """Further types whose changes trigger a reconcile (e.g. pods)."""

    def __init__(self, api: ApiServer, recorder: EventRecorder, *, interval: float = 0.2) -> None:
        super().__init__(name=f"kubeemu-{type(self).__name__}", daemon=True)
        self.api = api
        self.store = api.store
        self.recorder = recorder
        self.interval = interval
        self.stop_event = threading.Event()
        self._moments: dict[tuple[str, str], float] = {}

    def mark(self, uid: str, moment: str) -> None:
        """Remembers when ``moment`` (e.g. ``start``) happened to an object, precisely
        (status timestamps only have whole seconds)."""
        self._moments.setdefault((uid, moment), time.time())

    def elapsed(self, uid: str, moment: str, stamp: str | None) -> float | None:
        """Seconds since ``moment``: the remembered time, else the status timestamp."""
        if (uid, moment) in self._moments:
            return time.time() - self._moments[(uid, moment)]
        return time.time() - parse_iso(stamp) if stamp else None

    def reconcile(self, rt: ResourceType, obj: JSON) -> None:
        """Brings one object's world in line with its spec."""
        raise NotImplementedError

    def event(self, obj: JSON, type_: str, reason: str, message: str, component: str) -> None:
        """Records an Event about ``obj`` (ignoring failures: its namespace may be gone)."""
        try:
            self.recorder.emit(obj, type_, reason, message, component)
        except Exception:
            logger.debug("kubeemu: event dropped", exc_info=True)

    def reconcile_all(self) -> None:
        """One pass over every owned object."""
        for rt in self.owned:
            for obj in self.store.items(rt):
                if self.stop_event.is_set():
                    return
                try:
                    self.reconcile(rt, obj)
                except Exception:
                    logger.exception(
                        "kubeemu: %s failed on %s", type(self).__name__, obj["metadata"]["name"]
                    )

    def run(self) -> None:
        """Reconciles on relevant changes (batched) and periodically."""
        keys = {rt.key for rt in (*self.owned, *self.watched)}
        changes = self.store.subscribe()
        try:
            next_pass = 0.0
            dirty = True
            while not self.stop_event.is_set():
                try:
                    change = changes.get(timeout=self.interval)
                    while True:  # drain the batch
                        dirty = dirty or (change is not None and change.resource.key in keys)
                        change = changes.get_nowait()
                except queue.Empty:
                    pass
                if dirty or time.monotonic() >= next_pass:
                    dirty = False
                    self.reconcile_all()
                    next_pass = time.monotonic() + self.interval
        finally:
            self.store.unsubscribe(changes)

    def shutdown(self) -> None:
        """Stops the loop."""
        self.stop_event.set()
        self.join(5)
