"""kubeemu fault injection: failures by verb/resource/name, Retry-After, delays, drops."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from kubeemu import KubeEmulator

Watch: Any = watch.Watch  # untyped in the client
NS = "faulty"


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def core(emu: KubeEmulator) -> Any:  # the tests pass JSON dicts, which the client accepts
    emu.api.create_namespace(NS)
    return client.CoreV1Api(emu.api_client())


def _secret(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "stringData": {"k": "v"}}


def test_500_once_then_success(emu: KubeEmulator, core: Any) -> None:
    rule = emu.faults.add(verb="create", resource="secrets", status=500)
    with pytest.raises(client.ApiException) as failed:
        core.create_namespaced_secret(NS, _secret("s"))
    assert failed.value.status == 500
    assert json.loads(failed.value.body or "")["reason"] == "InternalError"
    assert emu.get("secrets", NS, "s") is None
    core.create_namespaced_secret(NS, _secret("s"))
    assert rule.hits == 1
    assert [(r.verb, r.code, r.fault) for r in emu.requests.matching(resource="secrets")] == [
        ("create", 500, True),
        ("create", 201, False),
    ]


def test_faults_match_by_name_and_count(emu: KubeEmulator, core: Any) -> None:
    emu.faults.add(verb="get", resource="secrets", name="target", status=409, times=2)
    core.create_namespaced_secret(NS, _secret("target"))
    core.create_namespaced_secret(NS, _secret("other"))
    assert core.read_namespaced_secret("other", NS).metadata.name == "other"
    for _ in range(2):
        with pytest.raises(client.ApiException) as conflict:
            core.read_namespaced_secret("target", NS)
        assert conflict.value.status == 409
    assert core.read_namespaced_secret("target", NS).metadata.name == "target"
    emu.faults.add(verb="list", status=503, times=None)
    emu.faults.clear()
    assert core.list_namespaced_secret(NS).items


def test_429_carries_retry_after(emu: KubeEmulator, core: Any) -> None:
    emu.faults.add(verb="create", resource="pods", status=429, retry_after=3)
    with pytest.raises(client.ApiException) as throttled:
        core.create_namespaced_pod(NS, {"metadata": {"name": "p"}, "spec": {"containers": []}})
    assert throttled.value.status == 429
    assert (throttled.value.headers or {})["Retry-After"] == "3"
    assert json.loads(throttled.value.body or "")["reason"] == "TooManyRequests"

    # urllib3 (under the client) honours Retry-After on idempotent requests by itself.
    emu.faults.add(verb="list", resource="pods", status=429, retry_after=1)
    started = time.monotonic()
    assert core.list_namespaced_pod(NS).items == []
    assert time.monotonic() - started >= 1
    assert [r.code for r in emu.requests.matching(verb="list", resource="pods")] == [429, 200]


def test_delay_then_normal_answer(emu: KubeEmulator, core: Any) -> None:
    emu.faults.add(verb="list", resource="configmaps", status=None, delay=0.3)
    started = time.monotonic()
    assert core.list_namespaced_config_map(NS).items
    assert time.monotonic() - started >= 0.3


def test_dropped_connection(emu: KubeEmulator, core: Any) -> None:
    emu.faults.add(verb="create", resource="secrets", drop_connection=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.create_namespaced_secret(NS, _secret("s"))
    assert emu.get("secrets", NS, "s") is None
    dropped = emu.requests.matching(verb="create", resource="secrets")
    assert [(r.code, r.fault) for r in dropped] == [(0, True)]
    core.create_namespaced_secret(NS, _secret("s"))  # the client reconnects


def test_410_on_a_watch_sends_an_expired_event(emu: KubeEmulator, core: Any) -> None:
    emu.faults.add(verb="watch", resource="configmaps", status=410)
    with pytest.raises(client.ApiException) as expired:
        list(Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=1))
    assert expired.value.status == 410
    watcher = Watch()
    for event in watcher.stream(core.list_namespaced_config_map, NS, timeout_seconds=5):
        assert event["type"] == "ADDED"  # the fault was used up: a normal watch
        watcher.stop()
