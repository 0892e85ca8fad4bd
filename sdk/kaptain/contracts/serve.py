"""ServeModel workflow (one long-lived workflow per deployment) and the serving activities.

A deployment serves a *baseline* revision and, during a canary rollout, a *canary* revision
that gets ``canary_percent`` of the traffic. Every change arrives as a Temporal update; the
platform is driven by one idempotent desired-state activity (:class:`ApplyServing`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kaptain.contracts.common import ModelFramework, ResourceSpec, StorageRef


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InferenceProtocol(StrEnum):
    """Inference protocol a model server speaks."""

    V1 = "v1"
    """KServe V1: ``POST /v1/models/<name>:predict`` with ``{"instances": [...]}``."""
    V2 = "v2"
    """Open Inference Protocol: ``POST /v2/models/<name>/infer``."""


class TransformerSpec(_Wire):
    """A pre/post-processing step in front of the model server.

    Attributes:
        image: Transformer container image (Kubernetes platform).
        args: Container arguments.
        env_from: Secrets/ConfigMaps to take environment variables from.
        volumes: Volumes to mount (``{"name": ..., "mount_path": ..., ...}``).
        module_uri: Storage URI of a Python module defining ``preprocess(payload)`` and/or
            ``postprocess(response)`` (the local platform runs it in the server process).
    """

    image: str
    args: list[str] = Field(default_factory=list)
    env_from: list[str] = Field(default_factory=list)
    volumes: list[dict[str, str]] = Field(default_factory=list)
    module_uri: str | None = None


class RevisionSpec(_Wire):
    """One servable revision of a model.

    Attributes:
        revision: The deployment revision (the artifacts live under
            ``<base>/<model id>/deploy/<revision>/``).
        source_uri: The trained or tuned model the revision was made from.
        model_uri: Where the served model files are: ``<base>/<id>/deploy/<revision>/``.
        framework: The model's framework (decides the loader / KServe model format).
        protocol: Inference protocol of the server.
        target_concurrency: In-flight requests per replica before scaling out (``autoscale``).
        min_replicas: Replicas kept running.
        max_replicas: Upper bound when scaling out.
        resources: Requests and limits per replica.
        transformer: Optional pre/post-processing.
        serving_config: Model-server settings (``protocol_version`` is read into ``protocol``).
    """

    revision: str
    source_uri: str
    model_uri: str
    framework: ModelFramework
    protocol: InferenceProtocol = InferenceProtocol.V1
    target_concurrency: int = Field(default=2, ge=1)
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=3, ge=1)
    resources: ResourceSpec = ResourceSpec()
    transformer: TransformerSpec | None = None
    serving_config: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _replicas_ordered(self) -> RevisionSpec:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be >= min_replicas")
        return self


class DeploymentRef(_Wire):
    """Which deployment: the model, its namespace and its DNS name.

    Attributes:
        namespace: Kubernetes namespace (local: a name space for the router paths).
        model_id: The model's id, e.g. ``dev/mnist``.
        name: DNS-1123 name of the deployment (``dev/mnist`` -> ``dev-mnist``), also the
            model name in inference URLs.
        storage: Where the model artifacts are, with the deployment's own credentials
            Secret (kept until undeploy).
        labels: Labels every resource of the deployment carries (managed-by, model id).
    """

    namespace: str = "default"
    model_id: str
    name: str
    storage: StorageRef
    labels: dict[str, str] = Field(default_factory=dict)


class ApplyServing(_Wire):
    """Desired state of a deployment (input of the ``apply`` activity).

    The activity is idempotent: it brings up any revision that is not serving yet, waits
    until it is ready *and answers a test inference* (``input_example.json`` beside the
    model, else a metadata request) before it gets any traffic, then sets the split and
    retires revisions that are no longer wanted. A revision that cannot become ready fails
    the activity with a non-retryable ``RevisionFailed`` error, and the traffic stays where
    it was.

    Attributes:
        deployment: Which deployment.
        baseline: The revision that gets ``100 - canary_percent`` of the traffic.
        canary: The canary revision, if any.
        canary_percent: Share of traffic for the canary (0 when there is none).
    """

    deployment: DeploymentRef
    baseline: RevisionSpec
    canary: RevisionSpec | None = None
    canary_percent: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _canary_consistent(self) -> ApplyServing:
        if self.canary is None and self.canary_percent != 0:
            raise ValueError("canary_percent needs a canary")
        return self


class ServingStatus(_Wire):
    """What the platform reports after ``apply``.

    Attributes:
        url: The deployment's one stable URL (base, without a path).
        traffic: Revision -> percent of traffic.
        ready: Every wanted revision is ready and the split is in effect.
        replicas: Revision -> replicas running.
    """

    url: str
    traffic: dict[str, int] = Field(default_factory=dict)
    ready: bool = False
    replicas: dict[str, int] = Field(default_factory=dict)


class RevisionMetrics(_Wire):
    """Cumulative request counters of one revision (as scraped; diff two to get a window).

    Attributes:
        requests: Requests answered.
        errors: Requests answered with a 5xx status (or that failed at the proxy).
        latency_buckets: Cumulative histogram, upper bound in milliseconds (``"+Inf"``
            last) -> requests at most that slow, as in Prometheus.
        latency_sum_ms: Total time spent answering, in milliseconds (its rate is the mean
            number of requests in flight: what concurrency-based scaling reads).
    """

    requests: int = 0
    errors: int = 0
    latency_buckets: dict[str, int] = Field(default_factory=dict)
    latency_sum_ms: float = 0.0


class DeploymentMetrics(_Wire):
    """Per-revision counters of a deployment (result of the ``metrics`` activity)."""

    revisions: dict[str, RevisionMetrics] = Field(default_factory=dict)


class CanaryPolicy(_Wire):
    """Progressive, metric-gated canary: step the traffic up, analysing each step.

    At each step the canary gets ``steps[i]`` percent for ``interval_seconds``; then its
    requests in that window are judged. A breach of a threshold rolls the canary back at
    once; reaching the last step at 100 % promotes it (a last step below 100 leaves the
    canary there for a manual promote).

    Attributes:
        steps: Increasing percentages, e.g. ``[10, 30, 60, 100]``.
        interval_seconds: How long each step lasts before it is judged.
        max_error_rate: Highest tolerated share of 5xx answers (0..1).
        max_p99_latency_ms: Highest tolerated p99 latency in milliseconds.
        min_requests: Fewer requests than this in a window: judge nothing, hold the step
            for another interval (at most ``max_holds`` times, then roll back).
        max_holds: See ``min_requests``.
    """

    steps: list[int] = Field(min_length=1)
    interval_seconds: float = Field(default=60.0, gt=0)
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    max_p99_latency_ms: float | None = Field(default=None, gt=0)
    min_requests: int = Field(default=0, ge=0)
    max_holds: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _steps_increase(self) -> CanaryPolicy:
        if any(not 0 < s <= 100 for s in self.steps):
            raise ValueError("canary steps must be percentages in 1..100")
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("canary steps must increase")
        return self


class ServeInput(_Wire):
    """Input of the ServeModel workflow (and what it carries over on continue-as-new).

    Attributes:
        deployment: Which deployment (its storage credentials are the latest request's).
        state: The state carried over by continue-as-new; None on the first start.
        continue_after_changes: Continue as new after this many changes (deploy, canary,
            promote, rollback, policy steps) so that the history stays small; Temporal's
            own suggestion to continue is honoured too.
        reconcile_seconds: How often the deployment is applied again while nothing else
            changes it, so that it heals (model servers that died, a machine that rebooted).
    """

    deployment: DeploymentRef
    state: ServingState | None = None
    continue_after_changes: int = Field(default=200, ge=1)
    reconcile_seconds: float = Field(default=60.0, gt=0)


class DeployRequest(_Wire):
    """The ``deploy`` update: serve ``spec`` as the only revision.

    Attributes:
        spec: The revision to serve.
        replace: Replace an existing deployment (else one is refused).
        storage: Storage with freshly staged credentials; once the update is accepted the
            workflow owns that secret (it replaces the deployment's, deleted at undeploy).
    """

    spec: RevisionSpec
    replace: bool = False
    storage: StorageRef | None = None


class CanaryRequest(_Wire):
    """The ``canary`` update: serve ``spec`` beside the baseline.

    Attributes:
        spec: The canary revision; None changes only the percentage of the current canary.
        percent: The canary's share of traffic (the first step's, with a policy).
        policy: Optional progressive, metric-gated rollout.
        storage: As in :class:`DeployRequest`.
    """

    spec: RevisionSpec | None = None
    percent: int = Field(ge=1, le=100)
    policy: CanaryPolicy | None = None
    storage: StorageRef | None = None


class RollbackRequest(_Wire):
    """The ``rollback`` update (also what an automatic rollback records)."""

    reason: str = "rolled back by request"


class ServingPhase(StrEnum):
    """Where a deployment is."""

    EMPTY = "empty"
    DEPLOYING = "deploying"
    SERVING = "serving"
    CANARY = "canary"
    UNDEPLOYED = "undeployed"


class StepAnalysis(_Wire):
    """One judged window of a progressive canary.

    Attributes:
        percent: Canary share during the window.
        requests: Canary requests in the window.
        errors: Canary 5xx answers in the window.
        error_rate: ``errors / requests`` (0 without requests).
        p99_latency_ms: Canary p99 latency in the window (None without requests).
        verdict: ``pass``, ``hold`` (too few requests) or ``fail``.
        reason: Why, in words.
    """

    percent: int
    requests: int
    errors: int
    error_rate: float
    p99_latency_ms: float | None
    verdict: str
    reason: str


class ServingState(_Wire):
    """The ``state`` query's answer.

    Attributes:
        phase: Where the deployment is.
        url: Stable URL of the deployment (None before the first deploy).
        baseline: The baseline revision.
        canary: The canary revision, if any.
        canary_percent: The canary's share of traffic.
        traffic: Revision -> percent, as the platform reported it.
        replicas: Revision -> replicas running, as the platform reported it.
        ready: The last apply left everything ready.
        policy: The progressive policy driving the canary, if any.
        step: Index of the policy step in effect.
        analysis: Judged windows of the current (or last) progressive canary.
        last_event: The last thing that happened, in words.
        rollback_reason: Why the last canary was rolled back, if it was.
    """

    phase: ServingPhase = ServingPhase.EMPTY
    url: str | None = None
    baseline: RevisionSpec | None = None
    canary: RevisionSpec | None = None
    canary_percent: int = 0
    traffic: dict[str, int] = Field(default_factory=dict)
    replicas: dict[str, int] = Field(default_factory=dict)
    ready: bool = False
    policy: CanaryPolicy | None = None
    step: int = 0
    analysis: list[StepAnalysis] = Field(default_factory=list)
    last_event: str = ""
    rollback_reason: str | None = None


ServeInput.model_rebuild()
