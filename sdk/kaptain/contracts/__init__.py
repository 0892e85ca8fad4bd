"""The wire contract: every workflow's and activity's one input and one result.

Pure pydantic models, enums and names -- no I/O. Other services start Kaptain's workflows
by sending these models as JSON (``kaptain schema`` prints their JSON Schemas).
"""

from kaptain.contracts.build import BuildInput, BuildResult
from kaptain.contracts.common import (
    JobKind,
    ModelFramework,
    ModelState,
    ResourceSpec,
    StorageRef,
)
from kaptain.contracts.names import (
    ActivityName,
    SearchAttribute,
    WorkflowName,
    build_workflow_id,
    model_slug,
    train_workflow_id,
    tune_workflow_id,
)
from kaptain.contracts.tracking import RecordInput, TrackingRecord
from kaptain.contracts.train import (
    CleanupInput,
    JobOutcome,
    JobRef,
    JobSpec,
    MetricSummary,
    SecretRefs,
    TrainInput,
    TrainResult,
    TrainStatus,
    UploadCheck,
    WaitJobInput,
)
from kaptain.contracts.tune import (
    CopyModel,
    ParameterSpec,
    Suggestion,
    SuggestRequest,
    TrialInput,
    TrialRecord,
    TrialReport,
    TuneInput,
    TuneResult,
    TuneStatus,
)

__all__ = [
    "ActivityName",
    "BuildInput",
    "BuildResult",
    "CleanupInput",
    "CopyModel",
    "JobKind",
    "JobOutcome",
    "JobRef",
    "JobSpec",
    "MetricSummary",
    "ModelFramework",
    "ModelState",
    "ParameterSpec",
    "RecordInput",
    "ResourceSpec",
    "SearchAttribute",
    "SecretRefs",
    "StorageRef",
    "SuggestRequest",
    "Suggestion",
    "TrackingRecord",
    "TrainInput",
    "TrainResult",
    "TrainStatus",
    "TrialInput",
    "TrialRecord",
    "TrialReport",
    "TuneInput",
    "TuneResult",
    "TuneStatus",
    "UploadCheck",
    "WaitJobInput",
    "WorkflowName",
    "build_workflow_id",
    "model_slug",
    "train_workflow_id",
    "tune_workflow_id",
]
