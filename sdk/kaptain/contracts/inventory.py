"""Inventory of what Kaptain created on a platform: listing and deleting (``kaptain.utils``).

Only objects Kaptain created are ever listed or deleted: on Kubernetes those labelled
``app.kubernetes.io/managed-by=kaptain`` (with the model id label), on the local platform the
job directories and secret files the worker and the SDK wrote under the state directory.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceKind(StrEnum):
    """Kinds of resources Kaptain creates, spelled as ``kaptain.utils`` takes them."""

    PYTORCHJOB = "pytorchjob"
    """A ``kubeflow.org/v1`` PyTorchJob (local: a job directory of kind PyTorchJob)."""
    TFJOB = "tfjob"
    """A ``kubeflow.org/v1`` TFJob (local: a job directory of kind TFJob)."""
    JOB = "job"
    """A ``batch/v1`` Job: an image build (Kaniko); none on the local platform."""
    EXPERIMENT = "experiment"
    """A tuning experiment: a TuneModel run and its trials' jobs (never a platform object)."""
    INFERENCESERVICE = "inferenceservice"
    """A deployment: a KServe InferenceService, or a ServeModel workflow's local servers."""
    SECRET = "secret"  # noqa: S105 - a kind name
    """Staged credentials (local: a 0600 file under the worker's ``secrets/``)."""
    SERVICEACCOUNT = "serviceaccount"
    """A ServiceAccount carrying a deployment's storage credentials (Kubernetes)."""
    POD = "pod"
    """A pod of a managed workload (Kubernetes; listed, never deleted on its own)."""


TRAINING_KINDS: tuple[ResourceKind, ...] = (ResourceKind.PYTORCHJOB, ResourceKind.TFJOB)
"""Kinds of training jobs."""


class ManagedResource(_Wire):
    """One object Kaptain created, as the platform reports it.

    Attributes:
        kind: What it is.
        name: Its name (unique per kind and namespace).
        namespace: Its namespace (local: the namespace the job was started in; ``""`` for
            local secrets, which have none).
        model: The model id label value (the slugified id, e.g. ``dev-mnist``).
        model_id: The full model id (``dev/mnist``) when the object records it.
        revision: The model revision the object belongs to, when known.
        owner: Id of the workflow that created it, when recorded.
        status: Platform status in one word (``Running``, ``Succeeded``, ``Failed``,
            ``Ready``, ``NotReady``, ``Active``, ...).
        finished: The workload ran to its end (deleting it stops nothing).
        created: Creation time (ISO 8601), when known.
        used_by: Names of managed workloads referencing it (Secrets, ServiceAccounts).
        logs: Where its replicas' logs are (``file://`` or ``k8s://ns/pod/container``).
    """

    kind: ResourceKind
    name: str
    namespace: str = ""
    model: str = ""
    model_id: str = ""
    revision: str = ""
    owner: str = ""
    status: str = ""
    finished: bool = False
    created: str | None = None
    used_by: list[str] = Field(default_factory=list)
    logs: list[str] = Field(default_factory=list)


class InventoryQuery(_Wire):
    """Input of ``kaptain.ListResources`` and the ``inventory.list`` activity.

    Attributes:
        namespace: Where to look.
        kinds: Only these kinds; empty means every kind the platform has.
    """

    namespace: str = "default"
    kinds: list[ResourceKind] = Field(default_factory=list)


class Inventory(_Wire):
    """What the platform holds that Kaptain created."""

    items: list[ManagedResource] = Field(default_factory=list)


class ResourceRef(_Wire):
    """One object to delete.

    Attributes:
        kind: Its kind (not ``experiment``: an experiment is deleted as its jobs).
        name: Its name.
        namespace: Its namespace.
        model_id: The full model id (needed to undeploy an inference service).
    """

    kind: ResourceKind
    name: str
    namespace: str = "default"
    model_id: str = ""


class RunRef(_Wire):
    """One workflow run to cancel before its resources are deleted.

    Attributes:
        workflow_id: The workflow id.
        run_id: The run (so a newer run of the same id is never touched).
    """

    workflow_id: str
    run_id: str | None = None


class DeleteResourcesInput(_Wire):
    """Input of ``kaptain.DeleteResources``: cancel runs, then delete objects one by one.

    Attributes:
        namespace: The namespace of every object.
        resources: The objects, each deleted by the platform after checking Kaptain's labels.
        cancel: Runs still using them, cancelled first (their own cleanup runs too).
        reason: Why, in words (the run's summary in the Temporal UI).
    """

    namespace: str = "default"
    resources: list[ResourceRef] = Field(default_factory=list)
    cancel: list[RunRef] = Field(default_factory=list)
    reason: str = ""


class DeleteOutcome(_Wire):
    """What happened to one object.

    Attributes:
        ref: The object.
        deleted: It existed and is gone now (False: it was gone already).
        message: In words.
    """

    ref: ResourceRef
    deleted: bool
    message: str = ""


class DeleteResourcesResult(_Wire):
    """Result of ``kaptain.DeleteResources``.

    Attributes:
        outcomes: One per object, in order.
        cancelled: Workflow ids of the runs that were asked to cancel.
    """

    outcomes: list[DeleteOutcome] = Field(default_factory=list)
    cancelled: list[str] = Field(default_factory=list)
