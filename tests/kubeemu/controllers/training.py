"""The Kubeflow Training Operator (``kubeflow.org/v1`` PyTorchJob and TFJob), simulated.

On create it adds the ``Created`` condition and one Pod per replica — ``<job>-master-0``
and ``<job>-worker-<i>`` (TFJob: ``<job>-chief-0``, ``<job>-worker-<i>``, ``<job>-ps-<i>``)
— from the replica template, owned by the job and labelled like the real operator
(``training.kubeflow.org/job-name``, ``replica-type`` (lowercase), ``replica-index``,
``operator-name``, ``job-role`` on the master/chief). It injects the operator's environment
into the containers: PyTorchJob ``MASTER_ADDR``, ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``
(master 0, worker i is i+1), ``PET_*`` and ``PYTHONUNBUFFERED``; TFJob ``TF_CONFIG`` (in
the ``tensorflow`` container).

Because the pods run for real as local processes, the addresses are local: ``MASTER_ADDR``
is ``127.0.0.1`` and ``MASTER_PORT`` (and every TF_CONFIG port) is a free local port picked
per job — not ``<job>-master-0:23456`` as in a cluster.

Status follows the pods: ``Running`` when every replica's pod runs, ``Succeeded`` when the
master/chief and all workers succeeded (the ``Running`` condition then turns ``False``),
``Failed`` as soon as any replica fails (no restarts, whatever the restartPolicy), with
``replicaStatuses``, ``startTime`` and ``completionTime``. ``runPolicy.activeDeadlineSeconds``
fails the job (reason ``DeadlineExceeded``) and deletes its running pods;
``runPolicy.cleanPodPolicy`` (``None`` by default) applies when it finishes;
``runPolicy.ttlSecondsAfterFinished`` deletes the job (and its pods) after it finishes.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from kubeemu import resources
from kubeemu.controllers.base import Controller
from kubeemu.errors import ApiError
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, clone, free_port, is_owned_by, now_iso, owner_reference
from kubeemu.validation.webhooks import DEFAULT_CONTAINERS, REPLICA_FIELDS

PODS = resources.resolve("pods")
PYTORCH_JOBS = resources.resolve("pytorchjobs")
TF_JOBS = resources.resolve("tfjobs")

JOB_NAME = "training.kubeflow.org/job-name"
REPLICA_TYPE = "training.kubeflow.org/replica-type"
REPLICA_INDEX = "training.kubeflow.org/replica-index"
OPERATOR_NAME = "training.kubeflow.org/operator-name"
JOB_ROLE = "training.kubeflow.org/job-role"

_ORDER = ("Master", "Chief", "Worker", "PS", "Evaluator")
_LEADERS = ("Master", "Chief")


def _true(conditions: list[JSON], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def set_job_condition(status: JSON, type_: str, reason: str, message: str) -> None:
    """The operator's ``updateJobConditions``: replace the type's condition (kept as is when
    unchanged), turn ``Running`` to False when the job succeeds or fails, append at the end."""
    conditions: list[JSON] = status.setdefault("conditions", [])
    for existing in conditions:
        if (
            existing.get("type") == type_
            and existing.get("status") == "True"
            and existing.get("reason") == reason
        ):
            return
    now = now_iso()
    kept: list[JSON] = []
    for existing in conditions:
        if existing.get("type") == type_:
            continue
        if (
            type_ in ("Succeeded", "Failed")
            and existing.get("type") == "Running"
            and existing.get("status") == "True"
        ):
            existing = {  # noqa: PLW2901 (a changed copy replaces the kept one)
                **existing,
                "status": "False",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            }
        kept.append(existing)
    kept.append(
        {
            "type": type_,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
        }
    )
    status["conditions"] = kept


def replica_list(kind: str, specs: JSON) -> list[tuple[str, int]]:
    """``(replica type, index)`` of every pod, master/chief first."""
    ordered = sorted(specs, key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER))
    return [
        (rtype, i) for rtype in ordered for i in range(int(specs[rtype].get("replicas", 1) or 0))
    ]


def pytorch_env(job: JSON, rtype: str, index: int, port: int) -> list[JSON]:
    """The variables the operator adds to every PyTorchJob container (local addresses)."""
    specs = job["spec"][REPLICA_FIELDS["PyTorchJob"]]
    total = sum(int(s.get("replicas", 1) or 0) for s in specs.values())
    nproc_text = str(job["spec"].get("nprocPerNode") or "1")
    nproc = int(nproc_text) if nproc_text.isdigit() else 1
    rank = index + 1 if rtype == "Worker" and "Master" in specs else index
    values = {
        "PYTHONUNBUFFERED": "1",
        "MASTER_PORT": str(port),
        "PET_MASTER_PORT": str(port),
        "MASTER_ADDR": "127.0.0.1",
        "PET_MASTER_ADDR": "127.0.0.1",
        "PET_NPROC_PER_NODE": nproc_text,
        "WORLD_SIZE": str(total * nproc),
        "RANK": str(rank),
        "PET_NODE_RANK": str(rank),
        "PET_NNODES": str(total),
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def tf_config(job: JSON, rtype: str, index: int, ports: dict[tuple[str, int], int]) -> str:
    """``TF_CONFIG`` for one TFJob replica (local addresses)."""
    cluster: dict[str, list[str]] = {}
    for (other, _), port in sorted(
        ports.items(), key=lambda kv: (_ORDER.index(kv[0][0]), kv[0][1])
    ):
        cluster.setdefault(other.lower(), []).append(f"127.0.0.1:{port}")
    return json.dumps(
        {
            "cluster": cluster,
            "task": {"type": rtype.lower(), "index": index},
            "environment": "cloud",
        }
    )


class TrainingOperator(Controller):
    """Reconciles PyTorchJobs and TFJobs (see the module docstring)."""

    owned = (PYTORCH_JOBS, TF_JOBS)
    watched = (PODS,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ports: dict[str, dict[tuple[str, int], int]] = {}

    def _job_ports(self, job: JSON, replicas: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        uid = job["metadata"]["uid"]
        if uid not in self._ports:
            self._ports[uid] = {replica: free_port() for replica in replicas}
        return self._ports[uid]

    def make_pod(
        self, job: JSON, rtype: str, index: int, ports: dict[tuple[str, int], int]
    ) -> JSON:
        """The pod of one replica, built from its template."""
        kind = job["kind"]
        name = job["metadata"]["name"]
        spec = job["spec"][REPLICA_FIELDS[kind]][rtype]
        template = clone(spec.get("template") or {})
        template_meta = template.get("metadata") or {}
        labels = dict(template_meta.get("labels") or {})
        labels.update(
            {
                JOB_NAME: name,
                OPERATOR_NAME: f"{kind.lower()}-controller",
                REPLICA_TYPE: rtype.lower(),
                REPLICA_INDEX: str(index),
            }
        )
        if rtype in _LEADERS:
            labels[JOB_ROLE] = rtype.lower()
        pod_spec = template.get("spec") or {}
        policy = spec.get("restartPolicy") or "Never"
        pod_spec["restartPolicy"] = "Never" if policy == "ExitCode" else policy
        for container in pod_spec.get("containers") or []:
            env = container.setdefault("env", [])
            if kind == "PyTorchJob":
                leader = next(iter(ports.values()))
                env.extend(pytorch_env(job, rtype, index, ports.get(("Master", 0), leader)))
            elif container.get("name") == DEFAULT_CONTAINERS["TFJob"]:
                env.append({"name": "TF_CONFIG", "value": tf_config(job, rtype, index, ports)})
        metadata: JSON = {
            "name": f"{name}-{rtype.lower()}-{index}",
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(job)],
        }
        if template_meta.get("annotations"):
            metadata["annotations"] = template_meta["annotations"]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}

    def reconcile(self, rt: ResourceType, job: JSON) -> None:
        """One pass over a training job."""
        if job["metadata"].get("deletionTimestamp"):
            return
        kind, name, namespace = job["kind"], job["metadata"]["name"], job["metadata"]["namespace"]
        uid = job["metadata"]["uid"]
        status = job.get("status") or {}
        conditions = status.get("conditions") or []
        pods = [p for p in self.store.items(PODS, namespace) if is_owned_by(p, uid)]
        if _true(conditions, "Succeeded") or _true(conditions, "Failed"):
            self._finished(rt, job, pods)
            return
        specs = (job.get("spec") or {}).get(REPLICA_FIELDS[kind]) or {}
        replicas = replica_list(kind, specs)
        ports = self._job_ports(job, replicas)
        by_name = {p["metadata"]["name"]: p for p in pods}
        for rtype, index in replicas:
            pod_name = f"{name}-{rtype.lower()}-{index}"
            if pod_name in by_name:
                continue
            try:
                created, _ = self.api.create(
                    PODS, namespace, self.make_pod(job, rtype, index, ports)
                )
            except ApiError as error:
                self.event(
                    job,
                    "Warning",
                    "FailedCreatePod",
                    f"Error creating: {error.message}",
                    "pytorchjob-controller" if kind == "PyTorchJob" else "tfjob-controller",
                )
                continue
            by_name[pod_name] = created
            self.event(
                job,
                "Normal",
                "SuccessfulCreatePod",
                f"Created pod: {pod_name}",
                f"{kind.lower()}-controller",
            )
        self._update_status(rt, job, replicas, by_name)

    def _update_status(
        self, rt: ResourceType, job: JSON, replicas: list[tuple[str, int]], pods: dict[str, JSON]
    ) -> None:
        kind, name, namespace = job["kind"], job["metadata"]["name"], job["metadata"]["namespace"]
        phases: dict[tuple[str, int], str] = {}
        for rtype, index in replicas:
            pod = pods.get(f"{name}-{rtype.lower()}-{index}")
            phases[(rtype, index)] = (
                ((pod or {}).get("status") or {}).get("phase", "Pending") if pod else "Missing"
            )
        replica_statuses: JSON = {}
        for rtype in dict.fromkeys(r for r, _ in replicas):
            mine = [phase for (r, _), phase in phases.items() if r == rtype]
            selector = ",".join(
                (
                    f"{JOB_NAME}={name}",
                    f"{OPERATOR_NAME}={kind.lower()}-controller",
                    f"{REPLICA_TYPE}={rtype.lower()}",
                )
            )
            entry: JSON = {"selector": selector}
            for key, phase in (
                ("active", "Running"),
                ("succeeded", "Succeeded"),
                ("failed", "Failed"),
            ):
                count = mine.count(phase)
                if count:
                    entry[key] = count
            replica_statuses[rtype] = entry
        failed = [(r, i) for (r, i), phase in phases.items() if phase == "Failed"]
        leaders = [key for key in phases if key[0] in _LEADERS] or list(phases)
        all_done = all(phase == "Succeeded" for phase in phases.values())
        running = all(phase in ("Running", "Succeeded") for phase in phases.values())
        uid = job["metadata"]["uid"]
        deadline = (job["spec"].get("runPolicy") or {}).get("activeDeadlineSeconds")
        if not (job.get("status") or {}).get("startTime"):
            self.mark(uid, "start")
        active_for = self.elapsed(uid, "start", (job.get("status") or {}).get("startTime"))
        past_deadline = (
            deadline is not None and active_for is not None and active_for >= float(deadline)
        )
        failure: tuple[str, str] | None = None
        if past_deadline:
            failure = (
                "DeadlineExceeded",
                f"{kind} {name} has failed because it was active longer than specified deadline",
            )
        elif failed:
            counts: dict[str, int] = {}
            for rtype, _ in failed:
                counts[rtype] = counts.get(rtype, 0) + 1
            rtype, count = next(iter(counts.items()))
            failure = (
                f"{kind}Failed",
                f"{kind} {namespace}/{name} is failed because {count} {rtype} replica(s) failed.",
            )

        def change(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != job["metadata"]["uid"]:
                return None
            status = current.setdefault("status", {})
            if not status.get("conditions"):
                set_job_condition(
                    status, "Created", f"{kind}Created", f"{kind} {namespace}/{name} is created."
                )
            status.setdefault("startTime", now_iso())
            status["replicaStatuses"] = replica_statuses
            if failure is not None:
                set_job_condition(status, "Failed", failure[0], failure[1])
                status.setdefault("completionTime", now_iso())
                self.mark(uid, "finish")
            elif all_done and all(phases[k] == "Succeeded" for k in leaders):
                set_job_condition(
                    status,
                    "Succeeded",
                    f"{kind}Succeeded",
                    f"{kind} {namespace}/{name} is successfully completed.",
                )
                status.setdefault("completionTime", now_iso())
                self.mark(uid, "finish")
            elif running:
                set_job_condition(
                    status, "Running", f"{kind}Running", f"{kind} {namespace}/{name} is running."
                )
            return current

        self.store.mutate(rt, namespace, name, change)
        if failure is not None and failure[0] == "DeadlineExceeded":
            self._delete_pods(pods.values(), only_active=True)

    def _delete_pods(self, pods: Any, *, only_active: bool) -> None:
        for pod in list(pods):
            phase = (pod.get("status") or {}).get("phase")
            if only_active and phase in ("Succeeded", "Failed"):
                continue
            with contextlib.suppress(ApiError):
                self.api.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _finished(self, rt: ResourceType, job: JSON, pods: list[JSON]) -> None:
        run_policy = job["spec"].get("runPolicy") or {}
        policy = run_policy.get("cleanPodPolicy") or "None"
        if policy == "All":
            self._delete_pods(pods, only_active=False)
        elif policy == "Running":
            self._delete_pods(pods, only_active=True)
        ttl = run_policy.get("ttlSecondsAfterFinished")
        done_for = self.elapsed(
            job["metadata"]["uid"], "finish", (job.get("status") or {}).get("completionTime")
        )
        if ttl is not None and done_for is not None and done_for >= float(ttl):
            with contextlib.suppress(ApiError):
                self.api.remove_cascading(
                    rt, job["metadata"]["namespace"], job["metadata"]["name"], "Background"
                )
            self._ports.pop(job["metadata"]["uid"], None)
