"""The embedded Kaptain stack: a Temporal dev server and a local worker on this machine.

``up()`` starts both as detached processes (they outlive the notebook or shell that started
them), records them in ``$KAPTAIN_HOME/stack.json`` and is idempotent; ``down()`` stops them
and keeps the SQLite store so the workflow history survives; ``status()`` reports liveness;
``ensure_running()`` is what the SDK calls when no Temporal address is configured.

Two notebooks calling ``up()`` at once share one stack: ``up`` and ``down`` hold a file lock
on ``stack.lock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from kaptain.contracts.names import TASK_QUEUE
from kaptain.exceptions import PlatformUnavailableException
from kaptain.stack import process
from kaptain.stack._sync import run_sync
from kaptain.stack.paths import HOME_ENV, StatePaths, state_paths
from kaptain.stack.temporal_server import (
    LOOPBACK,
    ensure_search_attributes,
    free_port,
    port_is_free,
    start_dev_server,
    wait_until_serving,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_UI_PORT",
    "WORKER_COMMAND_ENV",
    "StackInfo",
    "default_worker_program",
    "down",
    "ensure_running",
    "status",
    "up",
]

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7233
"""Temporal front-end port used when it is free."""

DEFAULT_UI_PORT = 8233
"""Temporal Web UI port used when it is free."""

WORKER_COMMAND_ENV = "KAPTAIN_WORKER_COMMAND"
"""Replaces the worker program (``python -m kaptain.worker``); a hook for tests."""

NAMESPACE = "default"

_LIVENESS_FIELDS = {"server_alive", "worker_alive"}
_PROBE_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class StackInfo(BaseModel):
    """A running (or recorded) embedded stack, as kept in ``stack.json``."""

    model_config = ConfigDict(frozen=True)

    temporal_address: str = Field(description="host:port of the Temporal front end.")
    ui_url: str | None = Field(description="URL of the Temporal Web UI; None when headless.")
    namespace: str = Field(default=NAMESPACE, description="Temporal namespace.")
    task_queue: str = Field(default=TASK_QUEUE, description="Task queue the worker serves.")
    server_pid: int = Field(description="Pid of the Temporal dev server.")
    worker_pid: int = Field(description="Pid of the local worker.")
    home: str = Field(description="The Kaptain state directory of this stack.")
    server_command: list[str] = Field(description="Command line of the server process.")
    worker_command: list[str] = Field(description="Command line of the worker process.")
    started_at: datetime = Field(description="When the server was started (UTC).")
    server_alive: bool = Field(default=False, description="Server process is running.")
    worker_alive: bool = Field(default=False, description="Worker process is running.")

    @property
    def healthy(self) -> bool:
        """Both processes are running."""
        return self.server_alive and self.worker_alive


def default_worker_program() -> list[str]:
    """Return the worker program, before its arguments.

    Returns:
        ``$KAPTAIN_WORKER_COMMAND`` split like a shell would, else
        ``[sys.executable, "-m", "kaptain.worker"]``.
    """
    override = os.environ.get(WORKER_COMMAND_ENV, "").strip()
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "kaptain.worker"]


def up(
    *,
    port: int | None = None,
    ui_port: int | None = None,
    ui: bool = True,
    worker_program: Sequence[str] | None = None,
    timeout: float = 60.0,
    worker_ready_timeout: float = 30.0,
) -> StackInfo:
    """Start the embedded stack, or return the one already running.

    A recorded stack whose server answers is reused; if only its worker died, the worker is
    restarted. Otherwise leftovers are stopped and a new stack starts: the server first
    (ports 7233/8233 when free, else free ports), then the worker. The port arguments only
    apply to a new stack.

    Args:
        port: Temporal front-end port; by default 7233 when free, else a free one.
        ui_port: Web UI port; by default 8233 when free, else a free one.
        ui: Run the Web UI.
        worker_program: Worker program before its arguments; by default
            :func:`default_worker_program`. It gets ``--platform local --address ADDR
            --namespace default --task-queue kaptain``.
        timeout: Seconds to wait for the server to serve.
        worker_ready_timeout: Seconds to wait for the worker to poll its task queue; a worker
            that exits meanwhile is an error, one still starting is only logged.

    Returns:
        The stack, with liveness filled in.

    Raises:
        PlatformUnavailableException: The server or the worker could not be started.
    """
    paths = state_paths().ensure()
    program = list(worker_program) if worker_program is not None else default_worker_program()
    with _locked(paths):
        return run_sync(
            lambda: _up(
                paths,
                port=port,
                ui_port=ui_port,
                ui=ui,
                program=program,
                server_timeout=timeout,
                worker_ready_timeout=worker_ready_timeout,
            )
        )


def down(*, timeout: float = _STOP_TIMEOUT) -> bool:
    """Stop the embedded stack; its SQLite store stays, so the history survives.

    Each process group gets SIGTERM, then SIGKILL after ``timeout`` seconds.

    Args:
        timeout: Seconds to wait for each process to exit after SIGTERM.

    Returns:
        True when a recorded stack was found (and stopped), False when there was none.
    """
    paths = state_paths()
    if not paths.root.is_dir():
        return False
    with _locked(paths):
        info = _load(paths)
        if info is None:
            return False
        process.stop(info.worker_pid, info.worker_command, timeout=timeout)
        process.stop(info.server_pid, info.server_command, timeout=timeout)
        paths.stack_file.unlink(missing_ok=True)
        logger.info("embedded Kaptain stack in %s stopped", paths.root)
        return True


def status() -> StackInfo | None:
    """Return the recorded stack with the liveness of each process, or None if there is none.

    Returns:
        The stack, or None when ``stack.json`` is missing or unreadable.
    """
    info = _load(state_paths())
    return None if info is None else _with_liveness(info)


def ensure_running(announce: Callable[[str], None] | None = None) -> StackInfo:
    """Return the running stack, starting it (or its worker) first if needed.

    The SDK calls this when no Temporal address is configured.

    Args:
        announce: Told, in one line, that the stack is being started and then where it runs;
            e.g. ``print`` in a notebook.

    Returns:
        The running stack.

    Raises:
        PlatformUnavailableException: The stack could not be started.
    """
    info = status()
    if info is not None and info.healthy:
        return info
    home = state_paths().root
    if announce is not None:
        if info is not None and info.server_alive:
            announce(f"Restarting the local Kaptain worker of the embedded stack in {home} ...")
        else:
            announce(
                "Starting the embedded Kaptain stack (Temporal dev server + local worker) "
                f"in {home} ..."
            )
    info = up()
    if announce is not None:
        ui = f", Web UI {info.ui_url}" if info.ui_url else ""
        announce(f"Kaptain stack ready: Temporal {info.temporal_address}{ui}")
    return info


# --- internals ---------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(paths: StatePaths) -> Iterator[None]:
    """Hold an exclusive lock on ``stack.lock`` (blocks while another process holds it)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _load(paths: StatePaths) -> StackInfo | None:
    try:
        text = paths.stack_file.read_text()
    except FileNotFoundError:
        return None
    try:
        return StackInfo.model_validate_json(text)
    except ValidationError as exc:
        logger.warning("ignoring unreadable %s: %s", paths.stack_file, exc)
        return None


