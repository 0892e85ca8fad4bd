"""Container logs: what the kubelet's processes print, served by ``pods/{name}/log``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime


class ContainerLog:
    """The lines one container printed; readers can follow until it is closed."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.lines: list[tuple[str, bytes]] = []
        self.closed = False
        self.cond = threading.Condition()

    def write(self, data: bytes) -> None:
        """Appends output (split into lines; a missing final newline is added)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.cond:
            for line in data.splitlines(keepends=True):
                self.lines.append((stamp, line if line.endswith(b"\n") else line + b"\n"))
            self.cond.notify_all()

    def close(self) -> None:
        """The container stopped: followers finish."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def text(self) -> str:
        """Everything logged so far."""
        with self.cond:
            return b"".join(line for _, line in self.lines).decode(errors="replace")

    def start(self, tail_lines: int | None) -> int:
        """The index a read starts at (``tailLines`` counts from the end)."""
        with self.cond:
            if tail_lines is None:
                return 0
            return max(0, len(self.lines) - tail_lines)

    def read(
        self,
        *,
        tail_lines: int | None = None,
        timestamps: bool = False,
        limit_bytes: int | None = None,
    ) -> bytes:
        """A snapshot of the log."""
        with self.cond:
            chosen = self.lines[self.start(tail_lines) :]
        data = b"".join(_render(line, timestamps) for line in chosen)
        return data[:limit_bytes] if limit_bytes is not None else data

    def follow(
        self,
        stop: threading.Event,
        *,
        tail_lines: int | None = None,
        timestamps: bool = False,
        limit_bytes: int | None = None,
    ) -> Iterator[bytes | None]:
        """Lines as they arrive, until the container stops (or ``stop`` is set); ``None``
        while nothing arrives for a while (lets the writer notice a gone client)."""
        index = self.start(tail_lines)
        sent = 0
        while not stop.is_set():
            with self.cond:
                if index >= len(self.lines) and not self.closed:
                    self.cond.wait(0.5)
                batch = self.lines[index:]
                index += len(batch)
                done = self.closed and index >= len(self.lines)
            if not batch and not done:
                yield None
            for line in batch:
                chunk = _render(line, timestamps)
                if limit_bytes is not None:
                    chunk = chunk[: max(0, limit_bytes - sent)]
                if chunk:
                    sent += len(chunk)
                    yield chunk
                if limit_bytes is not None and sent >= limit_bytes:
                    return
            if done:
                return


def _render(line: tuple[str, bytes], timestamps: bool) -> bytes:
    stamp, data = line
    return f"{stamp} ".encode() + data if timestamps else data


class LogBook:
    """All container logs, by namespace, pod and container."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}

    def open(self, namespace: str, pod: str, uid: str, container: str) -> ContainerLog:
        """A fresh log for a container of the pod with this uid (replacing an older pod's)."""
        with self._lock:
            key = (namespace, pod, container)
            existing = self._logs.get(key)
            if existing is not None and existing.uid == uid:
                return existing
            if existing is not None:
                existing.close()
            log = ContainerLog(uid)
            self._logs[key] = log
            return log

    def find(self, namespace: str, pod: str, container: str) -> ContainerLog | None:
        """The log of a container, if it ever started."""
        with self._lock:
            return self._logs.get((namespace, pod, container))

    def drop_pod(self, namespace: str, pod: str, uid: str | None = None) -> None:
        """Closes and forgets the logs of a deleted pod."""
        with self._lock:
            for key in [k for k in self._logs if k[:2] == (namespace, pod)]:
                if uid is None or self._logs[key].uid == uid:
                    self._logs.pop(key).close()

    def close_all(self) -> None:
        """Ends every follower (shutdown)."""
        with self._lock:
            for log in self._logs.values():
                log.close()
