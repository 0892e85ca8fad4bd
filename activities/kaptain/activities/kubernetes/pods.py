"""Pods that cannot start: unschedulable, or their image cannot be pulled.

A job (training or build) whose pod stays that way longer than a grace period fails with the
pod's warning events, instead of waiting forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kaptain.activities.errors import permanent
from kaptain.activities.kubernetes.api import EVENTS, PODS, KubeApi

_STUCK_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"}
)


def pod_problem(pod: dict[str, Any]) -> str | None:
    """Why a pod cannot start (unschedulable, image pull), or None."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return f"unschedulable: {condition.get('message', '')}".strip()
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _STUCK_REASONS:
            return f"{waiting['reason']}: {waiting.get('message', '')}".strip()
    return None


@dataclass
class StuckPods:
    """Fails a workload whose pods stay unable to start for ``grace_seconds``.

    Attributes:
        api: The adapter.
        grace_seconds: How long a pod may stay stuck.
        error_type: The application error type raised (``WorkloadDeploymentError``, ...).
    """

    api: KubeApi
    grace_seconds: float
    error_type: str = "WorkloadDeploymentError"
    _since: dict[str, float] = field(default_factory=dict)

    def check(self, namespace: str, label_selector: str, workload: str) -> None:
        """Raise when one of the selected pods has been stuck too long (blocking).

        Raises:
            ApplicationError: ``error_type``, non-retryable, with the pod's warning events.
        """
        now = time.monotonic()
        for pod in self.api.list(PODS, namespace, label_selector=label_selector).items:
            name = pod["metadata"]["name"]
            problem = pod_problem(pod)
            if problem is None:
                self._since.pop(name, None)
                continue
            if now - self._since.setdefault(name, now) >= self.grace_seconds:
                raise permanent(
                    self.error_type,
                    f"pod {name} of {workload} cannot start ({problem}); "
                    f"{self._events(namespace, name)}",
                )

    def _events(self, namespace: str, pod: str) -> str:
        events = self.api.list(EVENTS, namespace, field_selector=f"involvedObject.name={pod}")
        warnings = [
            f"{e.get('reason')}: {e.get('message')}"
            for e in events.items
            if e.get("type") == "Warning"
        ]
        return "events: " + "; ".join(warnings[-3:]) if warnings else "no warning events"
