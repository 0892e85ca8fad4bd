"""Gather an :class:`~kaptain.utils.overview.Overview` from the worker and Temporal.

The platform's inventory comes through the ``kaptain.ListResources`` workflow, Kaptain's
runs from Temporal's visibility, deployments' state from their ServeModel workflow.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from kaptain.client.settings import ClientSettings
from kaptain.contracts.inventory import Inventory, InventoryQuery, ResourceKind
from kaptain.contracts.names import (
    SearchAttribute,
    ServeMessage,
    WorkflowName,
    inventory_workflow_id,
)
from kaptain.contracts.serve import ServingState
from kaptain.exceptions import PlatformUnavailableException
from kaptain.utils.overview import Overview, RunInfo

logger = logging.getLogger(__name__)

_ACTIVE_TYPES = (
    WorkflowName.TRAIN_MODEL,
    WorkflowName.TUNE_MODEL,
    WorkflowName.TRIAL_RUN,
    WorkflowName.BUILD_IMAGE,
    WorkflowName.SERVE_MODEL,
)
_MODEL_ID = SearchAttributeKey.for_keyword(SearchAttribute.MODEL_ID)
_REVISION = SearchAttributeKey.for_keyword(SearchAttribute.REVISION)
_ACTION = SearchAttributeKey.for_keyword(SearchAttribute.ACTION)
_MAX_RUNS = 2000
_STATUS_WORDS = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.CANCELED: "Canceled",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
}


def nonce() -> str:
    """Six hex characters that make a utility run's workflow id unique."""
    return secrets.token_hex(3)


def utility_attributes(action: str) -> TypedSearchAttributes:
    """Search attributes of a utility run (``KaptainAction`` = ``list`` / ``delete``)."""
    return TypedSearchAttributes([SearchAttributePair(_ACTION, action)])


async def inventory(
    client: Client,
    settings: ClientSettings,
    namespace: str,
    kinds: list[ResourceKind] | None = None,
) -> Inventory:
    """The platform's managed objects, read by the worker (``kaptain.ListResources``)."""
    result: Inventory = await client.execute_workflow(
        WorkflowName.LIST_RESOURCES,
        InventoryQuery(namespace=namespace, kinds=kinds or []),
        id=inventory_workflow_id(namespace, "list", nonce()),
        task_queue=settings.task_queue,
        result_type=Inventory,
        search_attributes=utility_attributes("list"),
        static_summary=f"list what Kaptain created in namespace {namespace}",
    )
    return result


def _run_info(execution: WorkflowExecution) -> RunInfo:
    attributes = execution.typed_search_attributes
    return RunInfo(
        workflow_id=execution.id,
        run_id=execution.run_id,
        workflow_type=execution.workflow_type,
        model_id=attributes.get(_MODEL_ID) or "",
        revision=attributes.get(_REVISION) or "",
        status=_STATUS_WORDS.get(execution.status, "Unknown")
        if execution.status is not None
        else "Unknown",
        started=execution.start_time,
    )


def _in_namespace(run: RunInfo, namespace: str) -> bool:
    if run.workflow_type == WorkflowName.BUILD_IMAGE:
        return True  # builds are shared by namespaces; only matched to jobs by owner
    return run.workflow_id.startswith(f"kaptain/{namespace}/")


async def runs(client: Client, namespace: str, task_queue: str) -> list[RunInfo]:
    """Every running Kaptain run, and every TuneModel run, of ``namespace``.

    Only runs on ``task_queue`` count: another queue is another worker, and so possibly
    another platform, whose resources this one cannot see.
    """
    types = ", ".join(f"'{name}'" for name in _ACTIVE_TYPES)
    queue = f"TaskQueue = '{task_queue}'"
    queries = (
        f"WorkflowType IN ({types}) AND ExecutionStatus = 'Running' AND {queue}",
        f"WorkflowType = '{WorkflowName.TUNE_MODEL}' AND ExecutionStatus != 'Running' AND {queue}",
    )
    found: list[RunInfo] = []
    try:
        for query in queries:
            async for execution in client.list_workflows(query, limit=_MAX_RUNS):
                run = _run_info(execution)
                if _in_namespace(run, namespace):
                    found.append(run)
    except RPCError as err:
        raise PlatformUnavailableException(f"cannot list Kaptain's runs: {err}") from None
    return found


async def serving_states(client: Client, overview: Overview) -> dict[str, dict[str, object]]:
    """The ``state`` query's answer of each running ServeModel workflow, by deployment."""
    from kaptain.contracts.names import model_slug

    states: dict[str, dict[str, object]] = {}
    for run in overview.running_runs():
        if run.workflow_type != WorkflowName.SERVE_MODEL:
            continue
        handle = client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
        try:
            state = await handle.query(ServeMessage.STATE, result_type=ServingState)
        except Exception as err:  # no worker answers, or it ended meanwhile: state unknown
            logger.debug("No state from %s: %s", run.workflow_id, err)
            continue
        name = model_slug(run.model_id or run.workflow_id.split("/", 2)[-1].rsplit("/", 1)[0])
        states[name] = {"ready": state.ready, "phase": state.phase.value, "url": state.url}
    return states


async def overview(client: Client, settings: ClientSettings, namespace: str) -> Overview:
    """Everything Kaptain created in ``namespace``: platform inventory, runs, deployments."""
    result = Overview(namespace=namespace, taken_at=datetime.now(UTC))
    # Inventory first: a secret staged before it is listed belongs to a run that has
    # started by the time the runs are listed (or is younger than the stale grace).
    result.resources = (await inventory(client, settings, namespace)).items
    result.runs = await runs(client, namespace, settings.task_queue)
    result.serving = await serving_states(client, result)
    return result
