"""TuneModel: an experiment -- suggestions as recorded activities, trials as child runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import (
        ActivityName,
        BuildResult,
        CopyModel,
        JobSpec,
        ModelState,
        SearchAttribute,
        Suggestion,
        SuggestRequest,
        TrackingRecord,
        TrialInput,
        TrialRecord,
        TrialReport,
        TuneInput,
        TuneResult,
        TuneStatus,
        WorkflowName,
    )
    from kaptain.workflows import steps
    from kaptain.workflows.options import QUICK_ACTIVITY, RETRY, delete_secrets
    from kaptain.workflows.pruning import SuccessiveHalving

_STATE = SearchAttributeKey.for_keyword(SearchAttribute.STATE)
_MODEL_ID = SearchAttributeKey.for_keyword(SearchAttribute.MODEL_ID)
_ACTION = SearchAttributeKey.for_keyword(SearchAttribute.ACTION)
_REVISION = SearchAttributeKey.for_keyword(SearchAttribute.REVISION)


def better(a: float, b: float | None, objective_type: str) -> bool:
    """Whether objective ``a`` beats ``b``."""
    if b is None:
        return True
    return a > b if objective_type == "maximize" else a < b


def reached(value: float, goal: float | None, objective_type: str) -> bool:
    """Whether ``value`` reaches the goal."""
    if goal is None:
        return False
    return value >= goal if objective_type == "maximize" else value <= goal


@workflow.defn(name=WorkflowName.TUNE_MODEL)
class TuneModelWorkflow:
    """Run trials (at most ``parallel_trials`` at once) until a stop condition."""

    def __init__(self) -> None:
        self._status = TuneStatus(phase="Pending")
        self._history: list[TrialRecord] = []
        self._running: dict[int, workflow.ChildWorkflowHandle[object, TrialRecord]] = {}
        self._halving: SuccessiveHalving | None = None
        self._pruned: set[int] = set()

    @workflow.signal(name="report")
    def report(self, report: TrialReport) -> None:
        """A trial's intermediate objective values: hyperband stops the trials that lag."""
        handle = self._running.get(report.number)
        if self._halving is None or handle is None or report.number in self._pruned:
            return
        if self._halving.report(report.number, report.values):
            self._pruned.add(report.number)
            handle.cancel()

    @workflow.query(name="status")
    def status(self) -> TuneStatus:
        """Progress: trials done/total, best objective so far, running, failed, history."""
        return self._status.model_copy(update={"history": list(self._history)})

    @workflow.run
    async def run(self, tune: TuneInput) -> TuneResult:
        """Tune, then publish the best trial as the model's new revision.

        Raises:
            ApplicationError: ``TuningFailed`` when no trial succeeded or ``failed_trials``
                trials failed.
        """
        try:
            return await self._tune(tune)
        finally:
            await delete_secrets(
                tune.namespace,
                [
                    tune.storage.credentials_ref,
                    tune.build.docker_config_ref,
                    tune.build.registry_ca_ref,
                ],
            )

    def _update(self, tune: TuneInput, phase: str, message: str = "") -> None:
        done = [t for t in self._history if t.state != "running"]
        best = self._best(tune)
        self._status = TuneStatus(
            phase=phase,
            revision=self._status.revision,
            trials=tune.trials,
            completed=len(done),
            running=sum(t.state == "running" for t in self._history),
            failed=sum(t.state == "failed" for t in self._history),
            pruned=sum(t.state == "pruned" for t in self._history),
            best_objective=best.objective if best else None,
            best_trial=best.number if best else None,
            message=message,
        )
        workflow.set_current_details(
            f"{phase}: {len(done)}/{tune.trials} trials"
            + (f", best {tune.objectives[0]}={best.objective}" if best else "")
        )

    def _best(self, tune: TuneInput) -> TrialRecord | None:
        best: TrialRecord | None = None
        for trial in self._history:
            if (
                trial.state == "succeeded"
                and trial.objective is not None
                and better(trial.objective, best.objective if best else None, tune.objective_type)
            ):
                best = trial
        return best

    async def _tune(self, tune: TuneInput) -> TuneResult:
        revision = workflow.uuid4().hex
        self._status = TuneStatus(phase="Building", revision=revision, trials=tune.trials)
        workflow.upsert_search_attributes(
            [_REVISION.value_set(revision), _STATE.value_set("tuning")]
        )
        image = await steps.build_image(tune.build)
        reason = await self._search(tune, revision, image)
        return await self._finish(tune, revision, reason)

    async def _search(self, tune: TuneInput, revision: str, image: BuildResult) -> str:
        """Keep up to ``parallel_trials`` trials running; returns why the search stopped."""
        if tune.algorithm == "hyperband":
            settings = tune.algorithm_setting
            self._halving = SuccessiveHalving(
                eta=int(settings.get("eta", 3)),
                min_resource=int(settings.get("min_resource", 1)),
                max_resource=int(settings["max_resource"]) if "max_resource" in settings else None,
                maximize=tune.objective_type == "maximize",
            )
        running = self._running
        deadline = workflow.now() + timedelta(seconds=tune.timeout_seconds)
        exhausted = False
        reason = "MaxTrials"
        try:
            while True:
                while not exhausted and len(running) < tune.parallel_trials:
                    if len(self._history) >= tune.trials:
                        exhausted = True
                        break
                    suggestion = await self._suggest(tune)
                    if suggestion.exhausted:
                        exhausted = True
                        break
                    running[suggestion.number] = await self._start(
                        tune, revision, image, suggestion
                    )
                self._update(tune, "Running")
                if not running:
                    break
                remaining = (deadline - workflow.now()).total_seconds()
                done, _ = await workflow.wait(
                    list(running.values()),
                    timeout=max(remaining, 0.001),
                    return_when="FIRST_COMPLETED",
                )
                if not done:
                    reason = "Timeout"
                    break
                for number in [n for n, h in running.items() if h.done()]:
                    self._record(await self._outcome(number, running.pop(number)))
                best = self._best(tune)
                failures = sum(t.state == "failed" for t in self._history)
                if best and reached(
                    best.objective or 0.0, tune.objective_goal, tune.objective_type
                ):
                    reason = "GoalReached"
                    break
                if failures >= tune.failed_trials:
                    reason = "TooManyFailures"
                    break
        finally:
            await self._cancel(running)
        return reason

    async def _suggest(self, tune: TuneInput) -> Suggestion:
        suggestion: Suggestion = await workflow.execute_activity(
            ActivityName.SUGGEST,
            SuggestRequest(
                algorithm=tune.algorithm,
                algorithm_setting=tune.algorithm_setting,
                parameters=tune.parameters,
                objective_type=tune.objective_type,
                seed=tune.seed,
                number=len(self._history),
                history=self._history,
            ),
            result_type=Suggestion,
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )
        return suggestion

    async def _start(
        self, tune: TuneInput, revision: str, image: BuildResult, suggestion: Suggestion
    ) -> workflow.ChildWorkflowHandle[object, TrialRecord]:
        number = suggestion.number
        base = tune.storage.base_uri.rstrip("/")
        spec = JobSpec(
            name=steps.job_name(tune.model_id, revision, suffix=f"t{number}"),
            namespace=tune.namespace,
            kind=steps.job_kind(tune.framework),
            model_id=tune.model_id,
            revision=revision,
            workflow_id=workflow.info().workflow_id,
            image=image,
            main_file=tune.build.main_file,
            flags=steps.as_flags(suggestion.hyperparameters) + steps.as_flags(tune.args),
            replicas=tune.workers,
            resources=tune.resources,
            upload_path=f"{base}/{tune.model_id}/trials/{revision}/{number}",
            storage=tune.storage,
            lifecycle_phase="tuning",
            active_deadline_seconds=tune.timeout_seconds,
            ttl_seconds_after_finished=tune.ttl_seconds_after_finished,
            image_pull_secret=tune.build.docker_config_ref,
        )
        self._history.append(TrialRecord(number=number, hyperparameters=suggestion.hyperparameters))
        handle: workflow.ChildWorkflowHandle[
            object, TrialRecord
        ] = await workflow.start_child_workflow(
            WorkflowName.TRIAL_RUN,
            TrialInput(
                number=number,
                hyperparameters=suggestion.hyperparameters,
                job=spec,
                objective=tune.objectives[0],
                timeout_seconds=tune.timeout_seconds,
                force_cleanup=tune.delete_experiment,
                ttl_seconds_after_finished=tune.ttl_seconds_after_finished,
                report_to=workflow.info().workflow_id if self._halving else None,
            ),
            id=f"{workflow.info().workflow_id}/{revision[:8]}/trial-{number}",
            result_type=TrialRecord,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(_MODEL_ID, tune.model_id),
                    SearchAttributePair(_ACTION, "trial"),
                    SearchAttributePair(_REVISION, revision),
                ]
            ),
            static_summary=f"trial {number} of {tune.model_id}: "
            + " ".join(steps.as_flags(suggestion.hyperparameters)),
        )
        return handle

    async def _outcome(
        self, number: int, handle: workflow.ChildWorkflowHandle[object, TrialRecord]
    ) -> TrialRecord:
        previous = next(t for t in self._history if t.number == number)
        try:
            result: TrialRecord = await handle
        except ChildWorkflowError as err:
            if number in self._pruned:
                values = self._halving.values.get(number, []) if self._halving else []
                return previous.model_copy(
                    update={
                        "state": "pruned",
                        "message": f"stopped early by hyperband after {len(values)} reports",
                    }
                )
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            return previous.model_copy(update={"state": "failed", "message": cause})
        return result

    def _record(self, trial: TrialRecord) -> None:
        self._history = [trial if t.number == trial.number else t for t in self._history]

    async def _cancel(
        self, running: dict[int, workflow.ChildWorkflowHandle[object, TrialRecord]]
    ) -> None:
        """Cancel the trials still running and wait for their cleanup."""
        for handle in running.values():
            handle.cancel()
        for number, handle in running.items():
            previous = next(t for t in self._history if t.number == number)
            try:
                self._record(await handle)  # it finished before the cancel reached it
            except ChildWorkflowError:
                self._record(previous.model_copy(update={"state": "cancelled"}))

    async def _finish(self, tune: TuneInput, revision: str, reason: str) -> TuneResult:
        best = self._best(tune)
        self._update(tune, "Publishing" if best else "Failed")
        trials = list(self._history)
        if best is None or reason == "TooManyFailures":
            message = (
                f"{sum(t.state == 'failed' for t in trials)} trials failed"
                if reason == "TooManyFailures"
                else "no trial succeeded"
            )
            last = next((t.message for t in reversed(trials) if t.message), "")
            workflow.upsert_search_attributes([_STATE.value_set("failed")])
            raise ApplicationError(
                f"tuning failed: {message}" + (f"; last failure: {last}" if last else ""),
                type="TuningFailed",
                non_retryable=True,
            )
        base = tune.storage.base_uri.rstrip("/")
        target = f"{base}/{tune.model_id}/tuned/{revision}"
        others = [t.model_uri for t in trials if t.number != best.number and t.model_uri]
        await workflow.execute_activity(
            ActivityName.COPY_MODEL,
            CopyModel(
                storage=tune.storage,
                source_uri=best.model_uri,
                target_uri=target,
                delete_uris=[] if tune.keep_trial_models else [best.model_uri, *others],
            ),
            start_to_close_timeout=QUICK_ACTIVITY,
            retry_policy=RETRY,
        )
        result = TuneResult(
            model_id=tune.model_id,
            revision=revision,
            succeeded=True,
            hyperparameters=best.hyperparameters,
            metrics=best.metrics,
            objective=best.objective,
            best_trial=best.number,
            model_uri=target,
            reason=reason,
            message=f"best trial {best.number}: {tune.objectives[0]}={best.objective}",
            trials=trials,
        )
        await steps.record(
            tune.storage,
            TrackingRecord(
                model_id=tune.model_id,
                revision=revision,
                action="tune",
                timestamp=workflow.now().isoformat(),
                state=ModelState.TUNED.value,
                details={
                    "hyperparameters": result.hyperparameters,
                    "metrics": {k: v.model_dump() for k, v in result.metrics.items()},
                    "objective": {tune.objectives[0]: result.objective},
                    "model_uri": target,
                    "reason": reason,
                    "trials": [t.model_dump() for t in trials],
                    "workflow_id": workflow.info().workflow_id,
                    "run_id": workflow.info().run_id,
                },
            ),
        )
        workflow.upsert_search_attributes([_STATE.value_set("tuned")])
        self._update(tune, "Succeeded", result.message)
        return result
