"""kubeemu — an HTTP-level Kubernetes API emulator for tests.

The official ``kubernetes`` client talks to it over real HTTP on 127.0.0.1. It serves core
v1 (namespaces, nodes, pods + log + status, secrets, serviceaccounts, configmaps, events,
services + their proxy), batch/v1 jobs, kubeflow.org/v1 pytorchjobs and tfjobs,
serving.kserve.io/v1beta1 inferenceservices and the discovery documents; validates custom
resources against the real CRD schemas; injects faults; records an audit log; and runs a
simulated Training Operator, Job controller, KServe controller (real model servers behind a
real router) and kubelet whose pods run as local processes.

Example:
    >>> from kubeemu import KubeEmulator
    >>> with KubeEmulator() as emu:
    ...     path = emu.write_kubeconfig(tmp_path / "config", namespace="team")
    ...     emu.faults.add(verb="create", resource="pytorchjobs", status=500)
    ...     ...
    ...     assert ("kubeflow.org", "pytorchjobs", "create") in emu.requests.permissions()
"""

from kubeemu.audit import AuditLog, RequestRecord
from kubeemu.emulator import KubeEmulator
from kubeemu.errors import ApiError
from kubeemu.faults import FaultRule, Faults
from kubeemu.registry import MiniRegistry
from kubeemu.resources import RESOURCES, ResourceType
from kubeemu.runtimes import Command, ImageRecord, ImageStore, InProcess, RunContext, Runtime
from kubeemu.runtimes.kaniko import kaniko_runtime
from kubeemu.runtimes.python import python_runtime
from kubeemu.validation import validate_manifest

__all__ = [
    "RESOURCES",
    "ApiError",
    "AuditLog",
    "Command",
    "FaultRule",
    "Faults",
    "ImageRecord",
    "ImageStore",
    "InProcess",
    "KubeEmulator",
    "MiniRegistry",
    "RequestRecord",
    "ResourceType",
    "RunContext",
    "Runtime",
    "kaniko_runtime",
    "python_runtime",
    "validate_manifest",
]
