"""Enums and small value objects shared by several contracts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kaptain.exceptions import UnsupportedModelFrameworkException


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelFramework(StrEnum):
    """Machine-learning frameworks Kaptain knows how to train and serve."""

    TENSORFLOW = "tensorflow"
    PYTORCH = "pytorch"
    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    MXNET = "mxnet"
    ONNX = "onnx"

    @classmethod
    def of(cls, framework: str | ModelFramework) -> ModelFramework:
        """Converts a framework name or alias (case-insensitive) to a ModelFramework.

        Args:
            framework: A ModelFramework, or a name such as ``"tensorflow"``/``"tf"``,
                ``"pytorch"``/``"torch"``, ``"sklearn"``/``"scikit-learn"``, ``"xgboost"``,
                ``"mxnet"``, ``"onnx"``.

        Returns:
            The matching framework.

        Raises:
            UnsupportedModelFrameworkException: The name is blank or unknown.
        """
        if isinstance(framework, ModelFramework):
            return framework
        if isinstance(framework, str):
            found = _FRAMEWORK_ALIASES.get(framework.strip().lower())
            if found is not None:
                return cls(found)
        supported = ", ".join(sorted(_FRAMEWORK_ALIASES))
        raise UnsupportedModelFrameworkException(
            f"Unsupported model framework {framework!r}; supported: {supported}"
        )


_FRAMEWORK_ALIASES: dict[str, str] = {
    "tensorflow": "tensorflow",
    "tf": "tensorflow",
    "pytorch": "pytorch",
    "torch": "pytorch",
    "sklearn": "sklearn",
    "scikit-learn": "sklearn",
    "xgboost": "xgboost",
    "mxnet": "mxnet",
    "onnx": "onnx",
}
"""Lower-cased names and aliases accepted by :meth:`ModelFramework.of`."""


class ModelState(StrEnum):
    """Lifecycle state of a model."""

    UNTRAINED = "untrained"
    TRAINED = "trained"
    TUNED = "tuned"
    DEPLOYED = "deployed"


class JobKind(StrEnum):
    """Kind of distributed training job (Kubeflow Training Operator kinds)."""

    PYTORCH = "PyTorchJob"
    TENSORFLOW = "TFJob"


class ResourceSpec(_Frozen):
    """Requests and limits for one replica, as Kubernetes quantity strings."""

    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    gpu_request: int | None = None
    gpu_limit: int | None = None

    @property
    def gpus(self) -> int:
        """GPUs one replica gets (the limit, else the request, else 0)."""
        return self.gpu_limit or self.gpu_request or 0


class StorageRef(_Frozen):
    """Where models live, and a reference to the credentials (never the credentials).

    Attributes:
        base_uri: ``s3://bucket/prefix`` or ``file:///path``.
        credentials_ref: Name of a secret holding the storage credentials as
            environment variables (a Kubernetes Secret, or a 0600 file under the local
            worker's state directory); None for ``file://`` storage.
        credentials_namespace: Namespace of that Secret (Kubernetes platform).
    """

    base_uri: str
    credentials_ref: str | None = None
    credentials_namespace: str = "default"


class Labels(_Frozen):
    """Labels every managed resource carries."""

    values: dict[str, str] = Field(default_factory=dict)
