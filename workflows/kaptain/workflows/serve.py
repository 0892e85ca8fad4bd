"""ServeModel: one long-lived workflow per deployment.

Deploy, canary, promote, rollback and undeploy arrive as Temporal updates. Each is checked
by a validator first (a bad request is rejected without touching the deployment), then
applied under one lock, so changes never interleave. A progressive canary is a background
loop of durable timers that analyses the canary's live metrics at every step and rolls back
on a breach; a manual change cancels it. The ``state`` query answers where the deployment
is; the history is kept small by continuing as new.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts import ActivityName, CopyModel, StorageRef, TrackingRecord, WorkflowName
    from kaptain.contracts.names import SearchAttribute, ServeMessage
    from kaptain.contracts.serve import (
        ApplyServing,
        CanaryRequest,
        DeploymentMetrics,
        DeployRequest,
        RevisionMetrics,
        RevisionSpec,
        RollbackRequest,
        ServeInput,
        ServingPhase,
        ServingState,
        ServingStatus,
    )
    from kaptain.workflows import steps
    from kaptain.workflows.canary import FAILED, HELD, judge
    from kaptain.workflows.options import (
        HEARTBEAT,
        NON_RETRYABLE_TYPES,
        QUICK_ACTIVITY,
        RETRY,
        delete_secrets,
    )

_REVISION = SearchAttributeKey.for_keyword(SearchAttribute.REVISION)
_STATE = SearchAttributeKey.for_keyword(SearchAttribute.STATE)

APPLY_TIMEOUT = timedelta(minutes=20)
"""start_to_close of one apply: download the model, start servers, wait ready, test."""

SERVE_RETRY = dataclasses.replace(
    RETRY,
    maximum_attempts=5,
    non_retryable_error_types=[*NON_RETRYABLE_TYPES, "RevisionFailed", "UnsupportedDeployment"],
)
"""Transient platform errors are retried; a revision that cannot serve fails at once."""

METRICS_TIMEOUT = timedelta(seconds=20)
"""start_to_close of one metrics scrape: short, so a rollout outlives a dead worker quickly."""

DEPLOYMENT_ERROR = "ModelDeploymentException"
"""Error type of a refused or failed change (the SDK raises ModelDeploymentException)."""


REVISION_FAILED = "RevisionFailed"
"""Error type of a revision that could not become ready (what served before still does)."""


def _refuse(message: str, kind: str = DEPLOYMENT_ERROR) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _failure(err: ActivityError) -> ApplicationError:
    """The activity's failure as the update's error, keeping its type when it is ours."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        kind = cause.type if cause.type == "UnsupportedDeployment" else REVISION_FAILED
        return _refuse(cause.message, kind)
    return _refuse(str(cause or err), REVISION_FAILED)


