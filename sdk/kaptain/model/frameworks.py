"""Machine-learning frameworks a model can use.

:class:`ModelFramework` is the wire enum of :mod:`kaptain.contracts`; :func:`of` (also
available as ``ModelFramework.of``) reads a framework from a user's string.
"""

from __future__ import annotations

from kaptain.contracts.common import ModelFramework

__all__ = ["ModelFramework", "of"]


def of(framework: str | ModelFramework) -> ModelFramework:
    """Converts a framework (string) to a ModelFramework enum.

    Args:
        framework: Model framework or library, case-insensitive: ``tensorflow``/``tf``,
            ``pytorch``/``torch``, ``sklearn``/``scikit-learn``, ``xgboost``, ``mxnet``,
            ``onnx``; or a ModelFramework.

    Returns:
        The ModelFramework.

    Raises:
        UnsupportedModelFrameworkException: The framework is blank or not supported.
    """
    return ModelFramework.of(framework)
