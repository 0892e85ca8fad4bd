"""The SDK's side of serving: send a change to the model's ServeModel workflow.

``deploy`` starts the workflow if needed and sends its update atomically (update-with-start);
every other change is an update of the running workflow. The update's validator rejects a
bad change before anything is touched; the SDK then removes the credentials it staged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from kaptain import exceptions
from kaptain.client.session import session
from kaptain.contracts import WorkflowName
from kaptain.contracts.names import ServeMessage, serving_workflow_id
from kaptain.contracts.serve import ServeInput, ServingPhase, ServingState
from kaptain.model.output import say
from kaptain.model.runs import application_error, run_link, search_attributes
from kaptain.telemetry import tracer


class RevisionFailedException(exceptions.ModelDeploymentException):
    """A new revision could not become ready (whatever served before keeps serving)."""


_ERRORS: dict[str, type[exceptions.KaptainException]] = {
    "ModelDeploymentException": exceptions.ModelDeploymentException,
    "RevisionFailed": RevisionFailedException,
    "UnsupportedDeployment": exceptions.UnsupportedModelDeploymentException,
}


def _deployment_error(err: WorkflowUpdateFailedError) -> exceptions.KaptainException:
    cause = application_error(err)
    if cause is not None:
        return _ERRORS.get(cause.type or "", exceptions.ModelDeploymentException)(cause.message)
    return exceptions.ModelDeploymentException(f"the change failed: {err.cause or err}")


def _not_deployed(model_id: str) -> exceptions.ModelDeploymentException:
    return exceptions.ModelDeploymentException(f"{model_id} is not deployed")


async def change(
    *,
    namespace: str,
    model_id: str,
    update: str,
    request: Any = None,
    start: ServeInput | None = None,
    discard: Callable[[], None] = lambda: None,
) -> ServingState:
    """Send ``update`` (with ``request``) to the model's ServeModel workflow.

    Args:
        namespace: The model's namespace.
        model_id: The model's id.
        update: One of :class:`~kaptain.contracts.names.ServeMessage`'s update names.
        request: The update's argument (None for argument-less updates).
        start: Start the workflow with this input when it is not running (deploy).
        discard: Removes what the caller staged, when the change is refused or fails.

    Returns:
        The deployment's state after the change.

    Raises:
        ModelDeploymentException: The change was refused or failed (nothing changed).
        UnsupportedModelDeploymentException: The platform cannot serve this model.
    """
    workflow_id = serving_workflow_id(namespace, model_id)
    attributes = {"kaptain.model_id": model_id}
    with tracer().start_as_current_span(f"kaptain.serve.{update}", attributes=attributes):
        client, settings = await session(say)
        args = [] if request is None else [request]
        try:
            if start is not None:
                operation: WithStartWorkflowOperation[Any, ServingState] = (
                    WithStartWorkflowOperation(
                        WorkflowName.SERVE_MODEL,
                        start,
                        id=workflow_id,
                        task_queue=settings.task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        search_attributes=search_attributes(model_id, "serve"),
                        static_summary=f"serve {model_id}",
                        result_type=ServingState,
                    )
                )
                state: ServingState = await client.execute_update_with_start_workflow(
                    update,
                    *args,
                    start_workflow_operation=operation,
                    result_type=ServingState,
                )
                handle = await operation.workflow_handle()
                link = run_link(settings, workflow_id, handle.first_execution_run_id)
                if link:
                    say(f"The deployment's workflow: {link}")
                return state
            handle = client.get_workflow_handle(workflow_id)
            result: ServingState = await handle.execute_update(
                update, *args, result_type=ServingState
            )
            return result
        except WorkflowUpdateFailedError as err:
            discard()
            raise _deployment_error(err) from None
        except RPCError as err:
            discard()
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise _not_deployed(model_id) from None
            raise exceptions.PlatformUnavailableException(str(err)) from None


async def current_state(namespace: str, model_id: str) -> ServingState | None:
    """The deployment's state, or None when the model is not deployed."""
    client, _ = await session(say)
    return await query_state(client, serving_workflow_id(namespace, model_id))


async def query_state(client: Client, workflow_id: str) -> ServingState | None:
    """Ask a ServeModel workflow for its state (None when it is not running)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        state: ServingState = await handle.query(ServeMessage.STATE, result_type=ServingState)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise exceptions.PlatformUnavailableException(str(err)) from None
    gone = (ServingPhase.EMPTY, ServingPhase.UNDEPLOYED)
    return None if state.phase in gone else state
