"""Watches: replay the change history after a resourceVersion, then stream live changes.

A watch from a resourceVersion older than the bounded history ends with an ``ERROR`` event
whose object is a ``410 Expired`` Status, as a real API server does after compaction; clients
then list again and watch from the list's resourceVersion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from kubeemu.errors import bad_request, expired
from kubeemu.resources import ResourceType
from kubeemu.store import Change, ObjectStore
from kubeemu.util import JSON


def expired_event(rv: int | str, floor: int) -> JSON:
    """The ``ERROR`` event that tells a client its resourceVersion is gone."""
    status = expired(f"too old resource version: {rv} ({floor + 1})").status()
    return {"type": "ERROR", "object": status}


def _event(change: Change, wanted: Callable[[JSON], bool]) -> JSON | None:
    now_matches = wanted(change.obj)
    if change.type == "MODIFIED" and change.old is not None:
        before = wanted(change.old)
        if before and not now_matches:
            return {"type": "DELETED", "object": change.obj}
        if now_matches and not before:
            return {"type": "ADDED", "object": change.obj}
    return {"type": change.type, "object": change.obj} if now_matches else None


def watch_events(
    store: ObjectStore,
    rt: ResourceType,
    namespace: str | None,
    wanted: Callable[[JSON], bool],
    *,
    resource_version: str | None,
    timeout: float,
    stop: threading.Event,
    bookmarks: bool = False,
    bookmark_interval: float = 1.0,
    idle: float = 0.5,
) -> Iterator[JSON | None]:
    """Watch events as dicts; ``None`` now and then while idle (lets the writer notice a
    closed connection). Ends after ``timeout`` seconds, on ``stop``, or after an ERROR."""

    def relevant(change: Change) -> bool:
        if change.resource.key != rt.key:
            return False
        return namespace is None or change.obj["metadata"].get("namespace") == namespace

    if resource_version in (None, "", "0"):
        items, last = store.snapshot(rt, namespace)
        for obj in items:
            if wanted(obj):
                yield {"type": "ADDED", "object": obj}
    else:
        try:
            last = int(str(resource_version))
        except ValueError as error:
            raise bad_request(f"resourceVersion: Invalid value: {resource_version!r}") from error
    deadline = time.monotonic() + timeout
    next_bookmark = time.monotonic() + bookmark_interval
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        with store.changed:
            changes = store.changes_after(last)
            if changes == []:
                wait = min(remaining, idle)
                if bookmarks:
                    wait = max(0.0, min(wait, next_bookmark - time.monotonic()))
                store.changed.wait(wait)
                changes = store.changes_after(last)
            floor = store.history_floor
        if changes is None:
            yield expired_event(last, floor)
            return
        sent = False
        for change in changes:
            last = change.rv
            if relevant(change):
                event = _event(change, wanted)
                if event is not None:
                    sent = True
                    yield event
        if bookmarks and time.monotonic() >= next_bookmark:
            next_bookmark = time.monotonic() + bookmark_interval
            yield {
                "type": "BOOKMARK",
                "object": {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(last)},
                },
            }
        elif not sent:
            yield None
