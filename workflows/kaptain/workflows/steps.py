"""Steps shared by the training and tuning workflows (called from workflow code only).

Each is a deterministic piece of orchestration over pinned activity names: build the image
(a child workflow), start a job, wait for it against a durable timer, delete it, check the
upload, record, and schedule the TTL cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import (
        ActivityName,
        BuildInput,
        BuildResult,
        CleanupInput,
        JobKind,
        JobOutcome,
        JobRef,
        JobSpec,
        MetricSummary,
        RecordInput,
        SearchAttribute,
        StorageRef,
        TrackingRecord,
        UploadCheck,
        WaitJobInput,
        WorkflowName,
        build_workflow_id,
        model_slug,
    )
    from kaptain.workflows.cleanup import cleanup_workflow_id
    from kaptain.workflows.options import CHILD_CONFLICT_BACKOFF, HEARTBEAT, QUICK_ACTIVITY, RETRY

_BUILD_CONFLICT_RETRIES = 360


def job_kind(framework: str) -> JobKind:
    """TensorFlow trains as a TFJob; everything else as a PyTorchJob."""
    return JobKind.TENSORFLOW if framework == "tensorflow" else JobKind.PYTORCH


def job_name(model_id: str, revision: str, suffix: str = "") -> str:
    """``<model slug>-<revision[:8]>[-suffix]``, always starting with a letter.

    The Training Operator names Services after the job, and Service names must.
    """
    slug = model_slug(model_id)[: 40 - len(suffix)].rstrip("-")
    if not slug[0].isalpha():
        slug = f"job-{slug}"[: 40 - len(suffix)].rstrip("-")
    return f"{slug}-{revision[:8]}" + (f"-{suffix}" if suffix else "")


def as_flags(values: dict[str, str]) -> list[str]:
    """``{"--lr": "0.1"}`` -> ``["--lr=0.1"]``; a key without dashes gets ``--``."""
    flags = []
    for key, value in values.items():
        flag = key if key.startswith("-") else f"--{key}"
        flags.append(f"{flag}={value}")
    return flags


def summarize(metrics: dict[str, list[float]]) -> dict[str, MetricSummary]:
    """Katib-style ``{name: {min, max, latest}}`` from every reported value."""
    return {
        name: MetricSummary(min=min(values), max=max(values), latest=values[-1])
        for name, values in metrics.items()
        if values
    }


def job_ref(spec: JobSpec) -> JobRef:
    """A reference to a job that may not have been started yet (for deletes)."""
    return JobRef(name=spec.name, namespace=spec.namespace, kind=spec.kind, replicas=spec.replicas)


async def build_image(build: BuildInput) -> BuildResult:
    """Run (or wait out) the BuildImage child workflow of these contents."""
    for _ in range(_BUILD_CONFLICT_RETRIES):
        try:
            built: BuildResult = await workflow.execute_child_workflow(
                WorkflowName.BUILD_IMAGE,
                build,
                id=build_workflow_id(build.image, build.checksum),
                result_type=BuildResult,
                static_summary=f"build {build.image}",
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(
                            SearchAttributeKey.for_keyword(SearchAttribute.MODEL_ID),
                            build.model_id,
                        ),
                        SearchAttributePair(
                            SearchAttributeKey.for_keyword(SearchAttribute.ACTION), "build"
                        ),
                    ]
                ),
            )
            return built
        except WorkflowAlreadyStartedError:
            # Another run is building the same contents: wait, then try again; the next
            # attempt finds the image and skips.
            await asyncio.sleep(CHILD_CONFLICT_BACKOFF.total_seconds())
    raise ApplicationError("the image build stayed busy", type="ImageBuildException")


async def start_job(spec: JobSpec) -> JobRef:
    """Start the job (idempotent: a retry adopts it)."""
    job: JobRef = await workflow.execute_activity(
        ActivityName.START_JOB,
        spec,
        result_type=JobRef,
        start_to_close_timeout=QUICK_ACTIVITY,
        heartbeat_timeout=HEARTBEAT,  # a worker dying mid-start retries in seconds
        retry_policy=RETRY,
    )
    return job


async def delete_job(job: JobRef) -> None:
    """Delete the job (idempotent)."""
    await workflow.execute_activity(
        ActivityName.DELETE_JOB,
        job,
        start_to_close_timeout=QUICK_ACTIVITY,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=RETRY,
    )


async def wait_job(
    job: JobRef,
    timeout_seconds: int,
    *,
    tick: Callable[[], Awaitable[None]] | None = None,
    tick_seconds: float = 2.0,
) -> JobOutcome:
    """Wait for the job, racing a durable timer; a timed-out job is deleted.

    Args:
        job: The job.
        timeout_seconds: Give up (and delete the job) after this long.
        tick: Called every ``tick_seconds`` while the job runs (e.g. to report progress).
        tick_seconds: Interval of ``tick``.
    """
    deadline = workflow.now() + timedelta(seconds=timeout_seconds)
    waiting = workflow.start_activity(
        ActivityName.WAIT_JOB,
        WaitJobInput(job=job),
        result_type=JobOutcome,
        start_to_close_timeout=timedelta(seconds=timeout_seconds) + QUICK_ACTIVITY,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=RETRY,
    )
    while True:
        remaining = (deadline - workflow.now()).total_seconds()
        interval = min(remaining, tick_seconds) if tick else remaining
        done, _ = await workflow.wait([waiting], timeout=max(interval, 0.001))
        if done:
            outcome: JobOutcome = await waiting
            return outcome
        if remaining <= interval or tick is None:
            break
        await tick()
    waiting.cancel()
    with contextlib.suppress(ActivityError):  # cancelled, as asked
        await waiting
    await delete_job(job)
    return JobOutcome(
        succeeded=False,
        reason="Timeout",
        message=f"the job did not finish within {timeout_seconds} s and was deleted",
    )


async def check_upload(uri: str, storage: StorageRef) -> bool:
    """Whether anything was uploaded under ``uri``."""
    uploaded: bool = await workflow.execute_activity(
        ActivityName.CHECK_UPLOAD,
        UploadCheck(uri=uri, storage=storage),
        result_type=bool,
        start_to_close_timeout=QUICK_ACTIVITY,
        retry_policy=RETRY,
    )
    return uploaded


async def record(storage: StorageRef, entry: TrackingRecord) -> None:
    """Append a tracking record."""
    await workflow.execute_activity(
        ActivityName.RECORD,
        RecordInput(storage=storage, record=entry),
        start_to_close_timeout=QUICK_ACTIVITY,
        retry_policy=RETRY,
    )


async def schedule_cleanup(
    job: JobRef, *, force: bool, ttl_seconds: int | None, timed_out: bool
) -> None:
    """Apply the cleanup policy: delete now, after a TTL (durable child), or keep."""
    if timed_out:
        return  # already deleted
    if force:
        await delete_job(job)
    elif ttl_seconds is not None:
        await workflow.start_child_workflow(
            WorkflowName.CLEANUP_JOB,
            CleanupInput(job=job, delay_seconds=ttl_seconds),
            id=cleanup_workflow_id(job.namespace, job.name),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"delete {job.name} after {ttl_seconds} s",
        )
