"""TrainModel: build, run the distributed job, collect metrics, record, clean up."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    WorkflowAlreadyStartedError,
    is_cancelled_exception,
)

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
        ModelState,
        RecordInput,
        SearchAttribute,
        TrackingRecord,
        TrainInput,
        TrainResult,
        TrainStatus,
        UploadCheck,
        WaitJobInput,
        WorkflowName,
        build_workflow_id,
        model_slug,
    )
    from kaptain.workflows.cleanup import cleanup_workflow_id
    from kaptain.workflows.options import (
        CHILD_CONFLICT_BACKOFF,
        HEARTBEAT,
        QUICK_ACTIVITY,
        RETRY,
        delete_secrets,
    )

_BUILD_CONFLICT_RETRIES = 360
_STATE = SearchAttributeKey.for_keyword(SearchAttribute.STATE)
_REVISION = SearchAttributeKey.for_keyword(SearchAttribute.REVISION)


def job_kind(framework: str) -> JobKind:
    """TensorFlow trains as a TFJob; everything else as a PyTorchJob."""
    return JobKind.TENSORFLOW if framework == "tensorflow" else JobKind.PYTORCH


def job_name(model_id: str, revision: str) -> str:
    """``<model slug>-<revision[:8]>``, always starting with a letter.

    The Training Operator names Services after the job, and Service names must.
    """
    slug = model_slug(model_id)[:40].rstrip("-")
    if not slug[0].isalpha():
        slug = f"job-{slug}"[:40].rstrip("-")
    return f"{slug}-{revision[:8]}"


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


@workflow.defn(name=WorkflowName.TRAIN_MODEL)
class TrainModelWorkflow:
    """One training run of a model: a new revision on success."""

    def __init__(self) -> None:
        self._status = TrainStatus(phase="Pending", revision="")

    @workflow.query(name="status")
    def status(self) -> TrainStatus:
        """Where the run is: phase, revision, image, job and its log locations."""
        return self._status

    def _set(self, phase: str, message: str = "", **fields: object) -> None:
        self._status = self._status.model_copy(
            update={"phase": phase, "message": message, **fields}
        )
        workflow.set_current_details(f"{phase}: {message}" if message else phase)

    @workflow.run
    async def run(self, train: TrainInput) -> TrainResult:
        """Run the training.

        Args:
            train: What to train and how.

        Returns:
            The new revision with its metrics and model location.

        Raises:
            ApplicationError: ``TrainingFailed`` / ``TrainingTimeout`` when the job failed
                or ran out of time (the job is kept for troubleshooting unless it timed out
                or ``force_cleanup`` was set).
        """
        try:
            return await self._train(train)
        finally:
            await delete_secrets(
                train.namespace,
                [
                    train.storage.credentials_ref,
                    train.build.docker_config_ref,
                    train.build.registry_ca_ref,
                ],
            )

    async def _train(self, train: TrainInput) -> TrainResult:
        revision = workflow.uuid4().hex
        self._set("Building", revision=revision)
        workflow.upsert_search_attributes(
            [_REVISION.value_set(revision), _STATE.value_set("building")]
        )
        image = await self._build(train.build)
        self._set("Starting", image=image.image)
        spec = self._job_spec(train, revision, image)
        job: JobRef | None = None
        try:
            job = await workflow.execute_activity(
                ActivityName.START_JOB,
                spec,
                result_type=JobRef,
                start_to_close_timeout=QUICK_ACTIVITY,
                heartbeat_timeout=HEARTBEAT,  # a worker dying mid-start retries in seconds
                retry_policy=RETRY,
            )
            self._set("Running", job=job)
            workflow.upsert_search_attributes([_STATE.value_set("running")])
            outcome = await self._wait(job, train.timeout_seconds)
        except BaseException as err:
            if not is_cancelled_exception(err):
                raise
            self._set("Cancelled", "cancelled by the caller; the job is being deleted")
            await self._delete(job or self._ref(spec))
            raise
        return await self._finish(train, spec, job, image, outcome)

    async def _build(self, build: BuildInput) -> BuildResult:
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
                # Another run is building the same contents: wait, then try again; the
                # next attempt finds the image and skips.
                await asyncio.sleep(CHILD_CONFLICT_BACKOFF.total_seconds())
        raise ApplicationError("the image build stayed busy", type="ImageBuildException")

    @staticmethod
    def _job_spec(train: TrainInput, revision: str, image: BuildResult) -> JobSpec:
        base = train.storage.base_uri.rstrip("/")
        return JobSpec(
            name=job_name(train.model_id, revision),
            namespace=train.namespace,
            kind=job_kind(train.framework),
            model_id=train.model_id,
            revision=revision,
            workflow_id=workflow.info().workflow_id,
            image=image,
            main_file=train.build.main_file,
            flags=as_flags(train.hyperparameters) + as_flags(train.args),
            replicas=train.workers,
            resources=train.resources,
            upload_path=f"{base}/{train.model_id}/trained/{revision}",
            storage=train.storage,
            lifecycle_phase=train.lifecycle_phase,
            active_deadline_seconds=train.timeout_seconds,
            ttl_seconds_after_finished=train.ttl_seconds_after_finished,
            image_pull_secret=train.build.docker_config_ref,
        )

    @staticmethod
    def _ref(spec: JobSpec) -> JobRef:
        return JobRef(
            name=spec.name, namespace=spec.namespace, kind=spec.kind, replicas=spec.replicas
        )

    async def _wait(self, job: JobRef, timeout_seconds: int) -> JobOutcome:
        waiting = workflow.start_activity(
            ActivityName.WAIT_JOB,
            WaitJobInput(job=job),
            result_type=JobOutcome,
            start_to_close_timeout=timedelta(seconds=timeout_seconds) + QUICK_ACTIVITY,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        done, _ = await workflow.wait([waiting], timeout=timeout_seconds)
        if done:
            outcome: JobOutcome = await waiting
            return outcome
        waiting.cancel()
        with contextlib.suppress(ActivityError):  # cancelled, as asked
            await waiting
        await self._delete(job)
        return JobOutcome(
            succeeded=False,
            reason="Timeout",
            message=f"the job did not finish within {timeout_seconds} s and was deleted",
        )

    async def _delete(self, job: JobRef) -> None:
        await workflow.execute_activity(
            ActivityName.DELETE_JOB,
            job,
            start_to_close_timeout=QUICK_ACTIVITY,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )

    async def _finish(
        self,
        train: TrainInput,
        spec: JobSpec,
        job: JobRef,
        image: BuildResult,
        outcome: JobOutcome,
    ) -> TrainResult:
        uploaded = False
        if outcome.succeeded:
            uploaded = await workflow.execute_activity(
                ActivityName.CHECK_UPLOAD,
                UploadCheck(uri=spec.upload_path, storage=train.storage),
                result_type=bool,
                start_to_close_timeout=QUICK_ACTIVITY,
                retry_policy=RETRY,
            )
        state = ModelState.TRAINED if outcome.succeeded else ModelState.UNTRAINED
        message = outcome.message
        if outcome.log_tail:
            message = f"{message}\n--- last lines of the log ---\n{outcome.log_tail}"
        result = TrainResult(
            model_id=train.model_id,
            revision=spec.revision,
            succeeded=outcome.succeeded,
            state=state,
            hyperparameters=train.hyperparameters,
            metrics=summarize(outcome.metrics),
            model_uri=spec.upload_path,
            model_uploaded=uploaded,
            image=image.image,
            job_name=job.name,
            message=message.strip(),
            reason=outcome.reason,
        )
        await self._record(train, result)
        await self._schedule_cleanup(train, job, outcome)
        final = "trained" if outcome.succeeded else outcome.reason.lower()
        workflow.upsert_search_attributes([_STATE.value_set(final)])
        self._set(outcome.reason, result.message)
        if not outcome.succeeded:
            raise ApplicationError(
                f"training {outcome.reason.lower()}: {result.message}",
                result,
                type="TrainingTimeout" if outcome.reason == "Timeout" else "TrainingFailed",
                non_retryable=True,
            )
        return result

    async def _record(self, train: TrainInput, result: TrainResult) -> None:
        record = TrackingRecord(
            model_id=train.model_id,
            revision=result.revision,
            action="train",
            timestamp=workflow.now().isoformat(),
            state=result.state.value if result.succeeded else None,
            details={
                "succeeded": result.succeeded,
                "reason": result.reason,
                "hyperparameters": result.hyperparameters,
                "metrics": {k: v.model_dump() for k, v in result.metrics.items()},
                "model_uri": result.model_uri,
                "image": result.image,
                "workers": train.workers,
                "workflow_id": workflow.info().workflow_id,
                "run_id": workflow.info().run_id,
            },
        )
        await workflow.execute_activity(
            ActivityName.RECORD,
            RecordInput(storage=train.storage, record=record),
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )

    async def _schedule_cleanup(self, train: TrainInput, job: JobRef, outcome: JobOutcome) -> None:
        if outcome.reason == "Timeout":
            return  # already deleted
        if train.force_cleanup:
            await self._delete(job)
        elif train.ttl_seconds_after_finished is not None:
            await workflow.start_child_workflow(
                WorkflowName.CLEANUP_JOB,
                CleanupInput(job=job, delay_seconds=train.ttl_seconds_after_finished),
                id=cleanup_workflow_id(job.namespace, job.name),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=f"delete {job.name} after {train.ttl_seconds_after_finished} s",
            )
