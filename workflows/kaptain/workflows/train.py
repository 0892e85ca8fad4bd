"""TrainModel: build, run the distributed job, collect metrics, record, clean up."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import (
        BuildResult,
        JobOutcome,
        JobRef,
        JobSpec,
        ModelState,
        SearchAttribute,
        TrackingRecord,
        TrainInput,
        TrainResult,
        TrainStatus,
        WorkflowName,
    )
    from kaptain.workflows import steps
    from kaptain.workflows.options import delete_secrets

_STATE = SearchAttributeKey.for_keyword(SearchAttribute.STATE)
_REVISION = SearchAttributeKey.for_keyword(SearchAttribute.REVISION)


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
        image = await steps.build_image(train.build)
        self._set("Starting", image=image.image)
        spec = self._job_spec(train, revision, image)
        job: JobRef | None = None
        try:
            job = await steps.start_job(spec)
            self._set("Running", job=job)
            workflow.upsert_search_attributes([_STATE.value_set("running")])
            outcome = await steps.wait_job(job, train.timeout_seconds)
        except BaseException as err:
            if not is_cancelled_exception(err):
                raise
            self._set("Cancelled", "cancelled by the caller; the job is being deleted")
            await steps.delete_job(job or steps.job_ref(spec))
            raise
        return await self._finish(train, spec, job, image, outcome)

    @staticmethod
    def _job_spec(train: TrainInput, revision: str, image: BuildResult) -> JobSpec:
        base = train.storage.base_uri.rstrip("/")
        return JobSpec(
            name=steps.job_name(train.model_id, revision),
            namespace=train.namespace,
            kind=steps.job_kind(train.framework),
            model_id=train.model_id,
            revision=revision,
            workflow_id=workflow.info().workflow_id,
            image=image,
            main_file=train.build.main_file,
            flags=steps.as_flags(train.hyperparameters) + steps.as_flags(train.args),
            replicas=train.workers,
            resources=train.resources,
            upload_path=f"{base}/{train.model_id}/trained/{revision}",
            storage=train.storage,
            lifecycle_phase=train.lifecycle_phase,
            active_deadline_seconds=train.timeout_seconds,
            ttl_seconds_after_finished=train.ttl_seconds_after_finished,
            image_pull_secret=train.build.docker_config_ref,
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
            uploaded = await steps.check_upload(spec.upload_path, train.storage)
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
            metrics=steps.summarize(outcome.metrics),
            model_uri=spec.upload_path,
            model_uploaded=uploaded,
            image=image.image,
            job_name=job.name,
            message=message.strip(),
            reason=outcome.reason,
        )
        await self._record(train, result)
        await steps.schedule_cleanup(
            job,
            force=train.force_cleanup,
            ttl_seconds=train.ttl_seconds_after_finished,
            timed_out=outcome.reason == "Timeout",
        )
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
        await steps.record(train.storage, record)
