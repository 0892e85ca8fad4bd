"""Build and train on the local platform, end to end: SDK -> Temporal -> worker -> processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import FIXTURES, WorkerProcess
from kaptain.config import Config
from kaptain.model.models import Model

TRAINERS = FIXTURES / "trainers"


def make_model(model_id: str = "dev/tiny", **overrides: object) -> Model:
    fields: dict[str, object] = {
        "id": model_id,
        "name": "Tiny",
        "description": "test trainer",
        "version": "0.0.1",
        "framework": "pytorch",
        "framework_version": "2.13.0",
        "main_file": "trainer.py",
        "extra_files": ["helper.py"],
        "requirements": "requirements.txt",
        "base_image": "python:3.11",
        "image_name": "registry.local/kaptain/tiny",
        "config": Config.default(base_dir=str(TRAINERS)),
    }
    fields.update(overrides)
    return Model(**fields)  # type: ignore[arg-type]


def records(directory: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def test_train_two_workers_end_to_end(
    worker: WorkerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    first_revision = model.revision
    record_dir = tmp_path / "seen"
    ok = model.train(
        workers=2,
        cpu="1",
        memory="1G",
        hyperparameters={"--epochs": 3, "--lr": 0.25},
        args={"--record-dir": str(record_dir)},
        verbose=True,
    )
    out = capsys.readouterr().out
    assert ok, out
    assert model.state.value == "trained"
    assert model.revision != first_revision
    assert model.hyperparameters == {"--epochs": "3", "--lr": "0.25"}
    assert model.metrics is not None
    assert model.metrics["accuracy"] == {"min": 0.25, "max": 0.75, "latest": 0.75}
    assert model.model_uri is not None
    assert model.model_uri.endswith(f"/dev/tiny/trained/{model.revision}")
    uploaded = Path(model.model_uri.removeprefix("file://")) / "model.txt"
    assert uploaded.read_text() == "lr=0.25\n"
    # verbose streaming: each replica's lines, prefixed by the replica name
    assert "[master-0] replica rank 0 starting" in out
    assert "[worker-0] replica rank 1 starting" in out

    seen = {r["env"]["RANK"]: r for r in records(record_dir)}  # type: ignore[index]
    assert sorted(seen) == ["0", "1"]
    for rank, record in seen.items():
        env = record["env"]
        assert isinstance(env, dict)
        assert env["WORLD_SIZE"] == "2"
        assert env["MASTER_ADDR"] == "127.0.0.1"
        assert env["PET_NODE_RANK"] == rank
        assert env["PET_NNODES"] == "2"
        assert env["MODEL_LIFECYCLE_PHASE"] == "training"
        assert env["GPUS"] == "1" or env["GPUS"] == "0"
        assert env["CUDA_VISIBLE_DEVICES"] == ""
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["TRAINED_MODEL_UPLOAD_PATH"] == model.model_uri
        assert record["argv"][:2] == ["--epochs=3", "--lr=0.25"]  # type: ignore[index]
    assert seen["0"]["env"]["MASTER_PORT"] == seen["1"]["env"]["MASTER_PORT"]  # type: ignore[index]

    history = model.history()
    assert [r.action for r in history] == ["train"]
    assert history[0].revision == model.revision
    assert history[0].details["metrics"]["accuracy"]["latest"] == 0.75
