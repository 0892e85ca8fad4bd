"""TuneModel workflow, its trials, and the suggestion activity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kaptain.contracts.build import BuildInput
from kaptain.contracts.common import ResourceSpec, StorageRef
from kaptain.contracts.train import JobSpec, MetricSummary

TrialState = Literal["running", "succeeded", "failed", "cancelled", "pruned"]


class ParameterSpec(BaseModel):
    """One dimension of the search space (a ``kaptain.hyperparameter.domains`` Domain).

    Attributes:
        name: The flag, e.g. ``--lr``.
        type: ``double``, ``int``, ``discrete`` or ``categorical``.
        min: Lower bound (double, int).
        max: Upper bound (double, int).
        values: Allowed values as strings (discrete, categorical).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal["double", "int", "discrete", "categorical"]
    min: float | None = None
    max: float | None = None
    values: list[str] = Field(default_factory=list)


class TrialRecord(BaseModel):
    """What happened to one trial.

    Attributes:
        number: 0-based trial number.
        hyperparameters: Flag -> value the trial ran with.
        state: ``running``, ``succeeded``, ``failed``, ``cancelled`` or ``pruned`` (stopped
            early by hyperband).
        objective: The main objective's latest value (succeeded trials).
        metrics: Every metric the trial reported, summarized.
        model_uri: Where the trial uploaded its model.
        job_name: The trial's job.
        message: Why it failed, in plain words.
    """

    number: int
    hyperparameters: dict[str, str]
    state: TrialState = "running"
    objective: float | None = None
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    model_uri: str = ""
    job_name: str = ""
    message: str = ""


class SuggestRequest(BaseModel):
    """Ask the tuning algorithm for trial ``number``'s hyperparameters, given the history.

    The answer depends only on this request (seeded sampler, replayed history), so a retry
    or a restarted worker asks for -- and gets -- the same thing.
    """

    algorithm: str
    algorithm_setting: dict[str, str] = Field(default_factory=dict)
    parameters: list[ParameterSpec]
    objective_type: Literal["maximize", "minimize"] = "maximize"
    seed: int = 0
    number: int
    history: list[TrialRecord] = Field(default_factory=list)


class Suggestion(BaseModel):
    """The algorithm's answer: hyperparameters (as flag strings), or nothing left to try."""

    number: int
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    exhausted: bool = False


class TrialInput(BaseModel):
    """Input of one TrialRun child: a training job with the experiment's image."""

    number: int
    hyperparameters: dict[str, str]
    job: JobSpec
    objective: str
    timeout_seconds: int
    force_cleanup: bool = False
    ttl_seconds_after_finished: int | None = None
    report_to: str | None = None
    """Workflow id to signal the objective's intermediate values to (early stopping)."""
    report_interval_seconds: int = 2


class TrialReport(BaseModel):
    """A trial's intermediate values of the main objective, in the order reported."""

    number: int
    values: list[float]


class TuneInput(BaseModel):
    """Input of the TuneModel workflow.

    Attributes:
        namespace: Namespace of the trials.
        model_id: The model's id.
        framework: Framework (decides PyTorchJob or TFJob).
        build: The image every trial runs (built once).
        parameters: The search space.
        objectives: Metrics to record; the first drives the search.
        objective_goal: Stop early once the main objective reaches this.
        objective_type: ``maximize`` or ``minimize``.
        trials: Maximum number of trials.
        parallel_trials: Trials running at once.
        failed_trials: Failed trials that stop the experiment (as failed).
        algorithm: Katib algorithm name.
        algorithm_setting: Katib setting names and values.
        args: Static flags of every trial.
        workers: Replicas per trial.
        resources: Per replica.
        storage: Model storage.
        timeout_seconds: Give up on the whole experiment after this long.
        ttl_seconds_after_finished: Delete the trials' jobs this long after each ends.
        delete_experiment: Delete the trials' jobs as soon as the experiment ends.
        keep_trial_models: Keep every trial's model (default: only the best one survives).
        seed: Seed of the sampler.
    """

    model_config = ConfigDict(extra="forbid")

    namespace: str = "default"
    model_id: str
    framework: str
    build: BuildInput
    parameters: list[ParameterSpec]
    objectives: list[str] = Field(min_length=1)
    objective_goal: float | None = None
    objective_type: Literal["maximize", "minimize"] = "maximize"
    trials: int = Field(default=16, ge=1)
    parallel_trials: int = Field(default=2, ge=1)
    failed_trials: int = Field(default=4, ge=1)
    algorithm: str = "random"
    algorithm_setting: dict[str, str] = Field(default_factory=dict)
    args: dict[str, str] = Field(default_factory=dict)
    workers: int = Field(default=2, ge=1)
    resources: ResourceSpec = ResourceSpec()
    storage: StorageRef
    timeout_seconds: int = Field(default=3600, gt=0)
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    delete_experiment: bool = False
    keep_trial_models: bool = False
    seed: int = 0


class TuneStatus(BaseModel):
    """What the TuneModel workflow answers to the ``status`` query (the progress bar)."""

    phase: str
    revision: str = ""
    trials: int = 0
    completed: int = 0
    running: int = 0
    failed: int = 0
    pruned: int = 0
    best_objective: float | None = None
    best_trial: int | None = None
    message: str = ""
    history: list[TrialRecord] = Field(default_factory=list)


class TuneResult(BaseModel):
    """Result of the TuneModel workflow: the best trial as the model's new revision."""

    model_id: str
    revision: str
    succeeded: bool
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    objective: float | None = None
    best_trial: int | None = None
    model_uri: str = ""
    reason: str = ""
    message: str = ""
    trials: list[TrialRecord] = Field(default_factory=list)


class CopyModel(BaseModel):
    """Copy the best trial's model to the tuned location, and delete the others'."""

    storage: StorageRef
    source_uri: str
    target_uri: str
    delete_uris: list[str] = Field(default_factory=list)
