"""Find and clean up what Kaptain created: jobs, experiments, inference services, secrets.

Every function works on the platform the worker runs (local or Kubernetes) in the SDK's
namespace (``KAPTAIN_SDK_NAMESPACE``), and only ever sees and touches what Kaptain created
(Kubernetes objects labelled ``app.kubernetes.io/managed-by=kaptain``; on the local platform
the job directories and staged secrets under the worker's state directory). Listing runs a
read-only ``kaptain.ListResources`` workflow; deleting runs a durable
``kaptain.DeleteResources`` workflow (or a deployment's ``undeploy`` update), so the SDK
itself never acts on a platform.

Names that Kaptain did not create, or that do not exist, raise
:class:`~kaptain.exceptions.ResourceNotFoundException` (a ``ModelValidationException``);
unknown kinds raise :class:`~kaptain.exceptions.ModelValidationException` before anything is
looked up.
"""

from __future__ import annotations

from typing import Optional

from kaptain.client.portal import portal
from kaptain.exceptions import ModelValidationException
from kaptain.utils import operations, plans, views
from kaptain.utils.kinds import JOB_KIND_NAMES, RESOURCE_KIND_NAMES, parse_kind
from kaptain.utils.overview import Overview

__all__ = [
    "clean",
    "clean_all",
    "delete_experiment",
    "delete_experiments",
    "delete_inference_service",
    "delete_inference_services",
    "delete_job",
    "delete_jobs",
    "delete_resource",
    "diagnose",
    "list_all_resources",
    "list_experiments",
    "list_inference_services",
    "list_jobs",
]

_show = views.printer(print)


def _overview() -> Overview:
    return portal().run(operations.overview())


def _delete(build: operations.PlanBuilder, *, dry_run: bool = False) -> operations.Deletion:
    return portal().run(operations.delete(build, dry_run=dry_run))


def _report(deletion: operations.Deletion, nothing: str) -> None:
    lines = deletion.lines()
    print("\n".join(f"  {line}" for line in lines) if lines else nothing)


def _name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ModelValidationException(f"{what}: name must be a non-empty string, got {name!r}")
    return name.strip()


def _show_jobs(overview: Overview) -> None:
    _show("Jobs", [views.job_row(j) for j in overview.jobs()], "jobs")


def _show_experiments(overview: Overview) -> None:
    rows = [views.experiment_row(e) for e in overview.experiments()]
    _show("Experiments", rows, "experiments")


def _show_deployments(overview: Overview) -> None:
    rows = [views.deployment_row(d) for d in overview.deployments()]
    _show("Inference services", rows, "inferenceservices")


def diagnose() -> None:
    """List all managed resources for the current namespace.

    TfJobs, PyTorchJobs, Experiments and Inference Services, Secrets, Pods, and Service
    Accounts.
    """
    from kaptain.contracts.inventory import ResourceKind

    overview = _overview()
    print(f"Kaptain resources in namespace {overview.namespace}")
    _show_jobs(overview)
    _show_experiments(overview)
    _show_deployments(overview)
    for title, kind in (
        ("Secrets", ResourceKind.SECRET),
        ("Service accounts", ResourceKind.SERVICEACCOUNT),
        ("Pods", ResourceKind.POD),
    ):
        _show(title, [views.resource_row(i) for i in overview.of_kind(kind)], "resources")
    stale = overview.stale()
    if stale:
        names = ", ".join(f"{i.kind.value}/{i.name}" for i in stale)
        print(f"Stale (unused) resources: {names}; kaptain.utils.clean(force=True) removes them.")


def list_jobs() -> None:
    """List all training jobs in current namespace."""
    _show_jobs(_overview())


def delete_job(name: str, kind: Optional[str] = None) -> None:  # noqa: UP045 - seed signature
    """Deletes a training job based on provided name and kind.

    A running job's run is cancelled first, so its workflow cleans up after it.

    Args:
        name: job name
        kind: job kind (optional), e.g. "tfjob", "pytorchjob" of "job".

    Raises:
        ModelValidationException: ``kind`` is not one of those.
        ResourceNotFoundException: Kaptain created no such job in the namespace.
    """
    parsed = parse_kind(kind, JOB_KIND_NAMES, "delete_job") if kind is not None else None
    job_name = _name(name, "delete_job")

    def plan(overview: Overview) -> plans.DeletePlan:
        job = plans.find_job(overview, job_name, parsed)
        return plans.jobs_plan(overview, [job], f"{job.kind.value}-{job.name}")

    _report(_delete(plan), f"Nothing to delete for {job_name}.")


def list_experiments() -> None:
    """Lists Katib experiments (Kaptain's tuning experiments: TuneModel runs and their trials)."""
    _show_experiments(_overview())


