"""Kaptain's exceptions: every class on the seed's API page, under one base.

Hierarchy::

    KaptainException
    ├── InvalidModelProperty            a required model property is None or blank
    ├── UndefinedModelProperty          a model property is not defined
    ├── UnsupportedAlgorithmException   unknown tuning algorithm or setting
    ├── UnsupportedModelFrameworkException
    ├── UnsupportedModelDeploymentException
    ├── UnsupportedMetricsTypeException
    ├── ModelDeploymentException
    ├── ModelValidationException        bad arguments or a state unsuitable for the action
    │   ├── InvalidConfigurationException   a configuration provider got bad input
    │   └── ResourceNotFoundException       kaptain.utils: no such resource created by Kaptain
    ├── ModelAlreadyExistsException
    ├── ImageBuildException
    ├── WorkloadDeploymentError         e.g. failed scheduling
    ├── TrainingFailedException         the training job ran and failed (raised only on request)
    └── PlatformUnavailableException    Temporal (or the embedded stack) cannot be reached

Catch :class:`KaptainException` to handle "any Kaptain error".
"""

from __future__ import annotations

__all__ = [
    "ImageBuildException",
    "InvalidConfigurationException",
    "InvalidModelProperty",
    "KaptainException",
    "ModelAlreadyExistsException",
    "ModelDeploymentException",
    "ModelValidationException",
    "PlatformUnavailableException",
    "ResourceNotFoundException",
    "TrainingFailedException",
    "UndefinedModelProperty",
    "UnsupportedAlgorithmException",
    "UnsupportedMetricsTypeException",
    "UnsupportedModelDeploymentException",
    "UnsupportedModelFrameworkException",
    "WorkloadDeploymentError",
]


class KaptainException(Exception):
    """Base class of every error raised by the Kaptain SDK."""


class InvalidModelProperty(KaptainException):
    """Raised when a model property is None or blank."""


class UndefinedModelProperty(KaptainException):
    """Raised when a model property is not defined."""


class UnsupportedAlgorithmException(KaptainException):
    """Raised when a hyperparameter tuning algorithm is not supported."""


class UnsupportedModelFrameworkException(KaptainException):
    """Raised when a model framework is not supported."""


class UnsupportedModelDeploymentException(KaptainException):
    """Raised when a model deployment is not supported."""


class UnsupportedMetricsTypeException(KaptainException):
    """Raised when a metric type is not supported."""


class ModelDeploymentException(KaptainException):
    """Raised in case of a model deployment failure."""


class ModelValidationException(KaptainException):
    """Raised when model properties or arguments are invalid for the invoked operation."""


class InvalidConfigurationException(ModelValidationException):
    """Raised when a configuration provider is given malformed or incomplete input."""


class ModelAlreadyExistsException(KaptainException):
    """Raised in case the model configuration file already exists in the location."""


class ImageBuildException(KaptainException):
    """Raised in case of an image build failure."""


class WorkloadDeploymentError(KaptainException):
    """Raised in case of a workload deployment failure, e.g. failed scheduling."""


class TrainingFailedException(KaptainException):
    """Raised when a training job ran and failed, where the caller asked for an exception."""


class PlatformUnavailableException(KaptainException):
    """Raised when Temporal or the embedded Kaptain stack cannot be reached."""


class ResourceNotFoundException(ModelValidationException):
    """Raised by ``kaptain.utils`` when Kaptain created no resource of that kind and name.

    It may not exist, or exist without Kaptain's labels: then it is never touched.
    """
