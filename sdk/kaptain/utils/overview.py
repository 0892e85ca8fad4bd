"""What Kaptain created in a namespace, as ``kaptain.utils`` shows it (pure, no I/O).

Two sources are combined: the platform's inventory (objects carrying Kaptain's labels, or
the local platform's job directories and staged secrets) and the Kaptain runs Temporal knows
(running TrainModel / TuneModel / TrialRun / BuildImage / ServeModel workflows, and every
TuneModel run for the experiments' outcome).

- A **job** is a training job (PyTorchJob, TFJob) or an image build Job.
- An **experiment** is one TuneModel run, named ``<model slug>-<revision[:8]>`` like its
  trials' jobs (``<...>-t<n>``): the run while it goes on, and its trial jobs afterwards.
- An **inference service** is a deployment: a running ServeModel workflow, and/or the
  platform's InferenceService of that name.
- A Secret or ServiceAccount is **stale** when no unfinished workload names it and no
  Kaptain run of its model is in progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kaptain.contracts.inventory import TRAINING_KINDS, ManagedResource, ResourceKind
from kaptain.contracts.names import WorkflowName, model_slug

JOB_KINDS = (*TRAINING_KINDS, ResourceKind.JOB)
"""Kinds ``list_jobs`` shows."""

STALE_KINDS = (ResourceKind.SECRET, ResourceKind.SERVICEACCOUNT)
"""Kinds ``clean`` considers."""

STALE_GRACE = timedelta(minutes=5)
"""A Secret younger than this is never stale: the SDK stages credentials just before it
starts the run that uses them."""

_TRIAL_SUFFIX = re.compile(r"-t(\d+)$")
_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class RunInfo:
    """One Kaptain workflow run, as Temporal's visibility reports it.

    Attributes:
        workflow_id: The workflow id.
        run_id: The run id.
        workflow_type: e.g. ``kaptain.TuneModel``.
        model_id: The ``KaptainModelId`` search attribute ("" when unset).
        revision: The ``KaptainRevision`` search attribute ("" when unset).
        status: ``Running``, ``Completed``, ``Failed``, ``Canceled``, ``Terminated``, ...
        started: When the run started.
    """

    workflow_id: str
    run_id: str
    workflow_type: str
    model_id: str = ""
    revision: str = ""
    status: str = "Running"
    started: datetime | None = None

    @property
    def running(self) -> bool:
        """The run is in progress."""
        return self.status == "Running"


@dataclass(frozen=True)
class Experiment:
    """One tuning experiment.

    Attributes:
        name: ``<model slug>-<revision[:8]>``.
        model_id: The model's id (its slug when only the platform knew it).
        revision: The experiment's revision.
        status: ``Running``, ``Succeeded``, ``Failed``, ``Canceled``, or ``Finished`` (no run
            recorded; every trial job ended).
        trials: The trial jobs still on the platform.
        run: The TuneModel run, when Temporal still has it.
    """

    name: str
    model_id: str
    revision: str
    status: str
    trials: tuple[ManagedResource, ...] = ()
    run: RunInfo | None = None

    @property
    def finished(self) -> bool:
        """Nothing of the experiment runs any more."""
        return self.status != "Running"


@dataclass(frozen=True)
class Deployment:
    """One inference service.

    Attributes:
        name: Its DNS name (``dev/mnist`` -> ``dev-mnist``).
        model_id: The model's id (its slug when only the platform knew it).
        status: ``Ready``, ``NotReady`` or the serving phase (``deploying``, ...).
        ready: Serving traffic.
        url: Its URL, when known.
        run: The ServeModel run, when one is in progress.
        resource: The platform's InferenceService, when there is one.
    """

    name: str
    model_id: str
    status: str
    ready: bool
    url: str = ""
    run: RunInfo | None = None
    resource: ManagedResource | None = None


@dataclass
class Overview:
    """Everything Kaptain created in one namespace.

    Attributes:
        namespace: The namespace.
        resources: The platform's inventory.
        runs: Kaptain's runs (every running one, and every TuneModel run).
        serving: Deployment name -> state reported by its running ServeModel workflow
            (``ready``, ``phase``, ``url``).
        taken_at: When the inventory was read (stale resources must be older than
            :data:`STALE_GRACE` then).
    """

    namespace: str
    resources: list[ManagedResource] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    serving: dict[str, dict[str, object]] = field(default_factory=dict)
    taken_at: datetime | None = None

    def of_kind(self, *kinds: ResourceKind) -> list[ManagedResource]:
        """The platform's objects of these kinds."""
        return [item for item in self.resources if item.kind in kinds]

    def jobs(self) -> list[ManagedResource]:
        """Training jobs (trials included) and image build Jobs."""
        return self.of_kind(*JOB_KINDS)

    def running_runs(self) -> list[RunInfo]:
        """The runs in progress."""
        return [run for run in self.runs if run.running]

    def owner_run(self, job: ManagedResource) -> RunInfo | None:
        """The running run a job belongs to: its TrialRun, TrainModel or BuildImage run."""
        for run in self.running_runs():
            if is_trial(job) and run.workflow_type == WorkflowName.TRIAL_RUN:
                if run.workflow_id == trial_workflow_id(job):
                    return run
            elif run.workflow_id == job.owner and (
                not job.revision or not run.revision or run.revision == job.revision
            ):
                return run
        return None

    def experiments(self) -> list[Experiment]:
        """Every experiment: TuneModel runs in progress and those with trial jobs left."""
        trials: dict[str, list[ManagedResource]] = {}
        for job in self.of_kind(*TRAINING_KINDS):
            if is_trial(job):
                trials.setdefault(experiment_name(job.model, job.revision), []).append(job)
        tunes = {
            experiment_name(
                model_slug(run.model_id or _model_of(run.workflow_id)), run.revision
            ): run
            for run in sorted(self.runs, key=lambda r: r.started or _EPOCH)
            if run.workflow_type == WorkflowName.TUNE_MODEL and run.revision
        }
        found = []
        for name in sorted(set(trials) | {n for n, r in tunes.items() if r.running}):
            jobs = tuple(sorted(trials.get(name, []), key=lambda j: j.name))
            run = tunes.get(name)
            found.append(
                Experiment(
                    name=name,
                    model_id=(run.model_id if run else "") or _first_model_id(jobs),
                    revision=run.revision if run else jobs[0].revision,
                    status=_experiment_status(run, jobs),
                    trials=jobs,
                    run=run,
                )
            )
        return found

    def deployments(self) -> list[Deployment]:
        """Running ServeModel workflows and the platform's InferenceServices, by name."""
        runs = {
            model_slug(run.model_id or _model_of(run.workflow_id)): run
            for run in self.running_runs()
            if run.workflow_type == WorkflowName.SERVE_MODEL
        }
        resources = {item.name: item for item in self.of_kind(ResourceKind.INFERENCESERVICE)}
        found = []
        for name in sorted(set(runs) | set(resources)):
            run, resource = runs.get(name), resources.get(name)
            state = self.serving.get(name, {})
            if run is not None and state:
                ready = bool(state.get("ready"))
                status = "Ready" if ready else str(state.get("phase") or "NotReady")
            else:
                ready = resource is not None and resource.status == "Ready"
                status = resource.status if resource else "Unknown"
            found.append(
                Deployment(
                    name=name,
                    model_id=(run.model_id if run else "")
                    or (resource.model_id or resource.model if resource else name),
                    status=status,
                    ready=ready,
                    url=str(state.get("url") or ""),
                    run=run,
                    resource=resource,
                )
            )
        return found

    def stale(self, grace: timedelta = STALE_GRACE) -> list[ManagedResource]:
        """Secrets and ServiceAccounts nothing uses, older than ``grace``.

        Nothing: no unfinished workload names them, no run of their model is in progress.
        """
        busy_models = {
            model_slug(run.model_id or _model_of(run.workflow_id))
            for run in self.running_runs()
            if run.model_id or run.workflow_id.startswith("kaptain/")
        }
        return [
            item
            for item in self.of_kind(*STALE_KINDS)
            if not item.used_by and item.model not in busy_models and self._older_than(item, grace)
        ]

    def _older_than(self, item: ManagedResource, grace: timedelta) -> bool:
        if self.taken_at is None or not item.created:
            return True
        created = datetime.fromisoformat(item.created.replace("Z", "+00:00"))
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return self.taken_at - created >= grace


