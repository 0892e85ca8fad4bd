"""ListResources and DeleteResources: the short workflows behind ``kaptain.utils``.

Listing is one read-only activity. Deleting is durable: the runs still using the objects
are cancelled first (their own cleanup deletes what they created), then each object is
deleted by the platform, which checks Kaptain's labels again, so nothing Kaptain did not
create is ever deleted. Each object is one activity, visible and retried on its own.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
    from kaptain.contracts.common import StorageRef
    from kaptain.contracts.inventory import (
        DeleteOutcome,
        DeleteResourcesInput,
        DeleteResourcesResult,
        Inventory,
        InventoryQuery,
        ResourceKind,
        ResourceRef,
    )
    from kaptain.contracts.names import ActivityName, WorkflowName, model_slug
    from kaptain.contracts.serve import DeploymentRef
    from kaptain.workflows.options import HEARTBEAT, NON_RETRYABLE_TYPES, QUICK_ACTIVITY, RETRY

_UNREGISTERED = "NotFoundError"
"""Type of the error a worker raises for an activity it does not register."""

_SERVE_DELETE_RETRY = RetryPolicy(
    initial_interval=RETRY.initial_interval,
    maximum_interval=RETRY.maximum_interval,
    maximum_attempts=RETRY.maximum_attempts,
    non_retryable_error_types=[*NON_RETRYABLE_TYPES, _UNREGISTERED],
)


def deployment_of(ref: ResourceRef) -> DeploymentRef:
    """The serving activities' reference to the deployment an inference service is."""
    return DeploymentRef(
        namespace=ref.namespace,
        model_id=ref.model_id or ref.name,
        name=ref.name,
        storage=StorageRef(base_uri="", credentials_namespace=ref.namespace),
        labels={
            MANAGED_BY_LABEL: MANAGED_BY_VALUE,
            MODEL_ID_LABEL: model_slug(ref.model_id or ref.name),
        },
    )


@workflow.defn(name=WorkflowName.LIST_RESOURCES)
class ListResourcesWorkflow:
    """Read what the platform holds that Kaptain created (changes nothing)."""

    @workflow.run
    async def run(self, query: InventoryQuery) -> Inventory:
        """List the managed objects of a namespace.

        Args:
            query: The namespace and the kinds.

        Returns:
            The platform's inventory.
        """
        inventory: Inventory = await workflow.execute_activity(
            ActivityName.INVENTORY_LIST,
            query,
            result_type=Inventory,
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )
        return inventory


@workflow.defn(name=WorkflowName.DELETE_RESOURCES)
class DeleteResourcesWorkflow:
    """Cancel the runs using some objects, then delete the objects one by one."""

    @workflow.run
    async def run(self, request: DeleteResourcesInput) -> DeleteResourcesResult:
        """Delete the objects of ``request``.

        Args:
            request: Runs to cancel and objects to delete.

        Returns:
            One outcome per object.

        Raises:
            ApplicationError: ``ModelValidationException`` when an object is not Kaptain's
                (the platform refuses; the objects before it are deleted, none after).
        """
        cancelled: list[str] = []
        for run in request.cancel:
            handle = workflow.get_external_workflow_handle(run.workflow_id, run_id=run.run_id)
            try:
                await handle.cancel()
                cancelled.append(run.workflow_id)
            except FailureError as err:  # it ended meanwhile: nothing to cancel
                workflow.logger.info("Not cancelling %s: %s", run.workflow_id, err)
        outcomes: list[DeleteOutcome] = []
        for ref in request.resources:
            workflow.set_current_details(f"deleting {ref.kind.value} {ref.name}")
            outcomes.append(await self._delete(ref))
        gone = sum(outcome.deleted for outcome in outcomes)
        workflow.set_current_details(f"deleted {gone} of {len(outcomes)}")
        return DeleteResourcesResult(outcomes=outcomes, cancelled=cancelled)

    async def _delete(self, ref: ResourceRef) -> DeleteOutcome:
        if ref.kind is ResourceKind.INFERENCESERVICE:
            try:
                await workflow.execute_activity(
                    ActivityName.SERVE_DELETE,
                    deployment_of(ref),
                    start_to_close_timeout=QUICK_ACTIVITY,
                    heartbeat_timeout=HEARTBEAT,
                    retry_policy=_SERVE_DELETE_RETRY,
                )
                return DeleteOutcome(ref=ref, deleted=True, message="undeployed")
            except ActivityError as err:
                cause = err.cause
                if not (isinstance(cause, ApplicationError) and cause.type == _UNREGISTERED):
                    raise
                workflow.logger.info("No serving activities on this worker; deleting directly")
        outcome: DeleteOutcome = await workflow.execute_activity(
            ActivityName.INVENTORY_DELETE,
            ref,
            result_type=DeleteOutcome,
            start_to_close_timeout=QUICK_ACTIVITY,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        return outcome
