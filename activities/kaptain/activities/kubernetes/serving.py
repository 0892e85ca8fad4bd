"""Serving on Kubernetes: a KServe InferenceService per deployment, driven to a desired state.

``apply`` brings a deployment to ``ApplyServing``'s split with KServe's own moves (Serverless
mode, ``canaryTrafficPercent``):

1. The baseline must be the rolled-out revision. If it is not, its spec is written with
   ``canaryTrafficPercent: 0`` (the rolled-out revision keeps every request), the new
   revision is waited for until it is ready *and answers a test inference* on its ``latest``
   tag URL, then the percentage is removed so that it takes all the traffic (a promote is
   this step with the spec already in place).
2. A canary's spec is written the same way at 0 %, tested, then given its percentage.
   Without a canary, a spec that is not the baseline (a canary rolled back, or one that
   failed) is kept at ``canaryTrafficPercent: 0``: all traffic on the baseline (KServe's
   rollback).

Every wait reads the traffic block of the status (the split actually in effect) and fails
with a non-retryable ``RevisionFailed`` when the new revision fails or is not ready in time;
the traffic then stays where it was. A retried attempt starts over and skips what is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kaptain.activities.errors import permanent
from kaptain.activities.kubernetes.api import (
    INFERENCE_SERVICES,
    PODS,
    SECRETS,
    SERVICE_ACCOUNTS,
    KubeApi,
    Resource,
)
from kaptain.activities.kubernetes.errors import (
    Conflict,
    KubeError,
    NotFound,
    TemporaryKubeError,
    to_application_error,
)
from kaptain.activities.kubernetes.inference_probe import (
    ProbeFailed,
    example_payload,
    probe_revision,
)
from kaptain.activities.kubernetes.manifests.serving import (
    canary_patch,
    inference_service,
    serving_account_name,
    serving_secret,
    serving_service_account,
    spec_hash,
)
from kaptain.activities.kubernetes.serving_status import ServiceView
from kaptain.activities.kubernetes.watching import wait_for
from kaptain.activities.storage import CredentialResolver
from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from kaptain.contracts import ActivityName
from kaptain.contracts.serve import (
    ApplyServing,
    DeploymentMetrics,
    DeploymentRef,
    RevisionMetrics,
    RevisionSpec,
    ServingStatus,
)
from kaptain.serving.metrics import parse_deployment_metrics

__all__ = ["KubeServingActivities"]

REVISION_LABEL: Final = "serving.knative.dev/revision"
"""Label of a Knative revision's pods."""
ISVC_LABEL: Final = "serving.kserve.io/inferenceservice"
"""Label of an InferenceService's pods."""
_WRITE_ATTEMPTS: Final = 5


def _managed(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE)


def _split(desired: ApplyServing) -> dict[str, int]:
    split = {desired.baseline.revision: 100 - desired.canary_percent}
    if desired.canary is not None:
        split[desired.canary.revision] = split.get(desired.canary.revision, 0) + (
            desired.canary_percent
        )
    return {revision: percent for revision, percent in split.items() if percent > 0}


def _revision_failed(ref: DeploymentRef, spec: RevisionSpec, why: str) -> ApplicationError:
    return permanent(
        "RevisionFailed",
        f"revision {spec.revision} of {ref.model_id} ({ref.namespace}/{ref.name}) did not "
        f"become ready: {why}; the traffic stays where it was",
    )


