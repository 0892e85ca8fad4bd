"""Start (or attach to) a workflow run, follow it, and map its outcome to the SDK's API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from kaptain import exceptions
from kaptain.client.settings import ClientSettings
from kaptain.contracts import SearchAttribute
from kaptain.model.progress import Progress

R = TypeVar("R")

_CANCEL_WAIT_SECONDS = 120.0
_POLL_SECONDS = 1.0

_ERROR_TYPES: dict[str, type[exceptions.KaptainException]] = {
    "ImageBuildException": exceptions.ImageBuildException,
    "WorkloadDeploymentError": exceptions.WorkloadDeploymentError,
    "ModelValidationException": exceptions.ModelValidationException,
    "InvalidConfigurationException": exceptions.InvalidConfigurationException,
    "TrainingFailed": exceptions.TrainingFailedException,
    "TrainingTimeout": exceptions.TrainingFailedException,
}


def application_error(error: BaseException) -> ApplicationError | None:
    """The innermost typed application error in a failure's cause chain."""
    found: ApplicationError | None = None
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError) and current.type:
            found = current
        current = current.__cause__ or getattr(current, "cause", None)
    return found


def to_kaptain_error(error: WorkflowFailureError) -> exceptions.KaptainException:
    """Map a workflow failure to the SDK exception its typed cause names."""
    cause = application_error(error)
    if cause is not None and cause.type in _ERROR_TYPES:
        return _ERROR_TYPES[cause.type](cause.message)
    return exceptions.KaptainException(f"the run failed: {error.cause or error}")


def run_link(settings: ClientSettings, workflow_id: str, run_id: str | None) -> str | None:
    """Web UI address of a run, when the UI address is known."""
    if not settings.ui_url:
        return None
    tail = f"/{run_id}" if run_id else ""
    return (
        f"{settings.ui_url.rstrip('/')}/namespaces/{settings.namespace}"
        f"/workflows/{quote(workflow_id, safe='')}{tail}"
    )


def search_attributes(model_id: str, action: str) -> TypedSearchAttributes:
    """The search attributes a run starts with (revision and state are set by it)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SearchAttributeKey.for_keyword(SearchAttribute.MODEL_ID), model_id),
            SearchAttributePair(SearchAttributeKey.for_keyword(SearchAttribute.ACTION), action),
        ]
    )


class RunDriver:
    """Starts or attaches to runs and follows them to their end.

    Args:
        client: Connected Temporal client.
        settings: Where it is connected (task queue, UI address).
        say: Where messages go.
    """

    def __init__(
        self, client: Client, settings: ClientSettings, say: Callable[[str], None]
    ) -> None:
        self._client = client
        self._settings = settings
        self._say = say

    async def running(
        self, workflow_id: str, result_type: type[R], summary: str
    ) -> WorkflowHandle[Any, R] | None:
        """A handle on the run of ``workflow_id`` in progress, or None."""
        existing = self._client.get_workflow_handle(workflow_id, result_type=result_type)
        try:
            description = await existing.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise exceptions.PlatformUnavailableException(str(err)) from None
        if description.status != WorkflowExecutionStatus.RUNNING:
            return None
        link = run_link(self._settings, workflow_id, description.run_id)
        self._say(
            f"A run of {summary} is already in progress (started "
            f"{description.start_time:%Y-%m-%d %H:%M:%S} UTC); attaching to it"
            + (f"; follow it at {link}" if link else ".")
        )
        return self._client.get_workflow_handle(
            workflow_id, run_id=description.run_id, result_type=result_type
        )

    async def start(
        self,
        workflow: str,
        arg: Any,
        *,
        workflow_id: str,
        result_type: type[R],
        model_id: str,
        action: str,
        summary: str,
    ) -> WorkflowHandle[Any, R]:
        """Start a run (a concurrent start of the same id attaches to it instead)."""
        handle: WorkflowHandle[Any, R] = await self._client.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=self._settings.task_queue,
            result_type=result_type,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=search_attributes(model_id, action),
            static_summary=summary,
        )
        link = run_link(self._settings, workflow_id, handle.result_run_id)
        self._say(f"Submitted {summary}" + (f"; follow it at {link}" if link else ""))
        return handle

    async def follow(self, handle: WorkflowHandle[Any, R], progress: Progress) -> R:
        """Wait for the result, showing the run's ``status`` answers on ``progress``.

        On cancellation (the caller's KeyboardInterrupt) the run is cancelled and its
        cleanup awaited before the cancellation propagates.

        Raises:
            WorkflowFailureError: The run failed (see :func:`to_kaptain_error`).
        """
        result = asyncio.ensure_future(handle.result())
        try:
            while not result.done():
                await self._show(handle, progress)
                await asyncio.wait([result], timeout=_POLL_SECONDS)
            await self._show(handle, progress)
            return await result
        except WorkflowFailureError:
            link = run_link(self._settings, handle.id, handle.result_run_id or handle.run_id)
            if link:
                self._say(f"The run failed; its history and failure: {link}")
            raise
        except asyncio.CancelledError:
            result.cancel()
            await self._cancel(handle)
            raise
        finally:
            progress.close()

    async def _show(self, handle: WorkflowHandle[Any, Any], progress: Progress) -> None:
        if progress.status_type is None:
            return
        try:
            status = await handle.query("status", result_type=progress.status_type)
        except Exception:
            return
        progress.update(status)

    async def _cancel(self, handle: WorkflowHandle[Any, Any]) -> None:
        self._say("Interrupted: cancelling the run and deleting what it created ...")
        try:
            await handle.cancel()
            await asyncio.wait_for(handle.result(), _CANCEL_WAIT_SECONDS)
        except (WorkflowFailureError, RPCError, TimeoutError):
            pass
        self._say("Cancelled.")
