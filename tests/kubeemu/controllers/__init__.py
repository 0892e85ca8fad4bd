"""Simulated controllers: the Kubeflow Training Operator, the batch/v1 Job controller and
KServe's InferenceService controller."""

from kubeemu.controllers.base import Controller
from kubeemu.controllers.jobs import JobController
from kubeemu.controllers.kserve import KServeController
from kubeemu.controllers.training import TrainingOperator

__all__ = ["Controller", "JobController", "KServeController", "TrainingOperator"]
