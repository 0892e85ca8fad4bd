"""Pinned names: workflows, activities, search attributes, task queue and workflow ids.

These are a public API -- other services and the Temporal UI rely on them -- so they never
derive from Python qualified names.
"""

from __future__ import annotations

import re
from typing import Final

TASK_QUEUE: Final = "kaptain"
"""Default task queue served by ``kaptain worker``."""


class WorkflowName:
    """Registered workflow type names."""

    BUILD_IMAGE: Final = "kaptain.BuildImage"
    TRAIN_MODEL: Final = "kaptain.TrainModel"
    CLEANUP_JOB: Final = "kaptain.CleanupJob"
    TUNE_MODEL: Final = "kaptain.TuneModel"
    TRIAL_RUN: Final = "kaptain.TrialRun"
    SERVE_MODEL: Final = "kaptain.ServeModel"
    LIST_RESOURCES: Final = "kaptain.ListResources"
    DELETE_RESOURCES: Final = "kaptain.DeleteResources"


class ActivityName:
    """Registered activity type names."""

    CHECK_IMAGE: Final = "kaptain.build.check_image"
    BUILD_IMAGE: Final = "kaptain.build.build_image"
    START_JOB: Final = "kaptain.train.start_job"
    WAIT_JOB: Final = "kaptain.train.wait_job"
    DELETE_JOB: Final = "kaptain.train.delete_job"
    CHECK_UPLOAD: Final = "kaptain.storage.check_upload"
    RECORD: Final = "kaptain.tracking.record"
    DELETE_SECRETS: Final = "kaptain.secrets.delete"
    SUGGEST: Final = "kaptain.tune.suggest"
    COPY_MODEL: Final = "kaptain.storage.copy_model"
    JOB_METRICS: Final = "kaptain.train.metrics"
    SERVE_APPLY: Final = "kaptain.serve.apply"
    SERVE_METRICS: Final = "kaptain.serve.metrics"
    SERVE_DELETE: Final = "kaptain.serve.delete"
    INVENTORY_LIST: Final = "kaptain.inventory.list"
    INVENTORY_DELETE: Final = "kaptain.inventory.delete"


class ServeMessage:
    """Update and query names of the ServeModel workflow."""

    DEPLOY: Final = "deploy"
    CANARY: Final = "canary"
    PROMOTE: Final = "promote"
    ROLLBACK: Final = "rollback"
    UNDEPLOY: Final = "undeploy"
    STATE: Final = "state"


class SearchAttribute:
    """Custom search attributes (all Keyword) registered by the dev stack and by deploy/."""

    MODEL_ID: Final = "KaptainModelId"
    ACTION: Final = "KaptainAction"
    REVISION: Final = "KaptainRevision"
    STATE: Final = "KaptainState"

    ALL: Final = (MODEL_ID, ACTION, REVISION, STATE)


_SLUG_INVALID = re.compile(r"[^a-z0-9-]+")


def model_slug(model_id: str) -> str:
    """Turn a model id into a DNS-1123 label: ``dev/mnist`` -> ``dev-mnist``.

    Args:
        model_id: The model's id, e.g. ``dev/mnist``.

    Returns:
        Lower-case letters, digits and dashes, at most 63 characters.
    """
    slug = _SLUG_INVALID.sub("-", model_id.lower()).strip("-")
    return slug[:63].rstrip("-") or "model"


def build_workflow_id(image: str, checksum: str) -> str:
    """Deterministic id of the BuildImage workflow for an image's contents."""
    return f"kaptain/build/{image}@{checksum}"


def tune_workflow_id(namespace: str, model_id: str) -> str:
    """Deterministic id of a model's TuneModel workflow (one experiment at a time)."""
    return f"kaptain/{namespace}/{model_id}/tune"


def train_workflow_id(namespace: str, model_id: str) -> str:
    """Deterministic id of a model's TrainModel workflow.

    One id per model: a second ``train()`` while one runs attaches to it; each run's
    revision is recorded in its search attributes and result.
    """
    return f"kaptain/{namespace}/{model_id}/train"


def serving_workflow_id(namespace: str, model_id: str) -> str:
    """Deterministic id of a model's long-lived ServeModel workflow (one per deployment)."""
    return f"kaptain/{namespace}/{model_id}/serving"


def inventory_workflow_id(namespace: str, operation: str, nonce: str) -> str:
    """Id of one ListResources / DeleteResources run: ``kaptain/<ns>/inventory/<op>-<nonce>``.

    Args:
        namespace: The namespace the run looks at.
        operation: Readable words such as ``list`` or ``delete-pytorchjob-dev-mnist-1a2b3c4d``.
        nonce: Makes the id unique per call.
    """
    return f"kaptain/{namespace}/inventory/{operation}-{nonce}"
