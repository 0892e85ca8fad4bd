"""Worker settings: command-line flags over ``KAPTAIN_*`` variables over defaults."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from kaptain.contracts.names import TASK_QUEUE
from kaptain.stack.paths import StatePaths, home_dir


class Platform(StrEnum):
    """Where activities act."""

    LOCAL = "local"
    KUBERNETES = "kubernetes"


class WorkerSettings(BaseModel):
    """Everything a worker needs to start.

    Attributes:
        platform: Which platform the activities act on.
        address: Temporal frontend ``host:port``.
        namespace: Temporal namespace.
        task_queue: Task queue to serve.
        home: State directory of the local platform (envs, jobs, secrets).
        max_concurrent_activities: Activity slots of this worker.
        kubeconfig: Kubeconfig of the Kubernetes platform (None: in-cluster or
            ``KUBECONFIG``).
        stuck_grace_seconds: How long a pod may stay unschedulable or unable to pull its
            image before its job fails (Kubernetes platform).
    """

    platform: Platform = Platform.LOCAL
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    home: Path = Field(default_factory=home_dir)
    max_concurrent_activities: int = Field(default=32, ge=1)
    kubeconfig: str | None = None
    stuck_grace_seconds: float = Field(default=60.0, gt=0)

    @property
    def paths(self) -> StatePaths:
        """The local platform's folders (envs, jobs, secrets) under ``home``."""
        return StatePaths(self.home)
