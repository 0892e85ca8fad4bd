"""Container runtimes: how the kubelet turns a (pod, container) into something that runs.

A runtime is any callable ``(RunContext) -> Command | InProcess``:

* :class:`Command` — a local process (argv, environment, working directory); its stdout and
  stderr become the container log, its exit code the container's.
* :class:`InProcess` — a Python function run in a thread with a log writer; it returns the
  exit code and should stop when ``ctx.cancelled`` is set.

``KubeEmulator.runtimes`` maps image regexes to runtimes (first match wins); images that
match none use ``KubeEmulator.default_runtime`` (the python trainer runtime).

Example:
    >>> emu.runtimes[r"^busybox"] = lambda ctx: Command(["sh", "-c", ctx.container["args"][0]])
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kubeemu.util import JSON


@dataclass
class Command:
    """Run a local process. ``env`` is the whole container environment (the kubelet adds
    ``PATH``/``HOME``-like host basics underneath); ``cwd`` defaults to the pod directory."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None


@dataclass
class InProcess:
    """Run ``run(log)`` in a thread; ``log`` appends a line to the container log."""

    run: Callable[[Callable[[str], None]], int]


Launch = Command | InProcess


@dataclass
class ImageRecord:
    """An image the emulated builds pushed: where its files are and how it starts."""

    reference: str
    digest: str
    context_dir: Path
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def normalize_reference(image: str) -> str:
    """``host/repo`` → ``host/repo:latest``; references with a tag or digest stay as given."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last or ":" in last:
        return image
    return f"{image}:latest"


class ImageStore:
    """Images by reference (``host:port/repo:tag`` and ``host:port/repo@sha256:...``);
    ``root`` keeps a copy of each build context."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._images: dict[str, ImageRecord] = {}

    def keep(self, context_dir: Path, digest: str) -> Path:
        """Copies a build context to ``root`` (once per digest); returns the copy."""
        target = self.root / digest.replace(":", "-")
        with self._lock:
            if not target.exists():
                shutil.copytree(context_dir, target, symlinks=True)
        return target

    def add(self, record: ImageRecord, *references: str) -> None:
        """Registers an image under its reference, its digest reference and ``references``."""
        repository = record.reference.rsplit("@", 1)[0]
        last = repository.rsplit("/", 1)[-1]
        if ":" in last:
            repository = repository[: repository.rfind(":")]
        with self._lock:
            for ref in (record.reference, f"{repository}@{record.digest}", *references):
                self._images[normalize_reference(ref)] = record

    def get(self, image: str) -> ImageRecord | None:
        """The image of a reference, if a build produced it."""
        with self._lock:
            return self._images.get(normalize_reference(image))


@dataclass
class RunContext:
    """Everything a runtime may need about the container it starts."""

    pod: JSON
    container: JSON
    env: dict[str, str]
    """The container's resolved environment: ``env`` (incl. ``valueFrom``) and ``envFrom``."""
    mounts: dict[str, Path]
    """Container mount path → local directory holding the volume's files."""
    pod_dir: Path
    """A scratch directory of this pod."""
    images: ImageStore
    cancelled: threading.Event

    @property
    def argv(self) -> list[str]:
        """``command + args`` as given in the container spec."""
        return [*(self.container.get("command") or []), *(self.container.get("args") or [])]

    def resolve_path(self, path: str) -> Path:
        """A container path on this machine: inside a mounted volume, else under the pod's
        ``rootfs`` directory."""
        pure = PurePosixPath(path)
        best: tuple[int, Path] | None = None
        for mount, local in self.mounts.items():
            base = PurePosixPath(mount)
            if pure == base or base in pure.parents:
                depth = len(base.parts)
                if best is None or depth > best[0]:
                    best = (depth, local / os.path.relpath(str(pure), str(base)))
        if best is not None:
            return best[1]
        return self.pod_dir / "rootfs" / str(pure).lstrip("/")


Runtime = Callable[[RunContext], Launch]
"""A container runtime (see the module docstring)."""

__all__ = [
    "Command",
    "ImageRecord",
    "ImageStore",
    "InProcess",
    "Launch",
    "RunContext",
    "Runtime",
    "normalize_reference",
]