def is_trial(job: ManagedResource) -> bool:
    """A trial's job: made by a TuneModel run (``.../tune``), named ``...-t<n>``."""
    return job.owner.endswith("/tune") and _TRIAL_SUFFIX.search(job.name) is not None


def trial_workflow_id(job: ManagedResource) -> str:
    """The TrialRun workflow id of a trial's job (``<tune id>/<revision[:8]>/trial-<n>``)."""
    match = _TRIAL_SUFFIX.search(job.name)
    number = match.group(1) if match else "0"
    return f"{job.owner}/{job.revision[:8]}/trial-{number}"


def experiment_name(model: str, revision: str) -> str:
    """``<model slug>-<revision[:8]>``: the name of a TuneModel run's experiment."""
    return f"{model_slug(model)}-{revision[:8]}"


def _model_of(workflow_id: str) -> str:
    """``kaptain/<ns>/<model id>/<action>`` -> ``<model id>``."""
    parts = workflow_id.split("/")
    return "/".join(parts[2:-1]) if len(parts) > 3 else workflow_id


def _first_model_id(jobs: tuple[ManagedResource, ...]) -> str:
    return next((job.model_id or job.model for job in jobs), "")


_RUN_STATUS = {"Completed": "Succeeded", "ContinuedAsNew": "Running"}


def _experiment_status(run: RunInfo | None, jobs: tuple[ManagedResource, ...]) -> str:
    if run is not None:
        return _RUN_STATUS.get(run.status, run.status)
    return "Running" if any(not job.finished for job in jobs) else "Finished"
