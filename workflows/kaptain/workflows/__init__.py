"""Deterministic orchestration: Kaptain's Temporal workflows.

Workflows import only :mod:`kaptain.contracts` and call activities by their pinned names;
every side effect happens in :mod:`kaptain.activities` on the worker's platform.
"""

from kaptain.workflows.build import BuildImageWorkflow
from kaptain.workflows.cleanup import CleanupJobWorkflow
from kaptain.workflows.inventory import DeleteResourcesWorkflow, ListResourcesWorkflow
from kaptain.workflows.serve import ServeModelWorkflow
from kaptain.workflows.train import TrainModelWorkflow
from kaptain.workflows.trial import TrialRunWorkflow
from kaptain.workflows.tune import TuneModelWorkflow

ALL_WORKFLOWS: list[type] = [
    BuildImageWorkflow,
    TrainModelWorkflow,
    CleanupJobWorkflow,
    TuneModelWorkflow,
    TrialRunWorkflow,
    ListResourcesWorkflow,
    DeleteResourcesWorkflow,
    ServeModelWorkflow,
]
"""Every workflow class a Kaptain worker registers."""

__all__ = [
    "ALL_WORKFLOWS",
    "BuildImageWorkflow",
    "CleanupJobWorkflow",
    "DeleteResourcesWorkflow",
    "ListResourcesWorkflow",
    "ServeModelWorkflow",
    "TrainModelWorkflow",
    "TrialRunWorkflow",
    "TuneModelWorkflow",
]
