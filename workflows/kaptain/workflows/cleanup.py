"""CleanupJob: delete a finished training job after its TTL, with no client connected."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import ActivityName, CleanupInput, WorkflowName
    from kaptain.workflows.options import HEARTBEAT, QUICK_ACTIVITY, RETRY


def cleanup_workflow_id(namespace: str, job_name: str) -> str:
    """Deterministic id of the cleanup of one job."""
    return f"kaptain/cleanup/{namespace}/{job_name}"


@workflow.defn(name=WorkflowName.CLEANUP_JOB)
class CleanupJobWorkflow:
    """A durable timer followed by an idempotent delete."""

    @workflow.run
    async def run(self, cleanup: CleanupInput) -> None:
        """Sleep ``delay_seconds``, then delete the job.

        Args:
            cleanup: The job and the delay.
        """
        if cleanup.delay_seconds > 0:
            await asyncio.sleep(cleanup.delay_seconds)
        await workflow.execute_activity(
            ActivityName.DELETE_JOB,
            cleanup.job,
            start_to_close_timeout=QUICK_ACTIVITY,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
