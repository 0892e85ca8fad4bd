"""The SDK's side of each action: prepare inputs, start or attach, follow, map the outcome.

The SDK never acts on a platform directly: it uploads the build context and stages
credentials (by reference, see :mod:`kaptain.model.inputs`), then drives a workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from temporalio.client import WorkflowFailureError

from kaptain.client.session import session
from kaptain.contracts import (
    BuildInput,
    BuildResult,
    TrainInput,
    TrainResult,
    TuneInput,
    TuneResult,
)
from kaptain.model.output import say
from kaptain.model.progress import NoProgress, Progress, TrainProgress, TuneProgress
from kaptain.model.runs import RunDriver, application_error, to_kaptain_error
from kaptain.telemetry import tracer

InputT = TypeVar("InputT")
R = TypeVar("R")


def report_build(result: BuildResult) -> None:
    """Kaptain's build messages."""
    if result.skipped:
        say(
            f"Skipping the build: image {result.image} with the same contents "
            f"(checksum {result.checksum[:12]}) is already published."
        )
    else:
        say(f"Image {result.image} built and published.")


@dataclass(frozen=True)
class Request(Generic[InputT]):
    """One action call: the workflow, its id, and how to make (and unmake) its input.

    Attributes:
        workflow: Workflow type name.
        workflow_id: Deterministic id (known before anything is created).
        summary: Readable one-line summary for the Temporal UI.
        model_id: The model's id.
        action: ``build`` or ``train``.
        prepare: Uploads/stages what the run needs and returns its input.
        discard: Removes what ``prepare`` staged, when the run does not start.
    """

    workflow: str
    workflow_id: str
    summary: str
    model_id: str
    action: str
    prepare: Callable[[], InputT]
    discard: Callable[[InputT], None]


async def _drive(request: Request[InputT], *, result_type: type[R], progress: Progress) -> R:
    """Connect; attach to the running run, or prepare the input and start one; follow it.

    ``prepare`` runs only once Temporal answers and no run is in progress, so an unreachable
    Temporal or an attach leaves nothing behind. The whole call is one OpenTelemetry span,
    the parent of the run's spans.
    """
    attributes = {"kaptain.model_id": request.model_id}
    with tracer().start_as_current_span(f"kaptain.{request.action}", attributes=attributes):
        client, settings = await session(say)
        driver = RunDriver(client, settings, say)
        handle = await driver.running(request.workflow_id, result_type, request.summary)
        if handle is None:
            arg = await asyncio.to_thread(request.prepare)
            try:
                handle = await driver.start(
                    request.workflow,
                    arg,
                    workflow_id=request.workflow_id,
                    result_type=result_type,
                    model_id=request.model_id,
                    action=request.action,
                    summary=request.summary,
                )
            except BaseException:
                await asyncio.to_thread(request.discard, arg)
                raise
        return await driver.follow(handle, progress)


async def run_build(request: Request[BuildInput], *, verbose: bool) -> BuildResult:
    """Build (or skip) the model's image through the BuildImage workflow.

    Raises:
        ImageBuildException: The build failed.
    """
    try:
        return await _drive(request, result_type=BuildResult, progress=NoProgress())
    except WorkflowFailureError as err:
        raise to_kaptain_error(err) from None


async def run_train(request: Request[TrainInput], *, verbose: bool) -> TrainResult | None:
    """Train through the model's TrainModel workflow (attaching to a running one).

    Returns:
        The result, or None when the job ran and failed or timed out (already reported).

    Raises:
        ImageBuildException: The image could not be built.
        WorkloadDeploymentError: The job could not be scheduled.
    """
    try:
        return await _drive(
            request, result_type=TrainResult, progress=TrainProgress(say, verbose=verbose)
        )
    except WorkflowFailureError as err:
        cause = application_error(err)
        if cause is not None and cause.type in ("TrainingFailed", "TrainingTimeout"):
            say(f"Training of {request.model_id} failed: {cause.message}")
            return None
        raise to_kaptain_error(err) from None


async def run_tune(request: Request[TuneInput], *, objective: str) -> TuneResult | None:
    """Tune through the model's TuneModel workflow, with a progress bar.

    Returns:
        The result, or None when the experiment failed (already reported).

    Raises:
        ImageBuildException: The image could not be built.
    """
    try:
        return await _drive(request, result_type=TuneResult, progress=TuneProgress(objective))
    except WorkflowFailureError as err:
        cause = application_error(err)
        if cause is not None and cause.type == "TuningFailed":
            say(f"Tuning of {request.model_id} failed: {cause.message}")
            return None
        raise to_kaptain_error(err) from None
