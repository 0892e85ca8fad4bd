"""The batch/v1 Job controller, simulated: pods named ``<job>-<random5>`` (label
``job-name``), ``active``/``ready``/``succeeded``/``failed`` counts, conditions
``Complete``/``Failed`` (with ``SuccessCriteriaMet``/``FailureTarget`` first, as 1.31 does),
``backoffLimit`` (a failed pod is replaced until more than ``backoffLimit`` failed),
``activeDeadlineSeconds`` and ``ttlSecondsAfterFinished``. ``completions``/``parallelism``
keep up to ``parallelism`` pods running until ``completions`` succeeded."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from kubeemu import resources
from kubeemu.controllers.base import Controller
from kubeemu.errors import ApiError
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, clone, is_owned_by, now_iso, owner_reference

PODS = resources.resolve("pods")
JOBS = resources.resolve("jobs")
COMPONENT = "job-controller"


def _true(conditions: list[JSON], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def _condition(type_: str, reason: str, message: str) -> JSON:
    now = now_iso()
    return {
        "type": type_,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


class JobController(Controller):
    """Reconciles batch/v1 Jobs (see the module docstring).

    Args:
        backoff: Seconds before replacing the first failed pod (doubling per failure; the
            real controller starts at 10 s).
    """

    owned = (JOBS,)
    watched = (PODS,)

    def __init__(self, *args: Any, backoff: float = 0.2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = backoff
        self._last_failure: dict[str, float] = {}

    def make_pod(self, job: JSON) -> JSON:
        """A pod from the job's template."""
        template = clone(job["spec"].get("template") or {})
        metadata = template.get("metadata") or {}
        labels = dict(metadata.get("labels") or {})
        labels.setdefault("job-name", job["metadata"]["name"])
        labels.setdefault("batch.kubernetes.io/job-name", job["metadata"]["name"])
        pod_meta: JSON = {
            "generateName": f"{job['metadata']['name']}-",
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(job)],
        }
        if metadata.get("annotations"):
            pod_meta["annotations"] = metadata["annotations"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": template.get("spec") or {},
        }

    def reconcile(self, rt: ResourceType, job: JSON) -> None:
        """One pass over a Job."""
        metadata = job["metadata"]
        name, namespace, uid = metadata["name"], metadata["namespace"], metadata["uid"]
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        conditions = status.get("conditions") or []
        if _true(conditions, "Complete") or _true(conditions, "Failed"):
            self._expire(rt, job)
            return
        pods = [p for p in self.store.items(PODS, namespace) if is_owned_by(p, uid)]
        phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
        active = [
            p for p, phase in zip(pods, phases, strict=True) if phase not in ("Succeeded", "Failed")
        ]
        succeeded = phases.count("Succeeded")
        failed = phases.count("Failed")
        if spec.get("suspend"):
            return
        completions = int(spec.get("completions") or 1)
        parallelism = int(spec.get("parallelism") or 1)
        backoff_limit = int(spec.get("backoffLimit", 6))
        deadline = spec.get("activeDeadlineSeconds")
        if not status.get("startTime"):
            self.mark(uid, "start")
        running_for = self.elapsed(uid, "start", status.get("startTime"))
        verdict: tuple[str, str, str] | None = None
        if deadline is not None and running_for is not None and running_for >= float(deadline):
            verdict = (
                "Failed",
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            )
        elif failed > backoff_limit:
            verdict = (
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
        elif succeeded >= completions:
            verdict = (
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
        if verdict is None:
            missing = min(parallelism, completions - succeeded) - len(active)
            if failed and missing > 0:
                wait = self.backoff * 2 ** (failed - 1)
                first_seen = self._last_failure.setdefault(f"{uid}/{failed}", time.monotonic())
                if time.monotonic() - first_seen < wait:
                    missing = 0
            for _ in range(max(0, missing)):
                try:
                    created, _ = self.api.create(PODS, namespace, self.make_pod(job))
                except ApiError as error:
                    self.event(
                        job,
                        "Warning",
                        "FailedCreate",
                        f"Error creating: {error.message}",
                        COMPONENT,
                    )
                    break
                active.append(created)
                self.event(
                    job,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    COMPONENT,
                )
        else:
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, namespace, pod["metadata"]["name"])
            active = []
        ready = sum(1 for p in active if (p.get("status") or {}).get("phase") == "Running")

        def change(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != uid:
                return None
            state = current.setdefault("status", {})
            state.setdefault("startTime", now_iso())
            state["active"] = len(active)
            state["ready"] = ready
            state["terminating"] = 0
            state["uncountedTerminatedPods"] = {}
            for key, value in (("succeeded", succeeded), ("failed", failed)):
                if value:
                    state[key] = value
            if verdict is not None:
                kind, reason, message = verdict
                extra = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
                state["conditions"] = [
                    *(state.get("conditions") or []),
                    _condition(extra, reason, message),
                    _condition(kind, reason, message),
                ]
                if kind == "Complete":
                    state["completionTime"] = now_iso()
            return current

        self.store.mutate(rt, namespace, name, change)
        if verdict is not None:
            self.mark(uid, "finish")
            kind, reason, message = verdict
            if kind == "Complete":
                self.event(job, "Normal", "Completed", "Job completed", COMPONENT)
            else:
                self.event(job, "Warning", reason, message, COMPONENT)

    def _expire(self, rt: ResourceType, job: JSON) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        conditions = (job.get("status") or {}).get("conditions") or []
        finished = next(
            (
                c.get("lastTransitionTime")
                for c in conditions
                if c.get("type") in ("Complete", "Failed")
            ),
            None,
        )
        done_for = self.elapsed(job["metadata"]["uid"], "finish", finished)
        if done_for is not None and done_for >= float(ttl):
            with contextlib.suppress(ApiError):
                self.api.remove_cascading(
                    rt, job["metadata"]["namespace"], job["metadata"]["name"], "Foreground"
                )
