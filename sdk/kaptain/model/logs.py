"""Follow replica logs while a run is in progress (verbose mode)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse


class LogFollower:
    """Prints the new lines of each replica's log, prefixed with the replica's name.

    Locations other than ``file://`` are skipped (their platform streams them itself).

    Args:
        emit: Where lines go.
    """

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, str] = {}

    def poll(self, locations: list[str]) -> int:
        """Emit whatever was appended since the last poll; returns the lines emitted."""
        emitted = 0
        for location in locations:
            parsed = urlparse(location)
            if parsed.scheme != "file":
                continue
            path = Path(parsed.path)
            emitted += self._read(path)
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
