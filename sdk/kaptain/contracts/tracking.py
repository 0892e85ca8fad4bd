"""Model tracking records."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from kaptain.contracts.common import StorageRef


class TrackingRecord(BaseModel):
    """One action recorded against a model revision.

    Attributes:
        model_id: The model's id.
        revision: The revision the action produced or applies to.
        action: ``build``, ``train``, ``tune``, ``deploy``, ``log_data``, ``log_metrics``.
        timestamp: ISO-8601 UTC time of the record.
        state: Model state after the action, if it changed it.
        details: Action-specific fields (hyperparameters, metrics, model uri, ...).
    """

    model_id: str
    revision: str
    action: str
    timestamp: str
    state: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RecordInput(BaseModel):
    """Input of the tracking activity: append ``record`` to the store at ``storage``."""

    storage: StorageRef
    record: TrackingRecord
