"""Follow replica logs while a run is in progress (verbose mode).

``file://`` locations (local platform) are tailed by byte offset; ``k8s://ns/pod/container``
locations (Kubernetes platform) are read with the user's own cluster access
(:mod:`kaptain.cluster.logs`) and followed by line count.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class LogFollower:
    """Prints the new lines of each replica's log, prefixed with the replica's name.

    Args:
        emit: Where lines go.
        pod_logs: Reads Kubernetes pod logs (made on first need).
    """

    def __init__(self, emit: Callable[[str], None], pod_logs: Any = None) -> None:
        self._emit = emit
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, str] = {}
        self._lines_seen: dict[str, int] = {}
        self._pod_logs = pod_logs

    def poll(self, locations: list[str]) -> int:
        """Emit whatever was appended since the last poll; returns the lines emitted."""
        emitted = 0
        for location in locations:
            parsed = urlparse(location)
            if parsed.scheme == "file":
                emitted += self._read(Path(parsed.path))
            elif parsed.scheme == "k8s":
                emitted += self._read_pod(parsed.netloc, *parsed.path.strip("/").split("/", 1))
        return emitted

    def _read(self, path: Path) -> int:
        offset = self._offsets.get(path, 0)
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            return 0
        self._offsets[path] = offset + len(chunk)
        text = self._partial.pop(path, "") + chunk.decode(errors="replace")
        lines = text.split("\n")
        if lines[-1]:
            self._partial[path] = lines[-1]
        for line in lines[:-1]:
            self._emit(f"[{path.stem}] {line}")
        return len(lines) - 1

    def _read_pod(self, namespace: str, pod: str, container: str = "") -> int:
        if self._pod_logs is None:
            from kaptain.cluster.logs import PodLogReader

            self._pod_logs = PodLogReader()
        complete = self._pod_logs.read(namespace, pod, container).split("\n")[:-1]
        key = f"{namespace}/{pod}/{container}"
        seen = self._lines_seen.get(key, 0)
        replica = "-".join(pod.rsplit("-", 2)[-2:])  # <job>-master-0 -> master-0
        for line in complete[seen:]:
            self._emit(f"[{replica}] {line}")
        self._lines_seen[key] = len(complete)
        return len(complete) - seen
