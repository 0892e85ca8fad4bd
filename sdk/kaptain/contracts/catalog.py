"""The wire catalogue: every workflow with its input and result models (``kaptain schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kaptain.contracts.build import BuildInput, BuildResult
from kaptain.contracts.inventory import (
    DeleteResourcesInput,
    DeleteResourcesResult,
    Inventory,
    InventoryQuery,
)
from kaptain.contracts.names import TASK_QUEUE, SearchAttribute, WorkflowName
from kaptain.contracts.serve import ServeInput, ServingState
from kaptain.contracts.train import CleanupInput, TrainInput, TrainResult
from kaptain.contracts.tune import TrialInput, TrialRecord, TuneInput, TuneResult

WORKFLOWS: dict[str, tuple[type[BaseModel], type[BaseModel] | None]] = {
    WorkflowName.BUILD_IMAGE: (BuildInput, BuildResult),
    WorkflowName.TRAIN_MODEL: (TrainInput, TrainResult),
    WorkflowName.TUNE_MODEL: (TuneInput, TuneResult),
    WorkflowName.TRIAL_RUN: (TrialInput, TrialRecord),
    WorkflowName.CLEANUP_JOB: (CleanupInput, None),
    WorkflowName.LIST_RESOURCES: (InventoryQuery, Inventory),
    WorkflowName.DELETE_RESOURCES: (DeleteResourcesInput, DeleteResourcesResult),
    WorkflowName.SERVE_MODEL: (ServeInput, ServingState),
}
"""Workflow type name -> (input model, result model or None)."""

WORKFLOW_IDS: dict[str, str] = {
    WorkflowName.BUILD_IMAGE: "kaptain/build/<image>@<checksum>",
    WorkflowName.TRAIN_MODEL: "kaptain/<namespace>/<model id>/train",
    WorkflowName.TUNE_MODEL: "kaptain/<namespace>/<model id>/tune",
    WorkflowName.TRIAL_RUN: "<tune workflow id>/<revision[:8]>/trial-<n>",
    WorkflowName.CLEANUP_JOB: "kaptain/cleanup/<namespace>/<job>",
    WorkflowName.LIST_RESOURCES: "kaptain/<namespace>/inventory/list-<nonce>",
    WorkflowName.DELETE_RESOURCES: "kaptain/<namespace>/inventory/delete-<what>-<nonce>",
    WorkflowName.SERVE_MODEL: "kaptain/<namespace>/<model id>/serving",
}
"""The deterministic id pattern of each workflow."""


def schema_document() -> dict[str, Any]:
    """JSON Schemas of every workflow's input and result, with the task queue and ids."""
    workflows: dict[str, Any] = {}
    for name, (arg, result) in WORKFLOWS.items():
        workflows[name] = {
            "id": WORKFLOW_IDS[name],
            "input": arg.model_json_schema(),
            "result": result.model_json_schema() if result else None,
        }
    return {
        "task_queue": TASK_QUEUE,
        "payload_encoding": "json/plain",
        "search_attributes": {name: "Keyword" for name in SearchAttribute.ALL},
        "workflows": workflows,
    }
