"""Background processes of the embedded stack: start detached, check liveness, stop.

Pids outlive the processes they named and get reused, so a pid is "ours" only while the
process behind it still runs the exact command line we started (``/proc/<pid>/cmdline`` on
Linux; on systems without ``/proc`` only the pid is checked).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["is_running", "log_tail", "read_cmdline", "spawn", "stop"]

logger = logging.getLogger(__name__)

_PROC = Path("/proc")

# Handles of the processes this interpreter started: keeps them from being reported as
# "still running" when a Popen is garbage collected, and lets us reap them once they exit.
_SPAWNED: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    command: Sequence[str],
    *,
    log_file: Path,
    detached: bool,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a background process whose stdout and stderr are appended to a log file.

    Args:
        command: Program and arguments.
        log_file: File that receives the output (created with its folder).
        detached: Start a new session (and process group) so that the process survives the
            end of this one, e.g. a notebook kernel restart, and can be stopped as a group.
        env: Environment of the process; by default this process's environment.
        cwd: Working directory of the process.

    Returns:
        The process handle.

    Raises:
        OSError: The program cannot be started.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=detached,
        )
    _SPAWNED[process.pid] = process
    logger.debug("started pid %d: %s", process.pid, " ".join(command))
    return process


def read_cmdline(pid: int) -> list[str] | None:
    """Return a process's command line from ``/proc``.

    Args:
        pid: The process id.

    Returns:
        The arguments (empty for a zombie or a process that is gone), or None where
        ``/proc`` is not available on this system.
    """
    if not (_PROC / "self" / "cmdline").exists():
        return None
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]]


def _reap(pid: int) -> None:
    """Collect the exit status of our own child, so that it does not linger as a zombie."""
    process = _SPAWNED.get(pid)
    if process is not None:
        if process.poll() is not None:
            del _SPAWNED[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_running(pid: int | None, command: Sequence[str] | None = None) -> bool:
    """Tell whether a process is alive and (where checkable) still runs ``command``.

    Args:
        pid: The process id; None or non-positive is never running.
        command: The exact command line the process was started with; None skips the check.

    Returns:
        True when the pid exists, is not a zombie and its command line matches.
    """
    if pid is None or pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: the command line decides
    cmdline = read_cmdline(pid)
    if cmdline is None:
        return True
    if not cmdline:
        return False
    return command is None or cmdline == list(command)


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait until a process exits, without polling where the OS offers a pid fd.

    Returns:
        True when the process is gone (or a zombie that was reaped) within ``timeout``.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        _reap(pid)
        return True
    except (AttributeError, OSError):
        deadline = time.monotonic() + timeout
        while is_running(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True
    try:
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
    finally:
        os.close(fd)
    if ready:
        _reap(pid)
    return bool(ready) or not is_running(pid)


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def stop(pid: int, command: Sequence[str] | None = None, *, timeout: float = 10.0) -> bool:
    """Stop a process (and its process group where it leads one): SIGTERM, then SIGKILL.

    Args:
        pid: The process id.
        command: Its expected command line; a pid that now runs something else is left alone.
        timeout: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        True when a matching process was running and has been stopped.
    """
    if not is_running(pid, command):
        return False
    try:
        group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return False
    logger.debug("stopping pid %d (group: %s)", pid, group)
    _signal(pid, signal.SIGTERM, group)
    if not _wait_exit(pid, timeout):
        logger.warning("pid %d did not exit %.0fs after SIGTERM; sending SIGKILL", pid, timeout)
        _signal(pid, signal.SIGKILL, group)
        _wait_exit(pid, 5.0)
    if group:
        # Members of the group that ignored SIGTERM (e.g. a job's processes) go too.
        _signal(pid, signal.SIGKILL, group)
    return True


def log_tail(log_file: Path, lines: int = 20) -> str:
    """Return the last lines of a log file, or an empty string when it cannot be read.

    Args:
        log_file: The file.
        lines: How many lines at most.

    Returns:
        The text of those lines.
    """
    try:
        with open(log_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
