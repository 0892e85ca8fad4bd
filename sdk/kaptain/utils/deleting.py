"""Carry out a :class:`~kaptain.utils.plans.DeletePlan` through the worker.

Deployments with a ServeModel run are undeployed by its ``undeploy`` update; everything
else goes to one durable ``kaptain.DeleteResources`` run (readable id and summary in the
Temporal UI) that cancels the runs still using the objects and deletes them one by one.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from kaptain.client.settings import ClientSettings
from kaptain.contracts.inventory import (
    DeleteOutcome,
    DeleteResourcesInput,
    DeleteResourcesResult,
    ResourceKind,
    ResourceRef,
)
from kaptain.contracts.names import ServeMessage, WorkflowName, inventory_workflow_id, model_slug
from kaptain.contracts.serve import ServingState
from kaptain.exceptions import ModelDeploymentException
from kaptain.model.runs import to_kaptain_error
from kaptain.utils.gather import nonce, utility_attributes
from kaptain.utils.plans import DeletePlan, model_name

_MAX_ID_WORDS = 60


def _summary(plan: DeletePlan) -> str:
    lines = [line for line in plan.describe() if "(undeploy)" not in line]
    head = ", ".join(lines[:3]) + (f" and {len(lines) - 3} more" if len(lines) > 3 else "")
    return f"delete {head}" if head else f"{plan.what}: cancel runs"


async def undeploy(client: Client, plan: DeletePlan) -> list[DeleteOutcome]:
    """Send ``undeploy`` to each deployment's ServeModel run.

    Raises:
        ModelDeploymentException: The workflow refused or failed to undeploy.
    """
    outcomes = []
    for run in plan.undeploy:
        handle = client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        try:
            await handle.execute_update(ServeMessage.UNDEPLOY, result_type=ServingState)
        except (WorkflowUpdateFailedError, RPCError) as err:
            cause = getattr(err, "cause", None) or err
            raise ModelDeploymentException(
                f"could not undeploy {model_name(run)}: {getattr(cause, 'message', cause)}"
            ) from None
        ref = ResourceRef(
            kind=ResourceKind.INFERENCESERVICE, name=model_name(run), model_id=run.model_id
        )
        outcomes.append(DeleteOutcome(ref=ref, deleted=True, message="undeployed"))
    return outcomes


async def execute(
    client: Client, settings: ClientSettings, namespace: str, plan: DeletePlan
) -> DeleteResourcesResult:
    """Undeploy, cancel and delete what ``plan`` says; nothing when it is empty.

    Returns:
        One outcome per deployment and object.

    Raises:
        ModelValidationException: The platform refused to delete an object Kaptain did not
            create (it re-checks the labels).
        ModelDeploymentException: A deployment could not be undeployed.
    """
    result = DeleteResourcesResult(outcomes=await undeploy(client, plan))
    if not (plan.resources or plan.cancel):
        return result
    words = model_slug(plan.what)[:_MAX_ID_WORDS].rstrip("-")
    try:
        deleted: DeleteResourcesResult = await client.execute_workflow(
            WorkflowName.DELETE_RESOURCES,
            DeleteResourcesInput(
                namespace=namespace,
                resources=plan.resources,
                cancel=plan.cancel,
                reason=plan.what,
            ),
            id=inventory_workflow_id(namespace, f"delete-{words}", nonce()),
            task_queue=settings.task_queue,
            result_type=DeleteResourcesResult,
            search_attributes=utility_attributes("delete"),
            static_summary=_summary(plan),
        )
    except WorkflowFailureError as err:
        raise to_kaptain_error(err) from None
    result.outcomes += deleted.outcomes
    result.cancelled += deleted.cancelled
    return result
