"""Where the embedded Kaptain stack keeps its state on this machine.

The state directory is ``$KAPTAIN_HOME`` or ``~/.kaptain``, resolved every time it is asked
for (never at import), so a notebook or a test can point it elsewhere at any moment::

    ~/.kaptain/
    ├── temporal.db     SQLite store of the Temporal dev server (survives ``kaptain dev down``)
    ├── stack.json      addresses and pids of the running stack (removed by ``down``)
    ├── stack.lock      file lock taken around ``up`` / ``down``
    ├── logs/           temporal.log, worker.log
    ├── secrets/        0700: credentials referenced by name, never copied into workflows
    ├── envs/           local build environments keyed by image checksum
    ├── jobs/           local training job workspaces
    ├── serving/        local model servers, the router and its routes
    └── storage/        ``file://`` object storage of the local platform
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HOME_ENV", "StatePaths", "home_dir", "state_paths"]

HOME_ENV = "KAPTAIN_HOME"
"""Environment variable that overrides the state directory."""

_DEFAULT_HOME = "~/.kaptain"
_SECRETS_MODE = 0o700


def home_dir() -> Path:
    """Return the state directory: ``$KAPTAIN_HOME`` or ``~/.kaptain``, made absolute.

    Returns:
        The absolute path; it may not exist yet (see :meth:`StatePaths.ensure`).
    """
    raw = os.environ.get(HOME_ENV, "").strip() or _DEFAULT_HOME
    return Path(raw).expanduser().absolute()


@dataclass(frozen=True)
class StatePaths:
    """The files and folders under one Kaptain state directory.

    Attributes:
        root: The state directory itself.
    """

    root: Path

    @property
    def temporal_db(self) -> Path:
        """SQLite file of the Temporal dev server."""
        return self.root / "temporal.db"

    @property
    def logs(self) -> Path:
        """Folder of the stack's log files."""
        return self.root / "logs"

    @property
    def temporal_log(self) -> Path:
        """Log file of the Temporal dev server."""
        return self.logs / "temporal.log"

    @property
    def worker_log(self) -> Path:
        """Log file of the local worker."""
        return self.logs / "worker.log"

    @property
    def stack_file(self) -> Path:
        """JSON record of the running stack."""
        return self.root / "stack.json"

    @property
    def lock_file(self) -> Path:
        """File locked while the stack is brought up or down."""
        return self.root / "stack.lock"

    @property
    def secrets(self) -> Path:
        """Folder of local credentials (mode 0700)."""
        return self.root / "secrets"

    @property
    def envs(self) -> Path:
        """Folder of local build environments."""
        return self.root / "envs"

    @property
    def jobs(self) -> Path:
        """Folder of local job workspaces."""
        return self.root / "jobs"

    @property
    def serving(self) -> Path:
        """Folder of local serving: model server replicas, the router and its routes."""
        return self.root / "serving"

    @property
    def storage(self) -> Path:
        """Root of the local ``file://`` object storage."""
        return self.root / "storage"

    def ensure(self) -> StatePaths:
        """Create the state directory and its sub folders; ``secrets/`` gets mode 0700.

        Returns:
            ``self``, for chaining.
        """
        for folder in (self.root, self.logs, self.envs, self.jobs, self.storage):
            folder.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(mode=_SECRETS_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask and ignored for an existing folder.
        os.chmod(self.secrets, _SECRETS_MODE)
        return self


def state_paths(home: Path | str | None = None) -> StatePaths:
    """Return the paths of a state directory (nothing is created).

    Args:
        home: The state directory; by default :func:`home_dir` at call time.

    Returns:
        The :class:`StatePaths` of that directory.
    """
    root = home_dir() if home is None else Path(home).expanduser().absolute()
    return StatePaths(root)
