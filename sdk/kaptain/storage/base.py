"""The object store contract: a flat namespace of ``/``-separated keys holding bytes.

Prefixes are plain string prefixes, as in S3: ``list("models/a")`` also matches
``models/ab/x``, so end a prefix with ``/`` to mean a folder.
"""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from pathlib import Path

__all__ = ["ObjectStore", "key_join"]


def key_join(prefix: str, *parts: str) -> str:
    """Joins key segments with single slashes.

    Args:
        prefix: The leading part (may be empty or end with ``/``).
        *parts: Further segments; empty ones are skipped.

    Returns:
        The key, without leading or duplicate slashes.
    """
    pieces = [piece.strip("/") for piece in (prefix, *parts)]
    return "/".join(piece for piece in pieces if piece)


class ObjectStore(ABC):
    """Bytes stored under keys: a local directory or an S3 bucket."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Stores ``data`` under ``key``, replacing any previous object.

        Args:
            key: The object's key.
            data: The contents.
        """

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Reads an object.

        Args:
            key: The object's key.

        Returns:
            The contents.

        Raises:
            FileNotFoundError: There is no object under ``key``.
        """

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object exists under ``key``.

        Args:
            key: The object's key.

        Returns:
            True when the object exists.
        """

    @abstractmethod
    def list(self, prefix: str = "") -> builtins.list[str]:
        """Lists the keys that start with ``prefix``.

        Args:
            prefix: A string prefix of keys.

        Returns:
            The matching keys, sorted.
        """

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object whose key starts with ``prefix``.

        Args:
            prefix: A non-empty string prefix of keys.

        Returns:
            The number of objects deleted.

        Raises:
            ValueError: ``prefix`` is empty (that would delete everything).
        """

    @abstractmethod
    def upload_file(self, local_path: str | os.PathLike[str], key: str) -> None:
        """Stores a local file under ``key``.

        Args:
            local_path: The file to read.
            key: The object's key.

        Raises:
            FileNotFoundError: ``local_path`` does not exist.
        """

    @abstractmethod
    def download_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """Writes an object to a local file, creating its parent directories.

        Args:
            key: The object's key.
            local_path: The file to write.

        Raises:
            FileNotFoundError: There is no object under ``key``.
        """

    def upload_dir(self, local_dir: str | os.PathLike[str], prefix: str) -> builtins.list[str]:
        """Stores every file under a local directory, keeping relative paths.

        Args:
            local_dir: The directory to read.
            prefix: Key prefix; ``<dir>/a/b.txt`` is stored as ``<prefix>/a/b.txt``.

        Returns:
            The keys written, sorted.

        Raises:
            FileNotFoundError: ``local_dir`` is not a directory.
        """
        root = Path(local_dir)
        if not root.is_dir():
            raise FileNotFoundError(f"Not a directory: {root}")
        keys: builtins.list[str] = []
        for path in sorted(item for item in root.rglob("*") if item.is_file()):
            key = key_join(prefix, path.relative_to(root).as_posix())
            self.upload_file(path, key)
            keys.append(key)
        return keys

    def copy_prefix(self, src: str, dst: str) -> int:
        """Copies every object under ``src`` to the same relative key under ``dst``.

        Args:
            src: Source key prefix.
            dst: Destination key prefix.

        Returns:
            The number of objects copied.
        """
        keys = self.list(src)
        for key in keys:
            self.put_bytes(dst + key[len(src) :], self.get_bytes(key))
        return len(keys)
