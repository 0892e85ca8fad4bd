"""kubeemu watches: resourceVersion replay, selectors, bookmarks, and 410 Expired → relist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch

from kubeemu import KubeEmulator

Watch: Any = watch.Watch  # untyped in the client
NS = "watching"


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator(history_limit=20, bookmark_interval=0.2) as emulator:
        yield emulator


@pytest.fixture
def core(emu: KubeEmulator) -> Any:  # the tests pass JSON dicts, which the client accepts
    return client.CoreV1Api(emu.api_client())


def _cm(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"v": "1"}}


def _events(core: Any, count: int, **kwargs: Any) -> list[tuple[str, str]]:
    """The first ``count`` events of a watch (at most 3 s)."""
    watcher = Watch()
    seen: list[tuple[str, str]] = []
    for event in watcher.stream(core.list_namespaced_config_map, NS, timeout_seconds=3, **kwargs):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == count:
            watcher.stop()
    return seen


def test_watch_from_a_resource_version_replays_later_changes(core: Any) -> None:
    core.create_namespaced_config_map(NS, _cm("before"))
    listed = core.list_namespaced_config_map(NS)
    core.create_namespaced_config_map(NS, _cm("added", app="x"))
    core.patch_namespaced_config_map("added", NS, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("before", NS)
    assert _events(core, 3, resource_version=listed.metadata.resource_version) == [
        ("ADDED", "added"),
        ("MODIFIED", "added"),
        ("DELETED", "before"),
    ]
    # Without a resourceVersion: the current state as ADDED events.
    assert _events(core, 2) == [("ADDED", "added"), ("ADDED", "kube-root-ca.crt")]


def test_watch_selectors_turn_label_changes_into_added_and_deleted(core: Any) -> None:
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, _cm("a", app="x"))
    core.create_namespaced_config_map(NS, _cm("b", app="y"))
    core.patch_namespaced_config_map("b", NS, {"metadata": {"labels": {"app": "x"}}})
    core.patch_namespaced_config_map("a", NS, {"metadata": {"labels": {"app": "z"}}})
    assert _events(core, 3, resource_version=start, label_selector="app=x") == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    assert _events(core, 2, resource_version=start, field_selector="metadata.name=b") == [
        ("ADDED", "b"),
        ("MODIFIED", "b"),
    ]


def test_live_watch_and_bookmarks(emu: KubeEmulator, core: Any) -> None:
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    seen: list[str] = []
    watcher = Watch()
    for event in watcher.stream(
        core.list_namespaced_config_map,
        NS,
        resource_version=start,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        seen.append(event["type"])
        if event["type"] == "BOOKMARK" and "ADDED" not in seen:
            core.create_namespaced_config_map(NS, _cm("live"))
        if "ADDED" in seen and seen[-1] == "BOOKMARK":
            watcher.stop()
    assert seen[0] == "BOOKMARK" and "ADDED" in seen
    assert int(str(watcher.resource_version)) >= int(start)
    record = emu.requests.matching(verb="watch")[0]
    assert record.permission == ("", "configmaps", "watch")
    assert record.query["allowWatchBookmarks"] == "true"


def test_expired_resource_version_gets_410_and_a_relist_recovers(core: Any) -> None:
    old = core.list_namespaced_config_map(NS).metadata.resource_version
    for i in range(25):  # more changes than history_limit=20
        core.create_namespaced_config_map(NS, _cm(f"cm-{i}"))
    stream = Watch().stream(
        core.list_namespaced_config_map, NS, resource_version=old, timeout_seconds=1
    )
    with pytest.raises(client.ApiException) as expired:
        list(stream)
    assert expired.value.status == 410
    assert expired.value.reason.startswith("Expired: too old resource version")

    # The raw event, as a reflector sees it.
    response = core.list_namespaced_config_map(
        NS, watch=True, resource_version=old, timeout_seconds=1, _preload_content=False
    )
    lines = [line for line in response.data.decode().splitlines() if line]
    assert len(lines) == 1 and '"type": "ERROR"' in lines[0] and '"code": 410' in lines[0]

    relisted = core.list_namespaced_config_map(NS)
    core.create_namespaced_config_map(NS, _cm("after"))
    assert _events(core, 1, resource_version=relisted.metadata.resource_version) == [
        ("ADDED", "after")
    ]