class KubeServingActivities:
    """Deploy, split, promote, roll back and remove KServe InferenceServices.

    Args:
        api: The Kubernetes adapter.
        credentials: Resolves the deployment's storage credentials Secret (for KServe's
            storage Secret, and to read ``input_example.json``).
        ready_timeout_seconds: How long a new revision may take to become ready.
        probe_deadline_seconds: How long an unreachable test inference is retried.
        round_seconds: Longest single watch while waiting (heartbeats come between).
    """

    def __init__(
        self,
        api: KubeApi,
        credentials: CredentialResolver,
        *,
        ready_timeout_seconds: float = 600.0,
        probe_deadline_seconds: float = 60.0,
        round_seconds: int = 4,
    ) -> None:
        self._api = api
        self._credentials = credentials
        self._ready_timeout = ready_timeout_seconds
        self._probe_deadline = probe_deadline_seconds
        self._round = round_seconds

    # -- activities -------------------------------------------------------------------------

    @activity.defn(name=ActivityName.SERVE_APPLY)
    async def apply(self, desired: ApplyServing) -> ServingStatus:
        """Bring the deployment to the desired revisions and split (idempotent).

        Raises:
            ApplicationError: ``RevisionFailed`` (non-retryable) when a new revision fails,
                is not ready in time or fails its test inference; the traffic is unchanged.
        """
        try:
            return await self._apply(desired)
        except ValueError as error:
            raise permanent("UnsupportedModelDeploymentException", str(error)) from None
        except KubeError as err:
            raise to_application_error(err) from None

    @activity.defn(name=ActivityName.SERVE_METRICS)
    async def metrics(self, deployment: DeploymentRef) -> DeploymentMetrics:
        """Cumulative request counters per Kaptain revision (empty when nothing serves).

        Each Knative revision's queue-proxy metrics are read through the API server's
        service proxy.
        """
        try:
            found: DeploymentMetrics = await self._api.run(self._metrics, deployment)
        except KubeError as err:
            raise to_application_error(err) from None
        return found

    @activity.defn(name=ActivityName.SERVE_DELETE)
    async def delete(self, deployment: DeploymentRef) -> None:
        """Delete the InferenceService, its storage Secret and ServiceAccount.

        Only objects Kaptain manages are deleted; missing ones are fine.
        """
        account = serving_account_name(deployment)
        targets = [
            (INFERENCE_SERVICES, deployment.name),
            (SECRETS, account),
            (SERVICE_ACCOUNTS, account),
        ]
        try:
            for res, name in targets:
                await self._api.run(self._delete_managed, res, deployment.namespace, name)
        except KubeError as err:
            raise to_application_error(err) from None

    # -- apply ------------------------------------------------------------------------------

    async def _apply(self, desired: ApplyServing) -> ServingStatus:
        ref, baseline, canary = desired.deployment, desired.baseline, desired.canary
        goal = _split(desired)
        await self._ensure_access(ref)
        view = await self._view(ref)
        if view is not None and self._satisfied(view, desired, goal):
            return await self._status(ref, view, goal)
        baseline_stale = canary is None and self._has_spec(ref, view, baseline, revision_only=True)
        if (
            view is None
            or view.rolled_out_revision != baseline.revision
            or (baseline_stale and not self._has_spec(ref, view, baseline))
        ):
            if view is None or not self._has_spec(ref, view, baseline):
                rolled_out = view.rolled_out_revision if view is not None else None
                view = await self._write(
                    ref,
                    baseline,
                    previous=rolled_out,
                    percent=0 if view is not None and view.rolled_out else None,
                )
            view = await self._ready_and_tested(ref, baseline, view)
            view = await self._set_percent(ref, None, {baseline.revision: 100})
        if canary is not None:
            if not self._has_spec(ref, view, canary):
                view = await self._write(ref, canary, previous=baseline.revision, percent=0)
            view = await self._ready_and_tested(ref, canary, view)
            view = await self._set_percent(ref, desired.canary_percent, goal)
        elif view.spec_revision != baseline.revision:
            view = await self._set_percent(ref, 0, goal)  # the canary is retired
        elif view.canary_percent is not None:
            view = await self._set_percent(ref, None, goal)
        return await self._status(ref, view, goal)

    @staticmethod
    def _has_spec(
        ref: DeploymentRef,
        view: ServiceView | None,
        spec: RevisionSpec,
        *,
        revision_only: bool = False,
    ) -> bool:
        """Whether the InferenceService's spec is ``spec`` (or only of its revision)."""
        if view is None or view.spec_revision != spec.revision:
            return False
        return revision_only or view.spec_hash == spec_hash(spec, serving_account_name(ref))

    def _satisfied(self, view: ServiceView, desired: ApplyServing, goal: dict[str, int]) -> bool:
        ref = desired.deployment
        if not view.current or view.kaptain_traffic() != goal:
            return False
        if desired.canary is not None:
            return (
                self._has_spec(ref, view, desired.canary)
                and view.latest_is_ready
                and view.canary_percent == desired.canary_percent
            )
        if self._has_spec(ref, view, desired.baseline):
            return view.canary_percent is None
        return view.spec_revision != desired.baseline.revision and view.canary_percent == 0

    async def _view(self, ref: DeploymentRef) -> ServiceView | None:
        try:
            obj = await self._api.run(self._api.get, INFERENCE_SERVICES, ref.namespace, ref.name)
        except NotFound:
            return None
        self._check_owner(ref, obj)
        return ServiceView.of(obj)

    @staticmethod
    def _check_owner(ref: DeploymentRef, obj: Mapping[str, Any]) -> None:
        if not _managed(obj):
            raise permanent(
                "ModelDeploymentException",
                f"an InferenceService {ref.namespace}/{ref.name} not managed by Kaptain exists",
            )

    async def _write(
        self, ref: DeploymentRef, spec: RevisionSpec, *, previous: str | None, percent: int | None
    ) -> ServiceView:
        """Create or replace the InferenceService with ``spec``; returns the view written."""
        manifest = inference_service(ref, spec, previous_revision=previous, canary_percent=percent)
        activity.logger.info(
            "Writing InferenceService %s/%s for revision %s (canaryTrafficPercent %s)",
            ref.namespace, ref.name, spec.revision, percent,
        )  # fmt: skip
        for _ in range(_WRITE_ATTEMPTS):
            try:
                current = await self._api.run(
                    self._api.get, INFERENCE_SERVICES, ref.namespace, ref.name
                )
            except NotFound:
                try:
                    written = await self._api.run(
                        self._api.create, INFERENCE_SERVICES, ref.namespace, manifest
                    )
                except Conflict:
                    continue  # created meanwhile: read it and replace it
                return ServiceView.of(written)
            self._check_owner(ref, current)
            body = {**manifest, "metadata": {**manifest["metadata"]}}
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                written = await self._api.run(
                    self._api.replace, INFERENCE_SERVICES, ref.namespace, ref.name, body
                )
            except Conflict:
                continue  # changed meanwhile (KServe's webhook, status): read again
            return ServiceView.of(written)
        raise TemporaryKubeError(
            409, "update", INFERENCE_SERVICES.name, ref.namespace, "kept changing while written"
        )

    async def _wait(
        self,
        ref: DeploymentRef,
        done: Callable[[dict[str, Any]], ServiceView | None],
        on_timeout: Callable[[ServiceView | None], ApplicationError],
    ) -> ServiceView:
        deadline = time.monotonic() + self._ready_timeout

        async def between(version: str, latest: dict[str, Any] | None) -> None:
            activity.heartbeat(version)
            if time.monotonic() >= deadline:
                raise on_timeout(ServiceView.of(latest) if latest else None)

        return await wait_for(
            self._api,
            INFERENCE_SERVICES,
            ref.namespace,
            ref.name,
            done=done,
            between=between,
            round_seconds=self._round,
        )

    async def _ready_and_tested(
        self, ref: DeploymentRef, spec: RevisionSpec, written: ServiceView
    ) -> ServiceView:
        """Wait until the spec's revision is ready or failed; then the test inference."""
        generation = written.generation

        def settled(obj: dict[str, Any]) -> ServiceView | None:
            view = ServiceView.of(obj)
            if view.observed_generation < generation or not view.latest_created:
                return None
            if view.latest_failure() is not None:
                return view
            if view.latest_is_ready and view.tagged_url(view.latest_created):
                return view
            return None

        def timed_out(view: ServiceView | None) -> ApplicationError:
            why = f"not ready within {self._ready_timeout:g} s"
            if view is not None:
                reason = view.conditions.get("PredictorReady") or {}
                if reason.get("message"):
                    why += f" (PredictorReady: {reason.get('reason')}: {reason.get('message')})"
            return _revision_failed(ref, spec, why)

        view = await self._wait(ref, settled, timed_out)
        failure = view.latest_failure()
        if failure is not None:
            raise _revision_failed(ref, spec, failure)
        assert view.latest_created is not None
        url = view.tagged_url(view.latest_created)
        assert url is not None
        try:
            answer = await asyncio.to_thread(self._probe, ref, spec, url)
        except ProbeFailed as error:
            raise _revision_failed(ref, spec, str(error)) from None
        activity.logger.info("Revision %s answered the test inference: %s", spec.revision, answer)
        return view

    def _probe(self, ref: DeploymentRef, spec: RevisionSpec, url: str) -> str:
        example = example_payload(spec.model_uri, self._storage_credentials(ref))
        return probe_revision(
            url, ref.name, spec.protocol, example, deadline_seconds=self._probe_deadline
        )

    async def _set_percent(
        self, ref: DeploymentRef, percent: int | None, goal: dict[str, int]
    ) -> ServiceView:
        """Set ``canaryTrafficPercent`` and wait until the split ``goal`` is in effect."""
        patched = await self._api.run(
            self._api.merge_patch,
            INFERENCE_SERVICES,
            ref.namespace,
            ref.name,
            canary_patch(percent),
        )
        generation = ServiceView.of(patched).generation

        def in_effect(obj: dict[str, Any]) -> ServiceView | None:
            view = ServiceView.of(obj)
            if view.observed_generation >= generation and view.kaptain_traffic() == goal:
                return view
            return None

        def timed_out(view: ServiceView | None) -> ApplicationError:
            seen = view.kaptain_traffic() if view is not None else {}
            return permanent(
                "ModelDeploymentException",
                f"the traffic of {ref.namespace}/{ref.name} did not reach {goal} within "
                f"{self._ready_timeout:g} s (in effect: {seen})",
            )

        return await self._wait(ref, in_effect, timed_out)

    async def _status(
        self, ref: DeploymentRef, view: ServiceView, goal: dict[str, int]
    ) -> ServingStatus:
        pods = await self._api.run(
            self._api.list, PODS, ref.namespace, label_selector=f"{ISVC_LABEL}={ref.name}"
        )
        replicas: dict[str, int] = {}
        for pod in pods.items:
            knative = ((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
            revision = view.kaptain_revision(knative)
            if revision is not None and _pod_ready(pod):
                replicas[revision] = replicas.get(revision, 0) + 1
        traffic = view.kaptain_traffic()
        return ServingStatus(
            url=view.url or "", traffic=traffic, ready=traffic == goal, replicas=replicas
        )

    # -- access -----------------------------------------------------------------------------

    def _storage_credentials(self, ref: DeploymentRef) -> dict[str, str] | None:
        if ref.storage.credentials_ref is None:
            return None
        return self._credentials.get(ref.storage.credentials_ref, ref.storage.credentials_namespace)

    async def _ensure_access(self, ref: DeploymentRef) -> None:
        """The storage Secret (KServe's S3 annotations) and the ServiceAccount carrying it."""
        credentials = await asyncio.to_thread(self._storage_credentials, ref)
        account = serving_service_account(ref)
        if credentials is not None:
            await self._upsert(SECRETS, ref.namespace, serving_secret(ref, credentials))
        else:
            account.pop("secrets")
        await self._upsert(SERVICE_ACCOUNTS, ref.namespace, account)

    async def _upsert(self, res: Resource, namespace: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        for _ in range(_WRITE_ATTEMPTS):
            try:
                await self._api.run(self._api.create, res, namespace, body)
                return
            except Conflict:
                pass
            existing = await self._api.run(self._api.get, res, namespace, name)
            if not _managed(existing):
                raise permanent(
                    "ModelDeploymentException",
                    f"a {res.name} {namespace}/{name} not managed by Kaptain exists",
                )
            if _same(existing, body):
                return
            replacement = {**body, "metadata": {**body["metadata"]}}
            replacement["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            try:
                await self._api.run(self._api.replace, res, namespace, name, replacement)
                return
            except (Conflict, NotFound):
                continue
        raise TemporaryKubeError(409, "update", res.name, namespace, f"{name} kept changing")

    # -- metrics and delete (blocking) ------------------------------------------------------

    def _metrics(self, ref: DeploymentRef) -> DeploymentMetrics:
        try:
            obj = self._api.get(INFERENCE_SERVICES, ref.namespace, ref.name)
        except NotFound:
            return DeploymentMetrics()
        view = ServiceView.of(obj)
        found: dict[str, RevisionMetrics] = {}
        for knative, revision in view.knative_revisions().items():
            try:
                text = self._api.service_proxy_get(
                    ref.namespace, f"{knative}-private:http-usermetric", "metrics"
                )
            except (NotFound, TemporaryKubeError) as err:
                if err.status not in (404, 503):
                    raise
                continue  # scaled to zero or gone: nothing to count
            parsed = parse_deployment_metrics(text, f"{ref.name}-predictor", ref.namespace)
            counters = parsed.revisions.get(knative)
            if counters is not None:
                found[revision] = _add(found.get(revision), counters)
        return DeploymentMetrics(revisions=found)

    def _delete_managed(self, res: Resource, namespace: str, name: str) -> None:
        try:
            existing = self._api.get(res, namespace, name)
        except NotFound:
            return
        if not _managed(existing):
            activity.logger.warning(
                "Leaving %s %s/%s: not managed by Kaptain", res.name, namespace, name
            )
            return
        self._api.delete(res, namespace, name)


def _same(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "metadata":
            meta = existing.get("metadata") or {}
            for part in ("labels", "annotations"):
                have = meta.get(part) or {}
                if any(have.get(k) != v for k, v in (value.get(part) or {}).items()):
                    return False
        elif existing.get(key) != value:
            return False
    return True


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _add(total: RevisionMetrics | None, more: RevisionMetrics) -> RevisionMetrics:
    if total is None:
        return more
    buckets = dict(total.latency_buckets)
    for bound, count in more.latency_buckets.items():
        buckets[bound] = buckets.get(bound, 0) + count
    return RevisionMetrics(
        requests=total.requests + more.requests,
        errors=total.errors + more.errors,
        latency_buckets=buckets,
    )
