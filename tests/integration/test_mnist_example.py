"""The example as a user runs it: PyTorch DDP (gloo, 2 replicas) through the local platform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import torch

from harness import REPO, WorkerProcess
from kaptain.config import Config
from kaptain.hyperparameter.domains import Discrete, Double
from kaptain.model.models import Model

EXAMPLE = REPO / "examples" / "mnist"


def mnist_model(**overrides: Any) -> Model:
    fields: dict[str, Any] = dict(
        id="dev/mnist",
        name="MNIST",
        description="digits",
        version="0.0.1",
        framework="pytorch",
        framework_version="2.13.0",
        main_file="trainer.py",
        extra_files=["model.py"],
        requirements="requirements.txt",
        base_image="pytorch/pytorch:2.13.0",
        image_name="registry.local/kaptain/mnist",
        config=Config.default(base_dir=str(EXAMPLE)),
    )
    fields.update(overrides)
    return Model(**fields)


@pytest.mark.slow
def test_mnist_trains_with_two_ddp_workers(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    model = mnist_model()
    assert model.train(workers=2, hyperparameters={"--epochs": 10, "--lr": 0.1}, verbose=True)
    out = capsys.readouterr().out
    # both ranks ran in one process group, each on its half of the data
    assert "[master-0] rank 0/2" in out and "[worker-0] rank 1/2" in out
    assert model.metrics is not None
    assert model.metrics["accuracy"]["latest"] > 0.9
    assert model.metrics["loss"]["latest"] < model.metrics["loss"]["max"]
    assert model.model_uri is not None
    saved = Path(model.model_uri.removeprefix("file://"))
    scripted = torch.jit.load(saved / "model.pt")  # type: ignore[no-untyped-call]
    example = json.loads((saved / "input_example.json").read_text())
    logits = scripted(torch.tensor(example["instances"]))
    assert tuple(logits.shape) == (2, 10)

    # served: the trained model answers V1, and (redeployed with protocol v2) V2 requests
    digits = json.loads((EXAMPLE / "digit.json").read_text())["instances"]
    assert model.deploy()
    state = model.deployment()
    assert state is not None and state.url
    answer = requests.post(
        f"{state.url}/v1/models/dev-mnist:predict", json={"instances": digits}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    [v1_logits] = answer.json()["predictions"]
    assert max(range(10), key=lambda d: v1_logits[d]) == 0  # digit.json shows a zero
    v2 = mnist_model(serving_config={"protocol_version": "v2"})
    assert v2.deploy(model_uri=model.model_uri, replace=True)
    answer = requests.post(
        f"{state.url}/v2/models/dev-mnist/infer",
        json={
            "inputs": [
                {"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": digits}
            ]
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    [output] = answer.json()["outputs"]
    assert output["shape"] == [1, 10]
    assert output["data"] == pytest.approx([x for x in v1_logits], rel=1e-4)
    v2.undeploy()


@pytest.mark.slow
def test_example_script_runs_by_hand_without_kaptain(tmp_path: Path) -> None:
    """MODEL_LIFECYCLE_PHASE unset: the same trainer runs as a plain script."""
    done = subprocess.run(
        [sys.executable, "trainer.py", "--epochs", "1"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "accuracy=" in done.stdout


@pytest.mark.slow
def test_tuning_mnist_finds_a_better_model_than_the_worst_trial(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    model = mnist_model()
    assert model.tune(
        hyperparameters={"--lr": Double(0.005, 0.2), "--epochs": Discrete(["1", "4"])},
        objectives=["accuracy", "loss"],
        trials=4,
        parallel_trials=2,
        workers=1,
    )
    rows = model.trials()
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    objectives = [row["objective"] for row in rows if row["state"] == "succeeded"]
    assert len(objectives) == 4
    assert model.metrics is not None
    assert model.metrics["accuracy"]["latest"] == max(objectives) > min(objectives)
    assert "trials" in capsys.readouterr().err  # the progress bar
