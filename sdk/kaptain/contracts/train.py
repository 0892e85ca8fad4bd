"""TrainModel workflow and training activities."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kaptain.contracts.build import BuildInput, BuildResult
from kaptain.contracts.common import JobKind, ModelState, ResourceSpec, StorageRef


class TrainInput(BaseModel):
    """Input of the TrainModel workflow.

    Attributes:
        namespace: Namespace the job runs in.
        model_id: The model's id, e.g. ``dev/mnist``.
        framework: Framework name (decides PyTorchJob or TFJob).
        build: How to build the training image (a child BuildImage workflow).
        hyperparameters: Flags and values, e.g. ``{"--lr": "0.1"}``.
        args: Extra flags passed the same way.
        workers: Number of replicas (master/chief included).
        resources: Requests and limits per replica.
        storage: Where the trained model is uploaded.
        timeout_seconds: Give up (and clean up) after this long.
        ttl_seconds_after_finished: Delete the finished job after this delay.
        force_cleanup: Delete the finished job at once.
        lifecycle_phase: Value of ``MODEL_LIFECYCLE_PHASE`` for the trainer.
    """

    model_config = ConfigDict(extra="forbid")

    namespace: str = "default"
    model_id: str
    framework: str
    build: BuildInput
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    args: dict[str, str] = Field(default_factory=dict)
    workers: int = Field(default=2, ge=1)
    resources: ResourceSpec = ResourceSpec()
    storage: StorageRef
    timeout_seconds: int = Field(default=3600, gt=0)
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    force_cleanup: bool = False
    lifecycle_phase: str = "training"


class JobSpec(BaseModel):
    """A distributed training job for the platform to run."""

    model_config = ConfigDict(extra="forbid")

    name: str
    namespace: str
    kind: JobKind
    model_id: str
    revision: str
    workflow_id: str
    image: BuildResult
    main_file: str
    flags: list[str]
    replicas: int
    resources: ResourceSpec
    upload_path: str
    storage: StorageRef
    lifecycle_phase: str = "training"
    active_deadline_seconds: int | None = None
    ttl_seconds_after_finished: int | None = None
    image_pull_secret: str | None = None
    """Secret (``kubernetes.io/dockerconfigjson``) to pull the image with, if any."""


class JobRef(BaseModel):
    """A started job.

    Attributes:
        name: Job name (deterministic).
        namespace: Its namespace.
        kind: Its kind.
        replicas: Number of replicas.
        log_locations: Where each replica's log can be read (``file://`` or ``k8s://``).
    """

    name: str
    namespace: str
    kind: JobKind
    replicas: int
    log_locations: list[str] = Field(default_factory=list)


class WaitJobInput(BaseModel):
    """Input of the heartbeating wait activity."""

    job: JobRef


class JobOutcome(BaseModel):
    """How a job ended, with what its master reported.

    Attributes:
        succeeded: True when every replica exited successfully.
        reason: Short machine-readable reason (``Succeeded``, ``Failed``, ...).
        message: Plain-words explanation.
        log_tail: The last lines of the failing (or master) replica's log.
        metrics: Every ``name=value`` the master printed, in order.
    """

    succeeded: bool
    reason: str
    message: str = ""
    log_tail: str = ""
    metrics: dict[str, list[float]] = Field(default_factory=dict)


class SecretRefs(BaseModel):
    """Secrets an action staged, to delete when it ends (success, failure or cancel)."""

    namespace: str
    names: list[str] = Field(default_factory=list)


class UploadCheck(BaseModel):
    """Input of the upload check: does anything exist under ``uri``."""

    uri: str
    storage: StorageRef


class CleanupInput(BaseModel):
    """Input of the CleanupJob workflow: delete ``job`` after ``delay_seconds``."""

    job: JobRef
    delay_seconds: int = 0


class MetricSummary(BaseModel):
    """Katib-style observation of one metric."""

    min: float
    max: float
    latest: float


class TrainStatus(BaseModel):
    """What the TrainModel workflow answers to the ``status`` query."""

    phase: str
    revision: str
    image: str | None = None
    job: JobRef | None = None
    message: str = ""


class TrainResult(BaseModel):
    """Result of the TrainModel workflow.

    Attributes:
        model_id: The model's id.
        revision: The new revision.
        succeeded: True when the job succeeded.
        state: Model state after the run (``trained`` on success).
        hyperparameters: The static values used.
        metrics: Observations per metric the master reported.
        model_uri: Where the trainer was told to upload the model.
        model_uploaded: Whether anything was found there afterwards.
        image: The image (or local environment) the job ran.
        job_name: The job's name.
        message: Plain-words outcome, with the failing replica's log tail on failure.
        reason: Machine-readable outcome (``Succeeded``, ``Failed``, ``Timeout``).
    """

    model_id: str
    revision: str
    succeeded: bool
    state: ModelState
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    model_uri: str
    model_uploaded: bool = False
    image: str = ""
    job_name: str = ""
    message: str = ""
    reason: str = ""
