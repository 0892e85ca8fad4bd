"""What a ``kaptain.utils`` delete will do, decided from an overview (pure, no I/O).

A plan lists the runs to cancel (a running job's own run, so that its cleanup runs and
nothing restarts it), the deployments to undeploy through their ServeModel workflow, and the
platform objects to delete. Names are looked up only among what Kaptain created, so a name
it did not create is reported exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kaptain.contracts.inventory import ManagedResource, ResourceKind, ResourceRef, RunRef
from kaptain.exceptions import ResourceNotFoundException
from kaptain.utils.overview import JOB_KINDS, Deployment, Experiment, Overview, RunInfo, is_trial

_CHANGING = "deploying"
"""Serving phase of a deployment being rolled out (never deleted without ``force``)."""


@dataclass
class DeletePlan:
    """Runs to cancel, deployments to undeploy and objects to delete.

    Attributes:
        what: Readable words for the run's id and summary (``pytorchjob-dev-mnist-1a2b``).
        resources: Platform objects, deleted one by one after their labels are checked.
        cancel: Runs still using them.
        undeploy: ServeModel runs to send the ``undeploy`` update to.
    """

    what: str
    resources: list[ResourceRef] = field(default_factory=list)
    cancel: list[RunRef] = field(default_factory=list)
    undeploy: list[RunInfo] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to do."""
        return not (self.resources or self.cancel or self.undeploy)

    def describe(self) -> list[str]:
        """One line per thing the plan removes (for dry runs and messages)."""
        lines = [f"inferenceservice/{model_name(run)} (undeploy)" for run in self.undeploy]
        lines += [f"{ref.kind.value}/{ref.name}" for ref in self.resources]
        return lines

    def merge(self, other: DeletePlan) -> DeletePlan:
        """Both plans as one (each object once)."""
        merged = DeletePlan(self.what, list(self.resources), list(self.cancel), list(self.undeploy))
        merged.resources += [r for r in other.resources if r not in merged.resources]
        merged.cancel += [c for c in other.cancel if c not in merged.cancel]
        merged.undeploy += [u for u in other.undeploy if u not in merged.undeploy]
        return merged


def model_name(run: RunInfo) -> str:
    """The deployment name of a ServeModel run."""
    from kaptain.contracts.names import model_slug

    parts = run.workflow_id.split("/")
    return model_slug(run.model_id or "/".join(parts[2:-1]))


def _missing(kind: str, name: str, namespace: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"no {kind} named {name!r} created by Kaptain in namespace {namespace!r} "
        "(Kaptain never touches what it did not create; see kaptain.utils.diagnose())"
    )


def find_job(overview: Overview, name: str, kind: ResourceKind | None) -> ManagedResource:
    """The job named ``name`` (of ``kind``, when given).

    Raises:
        ResourceNotFoundException: Kaptain created no such job.
    """
    kinds = (kind,) if kind else JOB_KINDS
    for job in overview.of_kind(*kinds):
        if job.name == name:
            return job
    raise _missing(kind.value if kind else "job", name, overview.namespace)


def find_experiment(overview: Overview, name: str) -> Experiment:
    """The experiment named ``name``.

    Raises:
        ResourceNotFoundException: No such experiment.
    """
    for experiment in overview.experiments():
        if experiment.name == name:
            return experiment
    raise _missing("experiment", name, overview.namespace)


def find_deployment(overview: Overview, name: str) -> Deployment:
    """The inference service named ``name`` (a model id is accepted too).

    Raises:
        ResourceNotFoundException: No such inference service.
    """
    for deployment in overview.deployments():
        if name in (deployment.name, deployment.model_id):
            return deployment
    raise _missing("inferenceservice", name, overview.namespace)


def _ref(item: ManagedResource, namespace: str) -> ResourceRef:
    return ResourceRef(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace or namespace,
        model_id=item.model_id,
    )


def jobs_plan(overview: Overview, jobs: list[ManagedResource], what: str) -> DeletePlan:
    """Delete ``jobs``, cancelling the runs of those still running first."""
    plan = DeletePlan(what)
    for job in jobs:
        plan.resources.append(_ref(job, overview.namespace))
        run = None if job.finished else overview.owner_run(job)
        if (
            run is not None
            and RunRef(workflow_id=run.workflow_id, run_id=run.run_id) not in plan.cancel
        ):
            plan.cancel.append(RunRef(workflow_id=run.workflow_id, run_id=run.run_id))
    return plan


def experiments_plan(overview: Overview, experiments: list[Experiment], what: str) -> DeletePlan:
    """Delete the experiments' trial jobs, cancelling a TuneModel run in progress first."""
    plan = DeletePlan(what)
    for experiment in experiments:
        if experiment.run is not None and experiment.run.running:
            plan.cancel.append(
                RunRef(workflow_id=experiment.run.workflow_id, run_id=experiment.run.run_id)
            )
        plan.resources += [_ref(job, overview.namespace) for job in experiment.trials]
    return plan


def deployments_plan(overview: Overview, deployments: list[Deployment], what: str) -> DeletePlan:
    """Undeploy through the ServeModel workflow when it runs; else delete the platform's."""
    plan = DeletePlan(what)
    for deployment in deployments:
        if deployment.run is not None:
            plan.undeploy.append(deployment.run)
        elif deployment.resource is not None:
            ref = _ref(deployment.resource, overview.namespace)
            plan.resources.append(ref.model_copy(update={"model_id": deployment.model_id}))
    return plan


def stale_plan(overview: Overview, what: str = "clean") -> DeletePlan:
    """Delete the stale Secrets and ServiceAccounts."""
    return DeletePlan(what, [_ref(item, overview.namespace) for item in overview.stale()])


def all_plan(overview: Overview, what: str = "clean-all") -> DeletePlan:
    """Delete every workload and resource Kaptain created (``clean_all(force=True)``)."""
    stale_kinds = (ResourceKind.SECRET, ResourceKind.SERVICEACCOUNT)
    return (
        jobs_plan(overview, [j for j in overview.jobs() if not is_trial(j)], what)
        .merge(experiments_plan(overview, overview.experiments(), what))
        .merge(deployments_plan(overview, overview.deployments(), what))
        .merge(
            DeletePlan(what, [_ref(i, overview.namespace) for i in overview.of_kind(*stale_kinds)])
        )
    )


def deletable_jobs(overview: Overview, force: bool) -> list[ManagedResource]:
    """Jobs ``delete_jobs`` removes: finished ones (all with ``force``), trials' excepted."""
    return [j for j in overview.jobs() if not is_trial(j) and (force or j.finished)]


def deletable_experiments(overview: Overview, force: bool) -> list[Experiment]:
    """Experiments ``delete_experiments`` removes: finished ones (all with ``force``)."""
    return [e for e in overview.experiments() if force or e.finished]


def deletable_deployments(overview: Overview, force: bool) -> list[Deployment]:
    """Inference services ``delete_inference_services`` removes: not ready ones, or all.

    Without ``force`` a deployment being rolled out is kept.
    """
    return [d for d in overview.deployments() if force or not (d.ready or d.status == _CHANGING)]


def completed_plan(overview: Overview, what: str = "clean-completed") -> DeletePlan:
    """Finished jobs and experiments, not-ready inference services (``clean_all()``)."""
    return (
        jobs_plan(overview, deletable_jobs(overview, False), what)
        .merge(experiments_plan(overview, deletable_experiments(overview, False), what))
        .merge(deployments_plan(overview, deletable_deployments(overview, False), what))
    )
