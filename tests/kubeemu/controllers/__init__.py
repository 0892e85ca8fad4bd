"""Simulated controllers: the Kubeflow Training Operator and the batch/v1 Job controller."""

from kubeemu.controllers.base import Controller
from kubeemu.controllers.jobs import JobController
from kubeemu.controllers.training import TrainingOperator

__all__ = ["Controller", "JobController", "TrainingOperator"]
