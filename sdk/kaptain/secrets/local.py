"""Secrets for the local platform: one 0600 JSON file per secret in a 0700 directory."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class LocalSecretStore:
    """Stores secret bodies (``{ENV_NAME: value}``) as private files.

    Args:
        directory: Where the files live; created with mode 0700.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"invalid secret name {name!r}")
        return self._directory / f"{name}.json"

    def put(self, name: str, body: dict[str, str]) -> str:
        """Write (or replace) a secret atomically and return its name."""
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self._directory, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self._directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(body, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path(name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def get(self, name: str, namespace: str = "") -> dict[str, str]:
        """Read a secret's body (local secrets have no namespace; it is ignored).

        Raises:
            KeyError: No secret of that name (the message names it, never a value).
        """
        try:
            data = json.loads(self._path(name).read_text())
        except FileNotFoundError:
            raise KeyError(f"secret {name!r} not found in {self._directory}") from None
        return {str(k): str(v) for k, v in data.items()}

    def delete(self, name: str) -> bool:
        """Delete a secret; False when it did not exist."""
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True