def _save(paths: StatePaths, info: StackInfo) -> None:
    """Write ``stack.json`` atomically (readers never see half a file)."""
    tmp = paths.stack_file.with_name(f".{paths.stack_file.name}.{os.getpid()}.tmp")
    tmp.write_text(info.model_dump_json(indent=2, exclude=_LIVENESS_FIELDS) + "\n")
    os.replace(tmp, paths.stack_file)


def _with_liveness(info: StackInfo) -> StackInfo:
    return info.model_copy(
        update={
            "server_alive": process.is_running(info.server_pid, info.server_command),
            "worker_alive": process.is_running(info.worker_pid, info.worker_command),
        }
    )


def _choose_ports(port: int | None, ui_port: int | None, ui: bool) -> tuple[int, int | None]:
    if port is None:
        port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    if not ui:
        return port, None
    if ui_port is None:
        ui_port = DEFAULT_UI_PORT
        while ui_port == port or not port_is_free(ui_port):
            ui_port = free_port()
    return port, ui_port


async def _up(
    paths: StatePaths,
    *,
    port: int | None,
    ui_port: int | None,
    ui: bool,
    program: list[str],
    server_timeout: float,
    worker_ready_timeout: float,
) -> StackInfo:
    recorded = _load(paths)
    if recorded is not None:
        reused = await _reuse(paths, recorded, program, worker_ready_timeout)
        if reused is not None:
            return reused
        logger.info("recorded stack in %s is not serving; starting a new one", paths.root)
        process.stop(recorded.worker_pid, recorded.worker_command, timeout=_STOP_TIMEOUT)
        process.stop(recorded.server_pid, recorded.server_command, timeout=_STOP_TIMEOUT)
        paths.stack_file.unlink(missing_ok=True)

    port, ui_port = _choose_ports(port, ui_port, ui)
    address = f"{LOOPBACK}:{port}"
    server = start_dev_server(
        port=port,
        ui_port=ui_port,
        db_file=paths.temporal_db,
        log_file=paths.temporal_log,
        detached=True,
    )
    args = server.args
    server_command = [os.fsdecode(a) for a in args] if isinstance(args, list) else [str(args)]
    try:
        client = await wait_until_serving(
            address,
            server_timeout,
            namespace=NAMESPACE,
            process=server,
            log_file=paths.temporal_log,
        )
        await ensure_search_attributes(client, namespace=NAMESPACE)
        logger.info("Temporal dev server serving at %s (pid %d)", address, server.pid)
        info = StackInfo(
            temporal_address=address,
            ui_url=None if ui_port is None else f"http://{LOOPBACK}:{ui_port}",
            server_pid=server.pid,
            worker_pid=0,
            home=str(paths.root),
            server_command=server_command,
            worker_command=[],
            started_at=datetime.now(UTC),
        )
        info = await _start_worker(paths, info, client, program, worker_ready_timeout)
    except BaseException:
        process.stop(server.pid, server_command, timeout=_STOP_TIMEOUT)
        raise
    _save(paths, info)
    return _with_liveness(info)


