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
        metrics_port: Serve Temporal's SDK metrics for Prometheus on this port (``/metrics``);
            None serves none.
        metrics_host: Interface the metrics endpoint binds to.
    """

    platform: Platform = Platform.LOCAL
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    home: Path = Field(default_factory=home_dir)
    max_concurrent_activities: int = Field(default=32, ge=1)
    kubeconfig: str | None = None
    stuck_grace_seconds: float = Field(default=60.0, gt=0)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - Prometheus scrapes the pod's address

    @property
    def metrics_address(self) -> str | None:
        """``host:port`` of the Prometheus endpoint, or None when metrics are off."""
        if self.metrics_port is None:
            return None
        return f"{self.metrics_host}:{self.metrics_port}"

    @property
    def paths(self) -> StatePaths:
        """The local platform's folders (envs, jobs, secrets) under ``home``."""
        return StatePaths(self.home)
