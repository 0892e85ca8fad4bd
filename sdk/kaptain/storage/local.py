"""An object store in a local directory, for ``file://`` storage URIs."""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

from kaptain.storage.base import ObjectStore
from kaptain.storage.tracing import traced

__all__ = ["LocalObjectStore"]

_TMP_PREFIX: Final = ".kaptain-tmp-"


@contextmanager
def _atomic_writer(target: Path) -> Iterator[IO[bytes]]:
    """Yields a temporary file next to ``target`` and moves it there on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, then renamed)
        dir=target.parent, prefix=_TMP_PREFIX, delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


class LocalObjectStore(ObjectStore):
    """Objects as files under a root directory; writes are atomic (temp file + rename).

    Keys are relative ``/``-separated paths without ``.`` or ``..`` segments.
    """

    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        """Creates the store (the directory is created on first write).

        Args:
            root_dir: The root directory.
        """
        self._root = Path(root_dir).expanduser().absolute()

    @property
    def root_dir(self) -> Path:
        """The root directory."""
        return self._root

    def _path(self, key: str) -> Path:
        segments = key.split("/")
        if key.startswith("/") or any(segment in ("", ".", "..") for segment in segments):
            raise ValueError(f"Invalid object key {key!r}")
        return self._root.joinpath(*segments)

    @traced("file", "put_bytes")
    def put_bytes(self, key: str, data: bytes) -> None:
        """See :meth:`ObjectStore.put_bytes`."""
        with _atomic_writer(self._path(key)) as handle:
            handle.write(data)

    @traced("file", "get_bytes")
    def get_bytes(self, key: str) -> bytes:
        """See :meth:`ObjectStore.get_bytes`."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(f"No object {key!r} under {self._root}") from None

    @traced("file", "exists")
    def exists(self, key: str) -> bool:
        """See :meth:`ObjectStore.exists`."""
        return self._path(key).is_file()

    def _walk_base(self, prefix: str) -> Path:
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        return self._path(directory) if directory else self._root

    @traced("file", "list")
    def list(self, prefix: str = "") -> builtins.list[str]:
        """See :meth:`ObjectStore.list`."""
        base = self._walk_base(prefix)
        if not base.is_dir():
            return []
        keys: builtins.list[str] = []
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith(_TMP_PREFIX):
                    continue
                key = (Path(directory) / name).relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    @traced("file", "delete_prefix")
    def delete_prefix(self, prefix: str) -> int:
        """See :meth:`ObjectStore.delete_prefix`; empty directories left behind are removed."""
        if not prefix:
            raise ValueError("Refusing to delete an empty prefix (everything)")
        keys = self.list(prefix)
        paths = [self._path(key) for key in keys]
        for path in paths:
            path.unlink(missing_ok=True)
        for parent in sorted({path.parent for path in paths}, key=lambda p: -len(p.parts)):
            current = parent
            while current != self._root and self._root in current.parents:
                try:
                    current.rmdir()
                except OSError:
                    break  # not empty: other objects live there
                current = current.parent
        return len(keys)

    @traced("file", "upload_file", key_arg=1)
    def upload_file(self, local_path: str | os.PathLike[str], key: str) -> None:
        """See :meth:`ObjectStore.upload_file`."""
        target = self._path(key)
        with open(local_path, "rb") as source, _atomic_writer(target) as handle:
            shutil.copyfileobj(source, handle)

    @traced("file", "download_file")
    def download_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """See :meth:`ObjectStore.download_file`."""
        source = self._path(key)
        if not source.is_file():
            raise FileNotFoundError(f"No object {key!r} under {self._root}")
        with open(source, "rb") as reader, _atomic_writer(Path(local_path)) as handle:
            shutil.copyfileobj(reader, handle)

    @traced("file", "copy_prefix")
    def copy_prefix(self, src: str, dst: str) -> int:
        """See :meth:`ObjectStore.copy_prefix`; files are copied without loading them whole."""
        keys = self.list(src)
        for key in keys:
            self.upload_file(self._path(key), dst + key[len(src) :])
        return len(keys)

    def __repr__(self) -> str:
        return f"LocalObjectStore(root_dir={str(self._root)!r})"
