"""Load a served model directory per framework into something with ``predict(inputs)``.

Layouts (as KServe's model servers expect them):

* pytorch -- ``model.pt``, a TorchScript program (``torch.jit.save``);
* sklearn -- ``model.joblib``;
* tensorflow -- a SavedModel under ``0001/`` (or the directory itself), when ``tensorflow``
  is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kaptain.contracts.common import ModelFramework
from kaptain.exceptions import UnsupportedModelDeploymentException

__all__ = ["Predictor", "load_model"]


class Predictor(Protocol):
    """A loaded model."""

    def predict(self, inputs: Any) -> Any:
        """Predictions for a batch of inputs (a numpy array, a DataFrame or strings)."""
        ...


class TorchScriptPredictor:
    """Runs a TorchScript module on float32 tensors, without gradients.

    Args:
        module: The loaded ``torch.jit.ScriptModule``.
    """

    def __init__(self, module: Any) -> None:
        self._module = module

    def predict(self, inputs: Any) -> Any:
        """The module's output for ``inputs``, as a numpy array."""
        import torch

        with torch.inference_mode():
            batch = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
            return self._module(batch).detach().cpu().numpy()


class SavedModelPredictor:
    """Calls a SavedModel's ``serving_default`` signature on its first input.

    Args:
        saved_model: The object ``tf.saved_model.load`` returned.
    """

    def __init__(self, saved_model: Any) -> None:
        self._signature = saved_model.signatures["serving_default"]
        self._input = next(iter(self._signature.structured_input_signature[1]))

    def predict(self, inputs: Any) -> Any:
        """The signature's first output for ``inputs``, as a numpy array."""
        outputs = self._signature(**{self._input: np.asarray(inputs, dtype=np.float32)})
        return next(iter(outputs.values())).numpy()


def load_model(model_dir: Path, framework: str | ModelFramework) -> Predictor:
    """Load the model in ``model_dir`` for serving.

    Args:
        model_dir: The downloaded model directory.
        framework: The model's framework.

    Returns:
        A predictor.

    Raises:
        UnsupportedModelDeploymentException: The framework cannot be served here, or the
            directory does not hold a servable model of that framework.
    """
    kind = ModelFramework.of(framework)
    if kind is ModelFramework.PYTORCH:
        return _load_torchscript(model_dir / "model.pt")
    if kind is ModelFramework.SKLEARN:
        return _load_joblib(model_dir / "model.joblib")
    if kind is ModelFramework.TENSORFLOW:
        return _load_saved_model(model_dir)
    raise UnsupportedModelDeploymentException(
        f"serving {kind.value} models is not supported on the local platform "
        "(supported: pytorch, sklearn, tensorflow)"
    )


def _require(path: Path) -> Path:
    if not path.is_file():
        raise UnsupportedModelDeploymentException(f"model file {path} is missing")
    return path


def _load_torchscript(path: Path) -> Predictor:
    import torch

    try:
        module = torch.jit.load(  # type: ignore[no-untyped-call]
            str(_require(path)), map_location="cpu"
        )
    except RuntimeError as error:
        raise UnsupportedModelDeploymentException(
            f"{path} is not a TorchScript program (a state_dict or a pickled module cannot "
            "be served without its code): save the model with "
            "torch.jit.save(torch.jit.script(model), 'model.pt')"
        ) from error
    module.eval()
    return TorchScriptPredictor(module)


def _load_joblib(path: Path) -> Predictor:
    import joblib  # type: ignore[import-untyped]

    try:
        model = joblib.load(_require(path))
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as error:
        raise UnsupportedModelDeploymentException(
            f"{path} could not be loaded with joblib: {error!r}"
        ) from error
    if not callable(getattr(model, "predict", None)):
        raise UnsupportedModelDeploymentException(f"{path} holds no estimator with predict()")
    return model  # type: ignore[no-any-return]


def _load_saved_model(model_dir: Path) -> Predictor:
    if importlib.util.find_spec("tensorflow") is None:
        raise UnsupportedModelDeploymentException(
            "serving a TensorFlow SavedModel locally needs the tensorflow package: "
            "pip install tensorflow"
        )
    tf = importlib.import_module("tensorflow")
    versioned = model_dir / "0001"
    root = versioned if versioned.is_dir() else model_dir
    if not (root / "saved_model.pb").is_file():
        raise UnsupportedModelDeploymentException(f"no saved_model.pb in {root}")
    return SavedModelPredictor(tf.saved_model.load(str(root)))
