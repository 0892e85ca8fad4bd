"""Timeouts, retry policies and small steps shared by the workflows."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import ActivityName, SecretRefs

NON_RETRYABLE_TYPES: Final = [
    "ImageBuildException",
    "WorkloadDeploymentError",
    "ModelValidationException",
    "InvalidConfigurationException",
    "PermanentPlatformError",
]
"""Application error types that no retry can fix."""

QUICK_ACTIVITY: Final = timedelta(minutes=2)
"""start_to_close for activities that only create, read or delete."""

HEARTBEAT: Final = timedelta(seconds=10)
"""Heartbeat timeout of long activities: how fast a dead worker's activity is retried."""

BUILD_TIMEOUT: Final = timedelta(hours=2)
"""start_to_close of one build attempt."""

RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)
"""Default retry policy: transient platform errors back off, permanent ones fail at once."""

BUILD_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)
"""A build is retried a few times only: it is expensive and usually fails for good."""

CHILD_CONFLICT_BACKOFF: Final = timedelta(seconds=5)
"""Wait before retrying a child build that another run is already executing."""


async def delete_secrets(namespace: str, names: list[str | None]) -> None:
    """Delete the secrets an action staged (its last step, whatever happened before)."""
    present = [name for name in names if name]
    if present:
        await workflow.execute_activity(
            ActivityName.DELETE_SECRETS,
            SecretRefs(namespace=namespace, names=present),
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )
