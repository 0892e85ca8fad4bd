"""Kubernetes training jobs: PyTorchJob / TFJob created idempotently, watched, cleaned up."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.kubernetes.api import PODS, PYTORCHJOBS, TFJOBS, KubeApi, Resource
from kaptain.activities.kubernetes.errors import (
    Conflict,
    Invalid,
    KubeError,
    NotFound,
    to_application_error,
)
from kaptain.activities.kubernetes.manifests import training_job
from kaptain.activities.kubernetes.manifests.training import KINDS
from kaptain.activities.kubernetes.pods import StuckPods
from kaptain.activities.kubernetes.watching import wait_for
from kaptain.activities.metrics import parse_metrics
from kaptain.activities.replica_env import replica_names
from kaptain.contracts import ActivityName, JobKind, JobOutcome, JobRef, JobSpec, WaitJobInput

_REVISION_LABEL = "kaptain.d2iq.io/revision"
_JOB_NAME_LABEL = "training.kubeflow.org/job-name"
_TAIL_LINES = 30


def resource_of(kind: JobKind) -> Resource:
    """The API resource of a job kind."""
    return PYTORCHJOBS if kind is JobKind.PYTORCH else TFJOBS


def final_condition(job: dict[str, Any]) -> str | None:
    """``Succeeded`` or ``Failed`` once the operator says so, else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Succeeded", "Failed"):
            return str(condition["type"])
    return None


def condition_message(job: dict[str, Any], kind: str) -> str:
    """The message of the job's condition of type ``kind``."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("message") or condition.get("reason") or kind)
    return kind


def failed_replica(pods: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The first pod with a container that exited non-zero, and how it ended.

    Args:
        pods: The job's pods, as the API lists them.

    Returns:
        ``(pod name, "container pytorch terminated: OOMKilled, exit code 137, ...")``, or None
        when no container failed.
    """
    for pod in pods:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated") or {}
            code = terminated.get("exitCode", 0)
            if code != 0:
                parts = [str(terminated.get("reason") or "Error"), f"exit code {code}"]
                if terminated.get("message"):
                    parts.append(str(terminated["message"]).strip())
                how = f"container {container.get('name', '?')} terminated: " + ", ".join(parts)
                return str(pod["metadata"]["name"]), how
    return None


class KubeJobActivities:
    """Start, wait for and delete Kubeflow training jobs.

    Args:
        api: The Kubernetes adapter.
        stuck_grace_seconds: How long a pod may stay unschedulable or unable to pull its
            image before the job fails with ``WorkloadDeploymentError``.
    """

    def __init__(self, api: KubeApi, *, stuck_grace_seconds: float = 60.0) -> None:
        self._api = api
        self._grace = stuck_grace_seconds

    @staticmethod
    def _ref(name: str, namespace: str, kind: JobKind, replicas: int) -> JobRef:
        container = KINDS[kind].container
        pods = [f"{name}-{replica}" for replica in replica_names(kind, replicas)]
        return JobRef(
            name=name,
            namespace=namespace,
            kind=kind,
            replicas=replicas,
            log_locations=[f"k8s://{namespace}/{pod}/{container}" for pod in pods],
        )

    @activity.defn(name=ActivityName.START_JOB)
    async def start_job(self, spec: JobSpec) -> JobRef:
        """Create the job; a retry finds it (409) and adopts it when it is this run's."""
        res = resource_of(spec.kind)
        manifest = training_job(spec, storage_secret=spec.storage.credentials_ref)
        try:
            try:
                await self._api.run(self._api.create, res, spec.namespace, manifest)
            except Conflict:
                existing = await self._api.run(self._api.get, res, spec.namespace, spec.name)
                labels = existing.get("metadata", {}).get("labels") or {}
                if labels.get(_REVISION_LABEL) != spec.revision:
                    raise permanent(
                        "WorkloadDeploymentError",
                        f"a {spec.kind.value} named {spec.name} from another run exists",
                    ) from None
                activity.logger.info("Adopting the existing %s %s", spec.kind.value, spec.name)
        except KubeError as err:
            raise to_application_error(err) from None
        return self._ref(spec.name, spec.namespace, spec.kind, spec.replicas)

    @activity.defn(name=ActivityName.WAIT_JOB)
    async def wait_job(self, wait: WaitJobInput) -> JobOutcome:
        """Watch the job to its end; a pod that cannot start fails it after a grace period.

        Raises:
            ApplicationError: ``WorkloadDeploymentError`` for an unschedulable workload or an
                image that cannot be pulled.
        """
        job = wait.job
        stuck = StuckPods(self._api, self._grace)

        async def between(version: str, _latest: dict[str, Any] | None) -> None:
            activity.heartbeat(version)
            await self._api.run(
                stuck.check, job.namespace, f"{_JOB_NAME_LABEL}={job.name}", job.name
            )

        details = activity.info().heartbeat_details
        try:
            final = await wait_for(
                self._api,
                resource_of(job.kind),
                job.namespace,
                job.name,
                done=final_condition,
                between=between,
                resource_version=str(details[0]) if details else None,
                round_seconds=max(1, min(4, int(self._grace / 2))),
            )
            outcome: JobOutcome = await self._api.run(self._outcome, job, final)
            return outcome
        except KubeError as err:
            raise to_application_error(err) from None

    def _outcome(self, job: JobRef, final: str) -> JobOutcome:
        container = KINDS[job.kind].container
        leader = f"{job.name}-{replica_names(job.kind, 1)[0]}"
        leader_log = self._api.read_log(
            job.namespace, leader, container=container, tail_lines=10000
        )
        metrics = parse_metrics(leader_log.splitlines())
        if final == "Succeeded":
            return JobOutcome(
                succeeded=True,
                reason="Succeeded",
                message=f"all {job.replicas} replicas succeeded",
                metrics=metrics,
            )
        obj = self._api.get(resource_of(job.kind), job.namespace, job.name)
        pods = self._api.list(
            PODS, job.namespace, label_selector=f"{_JOB_NAME_LABEL}={job.name}"
        ).items
        failing, how = failed_replica(pods) or (leader, "")
        tail = self._api.read_log(
            job.namespace, failing, container=container, tail_lines=_TAIL_LINES
        )
        detail = f"replica pod {failing}" + (f": {how}" if how else "")
        return JobOutcome(
            succeeded=False,
            reason="Failed",
            message=f"{condition_message(obj, 'Failed')} ({detail})",
            log_tail=tail.rstrip("\n"),
            metrics=metrics,
        )

    @activity.defn(name=ActivityName.JOB_METRICS)
    async def job_metrics(self, job: JobRef) -> dict[str, list[float]]:
        """Every ``name=value`` the leader pod printed so far ({} before it starts)."""
        container = KINDS[job.kind].container
        leader = f"{job.name}-{replica_names(job.kind, 1)[0]}"
        try:
            log: str = await self._api.run(
                self._api.read_log, job.namespace, leader, container=container, tail_lines=10000
            )
        except (NotFound, Invalid):
            return {}  # not created or not started yet
        except KubeError as err:
            raise to_application_error(err) from None
        return parse_metrics(log.splitlines())

    @activity.defn(name=ActivityName.DELETE_JOB)
    async def delete_job(self, job: JobRef) -> bool:
        """Delete the job (its pods go with it); False when it was gone."""
        try:
            deleted: bool = await self._api.run(
                self._api.delete, resource_of(job.kind), job.namespace, job.name
            )
        except KubeError as err:
            raise to_application_error(err) from None
        return deleted