@workflow.defn(name=WorkflowName.SERVE_MODEL)
class ServeModelWorkflow:
    """The deployment of one model: its revisions, traffic split and rollouts."""

    @workflow.init
    def __init__(self, serve: ServeInput) -> None:
        self._deployment = serve.deployment
        self._state = serve.state or ServingState()
        self._limit = serve.continue_after_changes
        self._changes = 0
        self._lock = asyncio.Lock()
        self._rollout: asyncio.Task[None] | None = None
        self._finished = False
        self._reconcile_seconds = serve.reconcile_seconds

    @workflow.run
    async def run(self, serve: ServeInput) -> ServingState:
        """Serve until undeployed, continuing as new when the history grows.

        Args:
            serve: The deployment and, after continue-as-new, its carried-over state.

        Returns:
            The final state (phase ``undeployed``, or ``empty`` when the first deploy failed).
        """
        if self._state.phase is ServingPhase.CANARY and self._state.policy is not None:
            self._start_rollout()  # resume the step it was at
        self._show()
        healer = asyncio.create_task(self._heal())
        await workflow.wait_condition(lambda: self._finished or self._should_continue())
        if self._finished:
            await self._stop(healer)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._state
        while True:
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() and not self._lock.locked()
            )
            await self._stop(healer)
            await self._stop_rollout()
            if workflow.all_handlers_finished() and not self._lock.locked():
                break
        workflow.continue_as_new(
            ServeInput(
                deployment=self._deployment,
                state=self._state,
                continue_after_changes=self._limit,
                reconcile_seconds=self._reconcile_seconds,
            )
        )

    def _should_continue(self) -> bool:
        return self._changes >= self._limit or workflow.info().is_continue_as_new_suggested()

    # -- queries and validators ---------------------------------------------------------

    @workflow.query(name=ServeMessage.STATE)
    def state(self) -> ServingState:
        """Where the deployment is: URL, revisions, traffic, readiness, rollout analysis."""
        return self._state

    def _check_open(self) -> None:
        if self._finished:
            raise _refuse(f"the deployment of {self._deployment.model_id} was removed")

    def _check_deployed(self, action: str) -> None:
        self._check_open()
        if self._state.baseline is None:
            raise _refuse(f"cannot {action}: {self._deployment.model_id} is not deployed")

    def _check_canary(self, action: str) -> None:
        self._check_deployed(action)
        if self._state.canary is None:
            raise _refuse(f"cannot {action}: {self._deployment.model_id} has no canary")

    def _check_deploy(self, request: DeployRequest) -> None:
        self._check_open()
        if self._state.baseline is not None and not request.replace:
            raise _refuse(
                f"{self._deployment.model_id} is already deployed (revision "
                f"{self._state.baseline.revision}); pass replace=True to replace it"
            )

    def _check_canary_request(self, request: CanaryRequest) -> None:
        self._check_deployed("deploy a canary")
        if request.spec is None and self._state.canary is None:
            raise _refuse("no canary to change the traffic of; give the canary's model")

    # -- updates ------------------------------------------------------------------------

    @workflow.update(name=ServeMessage.DEPLOY)
    async def deploy(self, request: DeployRequest) -> ServingState:
        """Serve ``request.spec`` as the only revision (replacing any deployment)."""
        async with self._change(request.storage):
            self._check_deploy(request)
            first = self._state.baseline is None
            try:
                await self._prepare(request.spec)
                await self._apply(request.spec, None, 0)
            except ApplicationError:
                if first:  # nothing half-created stays behind
                    await self._remove_serving()
                    await self._drop_current_credentials()
                    self._state.last_event = "the first deploy failed; nothing is deployed"
                    self._finished = True
                raise
            self._state.baseline, self._state.canary = request.spec, None
            self._state.policy, self._state.analysis = None, []
            await self._record("deploy", request.spec, f"deployed revision {request.spec.revision}")
            return self._state

    @deploy.validator
    def _validate_deploy(self, request: DeployRequest) -> None:
        self._check_deploy(request)

    @workflow.update(name=ServeMessage.CANARY)
    async def canary(self, request: CanaryRequest) -> ServingState:
        """Serve a canary beside the baseline (or change its share, or start a policy)."""
        async with self._change(request.storage):
            self._check_canary_request(request)
            assert self._state.baseline is not None
            spec = request.spec or self._state.canary
            assert spec is not None
            percent = request.policy.steps[0] if request.policy else request.percent
            if request.spec is not None and request.spec != self._state.canary:
                await self._prepare(request.spec)
            await self._apply(self._state.baseline, spec, percent)
            self._state.canary = spec
            self._state.policy, self._state.step, self._state.analysis = request.policy, 0, []
            self._state.rollback_reason = None
            what = "progressive canary" if request.policy else "canary"
            await self._record("deploy_canary", spec, f"{what} {spec.revision} at {percent}%")
            if request.policy is not None:
                self._start_rollout()
            return self._state

    @canary.validator
    def _validate_canary(self, request: CanaryRequest) -> None:
        self._check_canary_request(request)

    @workflow.update(name=ServeMessage.PROMOTE)
    async def promote(self) -> ServingState:
        """Send all traffic to the canary, which becomes the baseline."""
        async with self._change(None):
            self._check_canary("promote a canary")
            await self._promote("promoted by request")
            return self._state

    @promote.validator
    def _validate_promote(self) -> None:
        self._check_canary("promote a canary")

    @workflow.update(name=ServeMessage.ROLLBACK)
    async def rollback(self, request: RollbackRequest) -> ServingState:
        """Send all traffic back to the baseline and drop the canary."""
        async with self._change(None):
            self._check_canary("roll back a canary")
            await self._rollback(request.reason)
            return self._state

    @rollback.validator
    def _validate_rollback(self, request: RollbackRequest) -> None:
        self._check_canary("roll back a canary")

    @workflow.update(name=ServeMessage.UNDEPLOY)
    async def undeploy(self) -> ServingState:
        """Remove every revision, the route and the deployment's credentials."""
        async with self._change(None):
            self._check_deployed("undeploy")
            baseline = self._state.baseline
            assert baseline is not None
            await self._remove_serving()
            self._state.phase = ServingPhase.UNDEPLOYED
            self._state.baseline = self._state.canary = None
            self._state.canary_percent, self._state.traffic, self._state.ready = 0, {}, False
            self._state.policy = None
            self._finished = True
            await self._record("undeploy", baseline, "undeployed")
            await self._drop_current_credentials()  # last: the record needed them
            return self._state

    @undeploy.validator
    def _validate_undeploy(self) -> None:
        self._check_deployed("undeploy")

    # -- changes ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _change(self, storage: StorageRef | None) -> AsyncIterator[None]:
        """One change: stop any rollout, hold the lock, own the request's credentials.

        The request's staged credentials replace the deployment's once the change succeeds
        (the old ones are deleted); when it fails, the new ones are deleted instead.
        """
        await self._stop_rollout()
        async with self._lock:
            previous = self._deployment.storage
            if storage is not None:
                self._deployment = self._deployment.model_copy(update={"storage": storage})
            try:
                yield
            except BaseException:
                if storage is not None:
                    self._deployment = self._deployment.model_copy(update={"storage": previous})
                    await self._drop_credentials(storage, keep=previous)
                raise
            finally:
                self._changes += 1
                self._show()
            if storage is not None:
                await self._drop_credentials(previous, keep=storage)

    async def _drop_credentials(self, storage: StorageRef, *, keep: StorageRef) -> None:
        if storage.credentials_ref and storage.credentials_ref != keep.credentials_ref:
            await delete_secrets(storage.credentials_namespace, [storage.credentials_ref])

    async def _prepare(self, spec: RevisionSpec) -> None:
        """Copy the model to the revision's deploy location (its serving artifacts)."""
        if spec.source_uri.rstrip("/") == spec.model_uri.rstrip("/"):
            return
        copied: int = await workflow.execute_activity(
            ActivityName.COPY_MODEL,
            CopyModel(
                storage=self._deployment.storage,
                source_uri=spec.source_uri,
                target_uri=spec.model_uri,
            ),
            result_type=int,
            start_to_close_timeout=QUICK_ACTIVITY * 5,
            retry_policy=RETRY,
        )
        if copied == 0:
            self._state.last_event = f"revision {spec.revision}: no model at {spec.source_uri}"
            raise _refuse(f"no model found at {spec.source_uri}", REVISION_FAILED)

    async def _apply(
        self, baseline: RevisionSpec, canary: RevisionSpec | None, percent: int
    ) -> None:
        """Drive the platform to the desired split; on failure the traffic stays as it was."""
        desired = ApplyServing(
            deployment=self._deployment, baseline=baseline, canary=canary, canary_percent=percent
        )
        self._state.phase = (
            ServingPhase.DEPLOYING if self._state.baseline is None else self._state.phase
        )
        try:
            status: ServingStatus = await workflow.execute_activity(
                ActivityName.SERVE_APPLY,
                desired,
                result_type=ServingStatus,
                start_to_close_timeout=APPLY_TIMEOUT,
                heartbeat_timeout=HEARTBEAT * 3,
                retry_policy=SERVE_RETRY,
            )
        except ActivityError as err:
            failure = _failure(err)
            self._state.phase = (
                ServingPhase.EMPTY if self._state.baseline is None else self._state.phase
            )
            self._state.last_event = f"change failed: {failure.message}"
            raise failure from None
        self._state.url = status.url
        self._state.traffic = dict(status.traffic)
        self._state.replicas = dict(status.replicas)
        self._state.ready = status.ready
        self._state.canary_percent = percent if canary is not None else 0
        self._state.phase = ServingPhase.CANARY if canary is not None else ServingPhase.SERVING

    async def _promote(self, why: str) -> None:
        canary = self._state.canary
        assert canary is not None
        await self._apply(canary, None, 0)
        self._state.baseline, self._state.canary, self._state.policy = canary, None, None
        await self._record("promote_canary", canary, f"canary {canary.revision} {why}")

    async def _rollback(self, reason: str) -> None:
        baseline, canary = self._state.baseline, self._state.canary
        assert baseline is not None and canary is not None
        await self._apply(baseline, None, 0)
        self._state.canary, self._state.policy = None, None
        self._state.rollback_reason = reason
        await self._record(
            "rollback_canary", canary, f"canary {canary.revision} rolled back: {reason}"
        )

    async def _remove_serving(self) -> None:
        await workflow.execute_activity(
            ActivityName.SERVE_DELETE,
            self._deployment,
            start_to_close_timeout=QUICK_ACTIVITY * 5,
            heartbeat_timeout=HEARTBEAT * 3,
            retry_policy=RETRY,
        )

    async def _drop_current_credentials(self) -> None:
        storage = self._deployment.storage
        await delete_secrets(storage.credentials_namespace, [storage.credentials_ref])

    async def _record(self, action: str, spec: RevisionSpec, event: str) -> None:
        self._state.last_event = event
        workflow.upsert_search_attributes(
            [
                _STATE.value_set(self._state.phase.value),
                _REVISION.value_set(spec.revision),
            ]
        )
        await steps.record(
            self._deployment.storage,
            TrackingRecord(
                model_id=self._deployment.model_id,
                revision=spec.revision,
                action=action,
                timestamp=workflow.now().isoformat(),
                state="deployed",
                details={
                    "event": event,
                    "model_uri": spec.model_uri,
                    "source_uri": spec.source_uri,
                    "url": self._state.url,
                    "traffic": dict(self._state.traffic),
                    "workflow_id": workflow.info().workflow_id,
                },
            ),
        )

    def _show(self) -> None:
        """The deployment's state as the run's current details in the Temporal UI."""
        state = self._state
        lines = [f"**{state.phase.value}** {state.url or ''}".rstrip()]
        if state.baseline is not None:
            lines.append(f"baseline: {state.baseline.revision}")
        if state.canary is not None:
            lines.append(f"canary: {state.canary.revision} at {state.canary_percent}%")
        if state.last_event:
            lines.append(f"last: {state.last_event}")
        if state.rollback_reason:
            lines.append(f"rolled back because: {state.rollback_reason}")
        workflow.set_current_details("\n\n".join(lines))

    # -- progressive canary -------------------------------------------------------------

    def _start_rollout(self) -> None:
        self._rollout = asyncio.create_task(self._progress())

    async def _stop_rollout(self) -> None:
        task, self._rollout = self._rollout, None
        await self._stop(task)

    @staticmethod
    async def _stop(task: asyncio.Task[None] | None) -> None:
        """Cancel a background loop and wait for it."""
        if task is not None and not task.done():
            task.cancel()
            # a step in flight ends as cancelled (or as its cancelled activity's failure);
            # the change that stopped it sets the desired state anew
            with contextlib.suppress(asyncio.CancelledError, ActivityError):
                await task

    async def _heal(self) -> None:
        """Apply the current state again now and then: the platform converges back to it.

        Skipped while a change or a rollout step holds the lock. On the local platform this
        restarts model servers or the router that died (or did not survive a reboot).
        """
        while True:
            await workflow.sleep(timedelta(seconds=self._reconcile_seconds))
            baseline = self._state.baseline
            if baseline is None or self._lock.locked():
                continue
            async with self._lock:
                try:
                    await self._apply(baseline, self._state.canary, self._state.canary_percent)
                except ApplicationError as err:
                    self._state.last_event = f"reconcile failed: {err.message}"
                    self._show()

    async def _metrics(self) -> RevisionMetrics:
        canary = self._state.canary
        assert canary is not None
        scraped: DeploymentMetrics = await workflow.execute_activity(
            ActivityName.SERVE_METRICS,
            self._deployment,
            result_type=DeploymentMetrics,
            start_to_close_timeout=METRICS_TIMEOUT,
            retry_policy=RETRY,
        )
        return scraped.revisions.get(canary.revision, RevisionMetrics())

    async def _progress(self) -> None:
        """Step the canary through the policy, judging each window; roll back on a breach."""
        policy = self._state.policy
        assert policy is not None
        holds = 0
        while True:
            percent = policy.steps[self._state.step]
            before = await self._metrics()
            await workflow.sleep(timedelta(seconds=policy.interval_seconds))
            after = await self._metrics()
            verdict = judge(policy, percent, before, after)
            self._state.analysis.append(verdict)
            self._state.last_event = f"step {percent}%: {verdict.verdict} ({verdict.reason})"
            self._show()
            if verdict.verdict == HELD:
                holds += 1
                if holds <= policy.max_holds:
                    continue
                await self._automatic(self._rollback, f"no verdict: {verdict.reason}")
                return
            if verdict.verdict == FAILED:
                await self._automatic(self._rollback, verdict.reason)
                return
            holds = 0
            if self._state.step + 1 < len(policy.steps):
                async with self._lock:
                    await self._apply_step(self._state.step + 1)
                continue
            if percent == 100:
                await self._automatic(self._promote, "promoted: every step passed")
            return

    async def _apply_step(self, step: int) -> None:
        baseline, canary, policy = self._state.baseline, self._state.canary, self._state.policy
        assert baseline is not None and canary is not None and policy is not None
        try:
            await self._apply(baseline, canary, policy.steps[step])
        except ApplicationError as err:
            await self._rollback(f"could not move to {policy.steps[step]}%: {err.message}")
            return
        self._state.step = step
        self._changes += 1
        self._show()

    async def _automatic(self, action: Callable[[str], Awaitable[None]], why: str) -> None:
        """Run promote/rollback from the rollout loop (under the lock)."""
        async with self._lock:
            try:
                await action(why)
            except ApplicationError as err:
                self._state.last_event = f"automatic change failed: {err.message}"
            self._changes += 1
            self._show()