def delete_experiment(name: str) -> None:
    """Deletes Katib experiment.

    A tuning experiment: its run is cancelled when it runs, its trial jobs are deleted.

    Args:
        name: Name of the experiment (``<model slug>-<revision[:8]>``, see
            :func:`list_experiments`).

    Raises:
        ResourceNotFoundException: No such experiment in the namespace.
    """
    experiment_name = _name(name, "delete_experiment")

    def plan(overview: Overview) -> plans.DeletePlan:
        experiment = plans.find_experiment(overview, experiment_name)
        return plans.experiments_plan(overview, [experiment], f"experiment-{experiment.name}")

    _report(_delete(plan), f"Experiment {experiment_name} has nothing left to delete.")


def list_inference_services() -> None:
    """Lists deployed inference services."""
    _show_deployments(_overview())


def delete_inference_service(name: str) -> None:
    """Deletes inference service (through its ServeModel workflow's ``undeploy`` when it runs).

    Args:
        name: Name of the inference service (e.g. ``dev-mnist``; the model id works too)

    Raises:
        ResourceNotFoundException: No such inference service in the namespace.
        ModelDeploymentException: The deployment could not be removed.
    """
    service = _name(name, "delete_inference_service")

    def plan(overview: Overview) -> plans.DeletePlan:
        deployment = plans.find_deployment(overview, service)
        return plans.deployments_plan(overview, [deployment], f"inferenceservice-{deployment.name}")

    _report(_delete(plan), f"Nothing to delete for {service}.")


def delete_jobs(force: bool = False) -> None:
    """Deletes all training jobs created by the SDK.

    Tuning trials' jobs are left to their experiment (see :func:`delete_experiments`).

    Args:
        force: If True, delete all (even running) jobs created by the SDK, otherwise, delete
            only completed jobs.
    """
    deletion = _delete(
        lambda o: plans.jobs_plan(o, plans.deletable_jobs(o, force), "jobs"), dry_run=False
    )
    _report(deletion, "No jobs to delete.")


def delete_experiments(force: bool = False) -> None:
    """Deletes all experiments created by the SDK.

    Args:
        force: If True, delete all (even running) experiments created by the SDK, otherwise,
            delete only completed experiments.
    """
    deletion = _delete(
        lambda o: plans.experiments_plan(o, plans.deletable_experiments(o, force), "experiments")
    )
    _report(deletion, "No experiments to delete.")


def delete_inference_services(force: bool = False) -> None:
    """Delete all inference services created by the SDK.

    Args:
        force: If True, delete all (even already deployed) inference services created by the
            SDK, otherwise, delete inference services with 'NotReady' status (except those
            being deployed right now).
    """
    deletion = _delete(
        lambda o: plans.deployments_plan(
            o, plans.deletable_deployments(o, force), "inferenceservices"
        )
    )
    _report(deletion, "No inference services to delete.")


def clean(force: bool = False) -> None:
    """Deletes stale resources.

    Such as Secrets and ServiceAccounts which are not used by any workloads (nor by a
    Kaptain run of their model in progress).

    WARNING: Use with caution! To prevent data loss, please first run this method without any
    arguments set and check whether the resources proposed by the method can be safely
    deleted.

    Args:
        force: If False, method only prints unused resource names without actually removing
            them.
    """
    deletion = _delete(plans.stale_plan, dry_run=not force)
    _report_clean(deletion, force)


def _report_clean(deletion: operations.Deletion, force: bool) -> None:
    if not force:
        lines = deletion.plan.describe()
        if not lines:
            print("No stale resources.")
            return
        print("Stale resources (dry run; clean(force=True) deletes them):")
    _report(deletion, "No stale resources.")


def clean_all(force: bool = False) -> None:
    """Deletes all completed workloads and stale Kubernetes resources created by the SDK.

    Args:
        force: If True, delete all (even running) workloads and resources created by the
            SDK, otherwise delete only completed workloads and prints stale resources
            (secrets and service accounts).
    """
    if force:
        _report(_delete(plans.all_plan), "Nothing to delete.")
        return
    print("Completed workloads:")
    _report(_delete(plans.completed_plan), "  (none)")
    _report_clean(_delete(plans.stale_plan, dry_run=True), force=False)


def list_all_resources() -> None:
    """Lists all deployed resources: TfJobs, PyTorchJobs, Experiments, Inference Services."""
    overview = _overview()
    _show_jobs(overview)
    _show_experiments(overview)
    _show_deployments(overview)


def delete_resource(kind: str, name: str) -> None:
    """Deletes a resource: a training job, an experiment or an inference service.

    Args:
        kind: Kind of the resource - one of "tfjob", "pytorchjob", "experiment" or
            "inferenceservice".
        name: Name of the resource

    Raises:
        ModelValidationException: ``kind`` is not one of those.
        ResourceNotFoundException: Kaptain created no such resource in the namespace.
    """
    from kaptain.contracts.inventory import ResourceKind

    parsed = parse_kind(kind, RESOURCE_KIND_NAMES, "delete_resource")
    if parsed is ResourceKind.EXPERIMENT:
        delete_experiment(name)
    elif parsed is ResourceKind.INFERENCESERVICE:
        delete_inference_service(name)
    else:
        delete_job(name, parsed.value)