async def _reuse(
    paths: StatePaths, info: StackInfo, program: list[str], worker_ready_timeout: float
) -> StackInfo | None:
    """Return the recorded stack if its server answers, restarting a dead worker."""
    if not process.is_running(info.server_pid, info.server_command):
        return None
    try:
        client = await wait_until_serving(
            info.temporal_address, _PROBE_TIMEOUT, namespace=info.namespace
        )
    except PlatformUnavailableException as exc:
        logger.warning("recorded Temporal dev server does not answer: %s", exc)
        return None
    await ensure_search_attributes(client, namespace=info.namespace)
    if process.is_running(info.worker_pid, info.worker_command):
        return _with_liveness(info)
    logger.info("local worker (pid %d) is gone; restarting it", info.worker_pid)
    info = await _start_worker(paths, info, client, program, worker_ready_timeout)
    _save(paths, info)
    return _with_liveness(info)


async def _start_worker(
    paths: StatePaths,
    info: StackInfo,
    client: Client,
    program: list[str],
    ready_timeout: float,
) -> StackInfo:
    command = [
        *program,
        "--platform",
        "local",
        "--address",
        info.temporal_address,
        "--namespace",
        info.namespace,
        "--task-queue",
        info.task_queue,
    ]
    env = {**os.environ, HOME_ENV: str(paths.root), "PYTHONUNBUFFERED": "1"}
    try:
        worker = process.spawn(
            command, log_file=paths.worker_log, detached=True, env=env, cwd=paths.root
        )
    except OSError as exc:
        raise PlatformUnavailableException(
            f"Cannot start the local Kaptain worker ({shlex.join(command)}): {exc}"
        ) from exc
    try:
        await _wait_worker_ready(client, info, worker, ready_timeout, paths.worker_log)
    except BaseException:
        process.stop(worker.pid, command, timeout=_STOP_TIMEOUT)
        raise
    return info.model_copy(update={"worker_pid": worker.pid, "worker_command": command})


async def _wait_worker_ready(
    client: Client,
    info: StackInfo,
    worker: subprocess.Popen[bytes],
    ready_timeout: float,
    log_file: Path,
) -> None:
    """Wait until the worker polls its task queue; fail if it exits first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    while True:
        if worker.poll() is not None:
            tail = process.log_tail(log_file)
            raise PlatformUnavailableException(
                f"The local Kaptain worker exited with code {worker.returncode}"
                + (f"\n--- last lines of {log_file} ---\n{tail}" if tail else "")
            )
        if await _is_polling(client, info, worker.pid):
            logger.info("local worker (pid %d) polls task queue %s", worker.pid, info.task_queue)
            return
        if loop.time() >= deadline:
            logger.warning(
                "local worker (pid %d) runs but did not poll task queue %s within %.0fs; see %s",
                worker.pid,
                info.task_queue,
                ready_timeout,
                log_file,
            )
            return
        await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))


async def _is_polling(client: Client, info: StackInfo, pid: int) -> bool:
    """Tell whether a poller whose identity is the default ``<pid>@<host>`` is listed."""
    for queue_type in (
        TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    ):
        try:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=info.namespace,
                    task_queue=TaskQueue(name=info.task_queue),
                    task_queue_type=queue_type,
                )
            )
        except RPCError as exc:
            logger.debug("describe_task_queue failed: %s", exc)
            return False
        if any(poller.identity.startswith(f"{pid}@") for poller in described.pollers):
            return True
    return False
