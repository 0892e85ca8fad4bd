"""TrialRun: one tuning trial -- a job with the experiment's image, judged by one metric."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import JobRef, TrialInput, TrialRecord, WorkflowName
    from kaptain.workflows import steps


@workflow.defn(name=WorkflowName.TRIAL_RUN)
class TrialRunWorkflow:
    """Start the trial's job, wait for it, and report its objective."""

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
            outcome = await steps.wait_job(job, trial.timeout_seconds)
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
