"""Loading served model directories per framework."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import joblib  # type: ignore[import-untyped]
import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from kaptain.exceptions import UnsupportedModelDeploymentException
from kaptain.serving.loaders import load_model


def _linear() -> torch.nn.Module:
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[1.0, 2.0]])
        layer.bias[:] = 0.5
    return layer


def test_torchscript_model_predicts(tmp_path: Path) -> None:
    torch.jit.save(torch.jit.script(_linear()), str(tmp_path / "model.pt"))

    predictor = load_model(tmp_path, "pytorch")

    assert predictor.predict([[1, 1], [2, 0]]).tolist() == [[3.5], [2.5]]


def test_state_dict_says_to_save_torchscript(tmp_path: Path) -> None:
    torch.save(_linear().state_dict(), tmp_path / "model.pt")

    with pytest.raises(UnsupportedModelDeploymentException, match=r"torch\.jit\.save"):
        load_model(tmp_path, "pytorch")


def test_sklearn_model_predicts(tmp_path: Path) -> None:
    model = LinearRegression().fit(np.array([[0, 0], [1, 0], [0, 1]]), np.array([0, 1, 2]))
    joblib.dump(model, tmp_path / "model.joblib")

    predictor = load_model(tmp_path, "sklearn")

    assert np.allclose(predictor.predict(np.array([[1, 1]])), [3.0])


def test_unreadable_sklearn_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_text("not a model")

    with pytest.raises(UnsupportedModelDeploymentException, match="could not be loaded"):
        load_model(tmp_path, "sklearn")


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelDeploymentException, match=r"model\.joblib is missing"):
        load_model(tmp_path, "sklearn")


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None, reason="tensorflow is installed"
)
def test_tensorflow_without_the_package_names_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelDeploymentException, match="pip install tensorflow"):
        load_model(tmp_path, "tensorflow")


@pytest.mark.parametrize("framework", ["xgboost", "onnx", "mxnet"])
def test_other_frameworks_are_unsupported(tmp_path: Path, framework: str) -> None:
    with pytest.raises(UnsupportedModelDeploymentException, match=framework):
        load_model(tmp_path, framework)
