"""TrialRun: one tuning trial -- a job with the experiment's image, judged by one metric."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import (
        ActivityName,
        JobRef,
        TrialInput,
        TrialRecord,
        TrialReport,
        WorkflowName,
    )
    from kaptain.workflows import steps
    from kaptain.workflows.options import QUICK_ACTIVITY, RETRY


@workflow.defn(name=WorkflowName.TRIAL_RUN)
class TrialRunWorkflow:
    """Start the trial's job, wait for it, and report its objective."""

    def __init__(self) -> None:
        self._sent = 0

    def _reporter(self, trial: TrialInput, job: JobRef) -> Callable[[], Awaitable[None]]:
        """Sends the objective's new intermediate values to the experiment (early stopping)."""

        async def report() -> None:
            metrics: dict[str, list[float]] = await workflow.execute_activity(
                ActivityName.JOB_METRICS,
                job,
                result_type=dict[str, list[float]],
                start_to_close_timeout=QUICK_ACTIVITY,
                retry_policy=RETRY,
            )
            values = metrics.get(trial.objective, [])
            if len(values) > self._sent and trial.report_to:
                self._sent = len(values)
                await workflow.get_external_workflow_handle(trial.report_to).signal(
                    "report", TrialReport(number=trial.number, values=values)
                )

        return report

    @workflow.run
    async def run(self, trial: TrialInput) -> TrialRecord:
        """Run the trial; a cancel (goal reached, experiment cancelled) deletes its job.

        Args:
            trial: The trial's job and the metric that judges it.

        Returns:
            The trial's record: ``succeeded`` with its objective, or ``failed`` and why.
        """
        job: JobRef | None = None
        try:
            job = await steps.start_job(trial.job)
            outcome = await steps.wait_job(
                job,
                trial.timeout_seconds,
                tick=self._reporter(trial, job) if trial.report_to else None,
                tick_seconds=trial.report_interval_seconds,
            )
        except BaseException as err:
            if is_cancelled_exception(err):
                await steps.delete_job(job or steps.job_ref(trial.job))
            raise
        await steps.schedule_cleanup(
            job,
            force=trial.force_cleanup,
            ttl_seconds=trial.ttl_seconds_after_finished,
            timed_out=outcome.reason == "Timeout",
        )
        metrics = steps.summarize(outcome.metrics)
        record = TrialRecord(
            number=trial.number,
            hyperparameters=trial.hyperparameters,
            metrics=metrics,
            model_uri=trial.job.upload_path,
            job_name=job.name,
        )
        if not outcome.succeeded:
            message = outcome.message + (f"\n{outcome.log_tail}" if outcome.log_tail else "")
            return record.model_copy(update={"state": "failed", "message": message.strip()})
        if trial.objective not in metrics:
            return record.model_copy(
                update={
                    "state": "failed",
                    "message": f"the trial finished without reporting {trial.objective}=...",
                }
            )
        return record.model_copy(
            update={"state": "succeeded", "objective": metrics[trial.objective].latest}
        )
