"""A real worker serves Temporal's SDK metrics for Prometheus."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from harness import WorkerProcess
from kaptain.stack.temporal_server import free_port


def scrape(url: str, wanted: str, timeout: float = 30.0) -> str:
    """The endpoint's text once it holds ``wanted`` (the SDK reports on its own schedule)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = bytes(response.read()).decode()
        if wanted in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"{wanted!r} never appeared at {url}:\n{text[:2000]}")


def test_worker_serves_temporal_metrics_for_prometheus(
    temporal_address: str, task_queue: str, kaptain_home: Path, tmp_path: Path
) -> None:
    port = free_port()
    worker = WorkerProcess(
        temporal_address,
        task_queue,
        kaptain_home,
        tmp_path / "worker.log",
        env={"KAPTAIN_METRICS_PORT": str(port)},
    )
    worker.start()
    try:
        text = scrape(f"http://127.0.0.1:{port}/metrics", "temporal_worker_task_slots_available")
    finally:
        worker.stop()
    samples = [line for line in text.splitlines() if line.startswith("temporal_")]
    # the worker's own slots and pollers, labelled with its task queue
    assert any(f'task_queue="{task_queue}"' in line for line in samples), samples[:20]
    assert any(line.startswith("temporal_request") for line in samples), samples[:20]
    assert f"http://0.0.0.0:{port}/metrics" in worker.log.read_text()
