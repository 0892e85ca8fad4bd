"""Test harness: a real Temporal dev server, real worker processes, per-test isolation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from kaptain.config import Config
from kaptain.model.models import Model

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


async def _pollers(address: str, task_queue: str) -> int:
    client = await Client.connect(address)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return len(response.pollers)


class WorkerProcess:
    """``python -m kaptain.worker`` in a subprocess, as a platform engineer would run it."""

    def __init__(
        self,
        address: str,
        task_queue: str,
        home: Path,
        log: Path,
        *,
        platform: str = "local",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.address = address
        self.task_queue = task_queue
        self.home = home
        self.log = log
        self.platform = platform
        self.extra_args = extra_args or []
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "kaptain.worker", "--platform", self.platform,
                    "--address", self.address, "--task-queue", self.task_queue,
                    "--home", str(self.home), *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "KAPTAIN_HOME": str(self.home), **self.env},
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            if asyncio.run(_pollers(self.address, self.task_queue)) > 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker never polled:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Background:
    """A blocking SDK call in a thread: the notebook of a crash or attach test.

    Args:
        call: What the notebook runs.
    """

    def __init__(self, call: Callable[[], object]) -> None:
        self._outcome: dict[str, object] = {}
        self._thread = threading.Thread(target=lambda: self._outcome.setdefault("value", call()))
        self._thread.start()

    def result(self, timeout: float) -> object:
        """Wait up to ``timeout`` seconds; the call's return value (None if unfinished)."""
        self._thread.join(timeout)
        return self._outcome.get("value")


def wait_for(predicate: object, timeout: float = 60.0, interval: float = 0.1) -> None:
    """Wait until ``predicate()`` is truthy (tests only; never in product code)."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


TRAINERS = FIXTURES / "trainers"


def make_model(model_id: str = "dev/tiny", **overrides: object) -> Model:
    fields: dict[str, object] = {
        "id": model_id,
        "name": "Tiny",
        "description": "test trainer",
        "version": "0.0.1",
        "framework": "pytorch",
        "framework_version": "2.13.0",
        "main_file": "tiny_trainer.py",
        "extra_files": ["tiny_helper.py"],
        "requirements": "requirements.txt",
        "base_image": "python:3.11",
        "image_name": "registry.local/kaptain/tiny",
        "config": Config.default(base_dir=str(TRAINERS)),
    }
    fields.update(overrides)
    return Model(**fields)  # type: ignore[arg-type]


def records(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def job_dirs(home: Path) -> list[Path]:
    return [p for p in (home / "jobs").glob("*/*") if p.is_dir()]


def decoded(node: object) -> str:
    """Every string in a history, with payload data (base64 in proto JSON) decoded."""
    if isinstance(node, dict):
        parts = [decoded(value) for value in node.values()]
        if isinstance(node.get("data"), str) and "metadata" in node:
            parts.append(base64.b64decode(node["data"]).decode(errors="replace"))
        return "\n".join(parts)
    if isinstance(node, list):
        return "\n".join(decoded(item) for item in node)
    return str(node)


def all_histories(address: str) -> str:
    """Every workflow history on the server, payloads decoded, as one text to search."""

    async def collect() -> str:
        client = await Client.connect(address)
        texts = []
        async for execution in client.list_workflows():
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            texts.append(decoded(json.loads((await handle.fetch_history()).to_json())))
        return "\n".join(texts)

    return asyncio.run(collect())


def stop_serving(home: Path) -> None:
    """SIGKILL the process groups of every model server and router under ``home``."""
    serving = home / "serving"
    pids = [p.read_text().strip() for p in serving.glob("deployments/*/*/*/*.pid")]
    router = serving / "router.json"
    if router.exists():
        pids.append(str(json.loads(router.read_text()).get("pid", "")))
    for pid in pids:
        try:
            os.killpg(int(pid), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            continue
