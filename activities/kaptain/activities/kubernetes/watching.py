"""Wait on one object with watches: resourceVersion kept, 410 relisted, never tight polling.

Each round watches for at most ``round_seconds`` in a thread; between rounds the caller's
``between`` coroutine heartbeats (with the resourceVersion, so a retried activity resumes
where it was), runs side checks, and is where cancellation lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from kaptain.activities.kubernetes.api import KubeApi, Resource
from kaptain.activities.kubernetes.errors import Gone, NotFound

T = TypeVar("T")


async def wait_for(
    api: KubeApi,
    res: Resource,
    namespace: str,
    name: str,
    *,
    done: Callable[[dict[str, Any]], T | None],
    between: Callable[[str, dict[str, Any] | None], Awaitable[None]],
    resource_version: str | None = None,
    round_seconds: int = 4,
) -> T:
    """Wait until ``done(object)`` returns something, and return that.

    Args:
        api: The adapter.
        res: The object's resource.
        namespace: Its namespace.
        name: Its name.
        done: Returns a result when the object reached the state waited for, else None.
        between: Called between watch rounds with the resourceVersion and latest object.
        resource_version: Where a previous attempt stopped (from heartbeat details).
        round_seconds: Longest single watch.

    Raises:
        NotFound: The object does not exist, or was deleted while waiting.
    """
    latest: dict[str, Any] | None = None
    version = resource_version
    while True:
        if not version:
            latest = await api.run(api.get, res, namespace, name)
            assert latest is not None
            version = str(latest["metadata"]["resourceVersion"])
            result = done(latest)
            if result is not None:
                return result
        current: str = version
        try:
            round_result: tuple[T | None, str, dict[str, Any] | None] = await asyncio.to_thread(
                _watch_round, api, res, namespace, name, current, done, round_seconds
            )
        except Gone:
            version = None  # expired: list again
            continue
        outcome, current, seen = round_result
        version = current
        latest = seen or latest
        if outcome is not None:
            return outcome
        await between(current, latest)


def _watch_round(
    api: KubeApi,
    res: Resource,
    namespace: str,
    name: str,
    version: str,
    done: Callable[[dict[str, Any]], T | None],
    round_seconds: int,
) -> tuple[T | None, str, dict[str, Any] | None]:
    latest = None
    events = api.watch(
        res,
        namespace,
        resource_version=version,
        field_selector=f"metadata.name={name}",
        timeout_seconds=round_seconds,
    )
    for event in events:
        obj = event.get("object") or {}
        version = str(obj.get("metadata", {}).get("resourceVersion") or version)
        if event.get("type") == "BOOKMARK":
            continue
        if event.get("type") == "DELETED":
            raise NotFound(404, "watch", res.name, namespace, f"{name} was deleted")
        latest = obj
        result = done(obj)
        if result is not None:
            return result, version, latest
    return None, version, latest
