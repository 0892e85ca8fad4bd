"""Processes of local serving: supervised model-server replicas and the shared router.

Each replica runs under the training replicas' detached launcher
(:mod:`kaptain.activities.local.launcher`): it survives the worker, holds
``<replica>.lock`` while it runs (so a restarted worker adopts it, and it never runs twice)
and leaves ``<replica>.log`` and ``<replica>.exit``. The router is one detached process per
state directory; ``router.json`` records its port, which is reused when it must be
restarted so that deployment URLs stay the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from temporalio import activity

from kaptain.activities.local.files import exclusive_lock, lock_is_held, tail_lines, write_atomic

__all__ = ["ReplicaProcesses", "RouterProcess", "free_port"]

_LOOPBACK = "127.0.0.1"
_START_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.1


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when it can be bound on loopback, else a free port."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind((_LOOPBACK, candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise OSError("no free port on loopback")


class ReplicaProcesses:
    """The supervised replicas in one directory (one revision's).

    Args:
        directory: Where the replicas' spec, lock, pid, log and exit files live.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def names(self) -> list[str]:
        """Every replica ever launched here."""
        return sorted(path.stem for path in self.directory.glob("replica-*.json"))

    def running(self, name: str) -> bool:
        """Whether the replica's launcher is alive."""
        return lock_is_held(self.directory / f"{name}.lock")

    def exit_reason(self, name: str) -> str | None:
        """Why a replica is gone (None while it runs or before it started)."""
        exit_file = self.directory / f"{name}.exit"
        if exit_file.exists():
            return f"the model server exited with code {exit_file.read_text().strip()}"
        if (self.directory / f"{name}.pid").exists() and not self.running(name):
            if exit_file.exists():  # written just after the first look
                return f"the model server exited with code {exit_file.read_text().strip()}"
            return "the model server's supervisor disappeared"
        return None

    def log_tail(self, name: str, lines: int) -> str:
        """The last lines of the replica's output."""
        return "\n".join(tail_lines(self.directory / f"{name}.log", lines))

    async def ensure(self, name: str, command: list[str]) -> None:
        """Start the replica unless it runs; a replica that exited is started afresh."""
        if self.running(name):
            return
        for suffix in ("exit", "pid"):
            (self.directory / f"{name}.{suffix}").unlink(missing_ok=True)
        spec = {
            "replica": name,
            "command": command,
            "cwd": str(self.directory),
            "env": {"PYTHONUNBUFFERED": "1"},
        }
        spec_file = self.directory / f"{name}.json"
        write_atomic(spec_file, json.dumps(spec))
        _spawn_detached(
            [sys.executable, "-m", "kaptain.activities.local.launcher", str(spec_file)],
            self.directory / f"{name}.launcher.log",
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT_SECONDS
        while not (self.directory / f"{name}.pid").exists():
            if (self.directory / f"{name}.exit").exists():
                return
            if loop.time() > deadline:
                tail = "\n".join(tail_lines(self.directory / f"{name}.launcher.log", 20))
                raise RuntimeError(f"replica {name} did not start:\n{tail}")
            activity.heartbeat(f"starting {name}")
            await asyncio.sleep(_POLL_SECONDS)

    async def stop(self, names: list[str] | None = None) -> None:
        """SIGTERM each live replica's process group; SIGKILL after a grace period."""
        live = [n for n in (self.names() if names is None else names) if self.running(n)]
        for name in live:
            _signal_group(self.directory / f"{name}.pid", signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE_SECONDS
        while any(self.running(n) for n in live):
            activity.heartbeat("stopping replicas")
            if loop.time() > deadline:
                for name in live:
                    _signal_group(self.directory / f"{name}.pid", signal.SIGKILL)
                break
            await asyncio.sleep(_POLL_SECONDS)


class RouterProcess:
    """The one router of a state directory: started on demand, adopted while alive.

    Args:
        directory: The serving state directory (``router.json``, ``router.log``,
            ``routes.json``).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.routes_file = directory / "routes.json"
        self._record = directory / "router.json"

    def recorded_port(self) -> int | None:
        """The port the router was last started on (None if it never was)."""
        try:
            port: int = json.loads(self._record.read_text())["port"]
        except FileNotFoundError:
            return None
        return port

    async def ensure(self) -> int:
        """The port of a live router, starting one (on the recorded port if free)."""
        async with exclusive_lock(self.directory / "router.lock"):
            port = self.recorded_port()
            if port is not None and await self._serves_us(port):
                return port
            port = free_port(port)
            command = [
                sys.executable, "-m", "kaptain.serving.router",
                "--port", str(port), "--routes", str(self.routes_file),
            ]  # fmt: skip
            process = _spawn_detached(command, self.directory / "router.log")
            write_atomic(self._record, json.dumps({"port": port, "pid": process.pid}))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + _START_TIMEOUT_SECONDS
            while not await self._serves_us(port):
                if process.poll() is not None or loop.time() > deadline:
                    tail = "\n".join(tail_lines(self.directory / "router.log", 20))
                    raise RuntimeError(f"the serving router did not start:\n{tail}")
                activity.heartbeat("starting the router")
                await asyncio.sleep(_POLL_SECONDS)
            return port

    async def stop_if_idle(self, idle: Callable[[], bool]) -> bool:
        """Stop the router when ``idle()`` still holds under the router's lock.

        The recorded port stays, so the next deployment gets the same URL back.

        Returns:
            Whether a router was told to stop.
        """
        async with exclusive_lock(self.directory / "router.lock"):
            if not idle():
                return False
            try:
                pid = int(json.loads(self._record.read_text())["pid"])
            except (FileNotFoundError, KeyError, ValueError):
                return False
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
                return True
            return False

    async def _serves_us(self, port: int) -> bool:
        health = await get_json(f"http://{_LOOPBACK}:{port}/-/healthz")
        return health is not None and health.get("routes") == str(self.routes_file)


async def get_json(url: str, seconds: float = 5.0) -> Any:
    """GET ``url`` and decode its JSON; None when it cannot be reached or is not 200."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(url) as answer,
        ):
            return await answer.json() if answer.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


def _spawn_detached(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _signal_group(pid_file: Path, signum: int) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        os.killpg(int(pid_file.read_text()), signum)
