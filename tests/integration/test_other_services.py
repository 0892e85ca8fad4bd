"""Other services start Kaptain's runs without the Python SDK: the temporal CLI and JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema

from harness import TRAINERS, WorkerProcess, make_model
from kaptain.contracts import model_slug, train_workflow_id
from kaptain.contracts.catalog import schema_document
from kaptain.model.build_context import collect
from kaptain.stack.temporal_server import find_temporal_cli
from kaptain.storage import open_location


def test_a_service_starts_a_training_run_with_the_temporal_cli(
    worker: WorkerProcess, temporal_address: str, kaptain_home: Path, tmp_path: Path
) -> None:
    # What a service prepares: the build context in storage, and a JSON input.
    model = make_model()
    base = model.config.base_model_storage_uri
    context = collect(str(TRAINERS), "tiny_trainer.py", ["tiny_helper.py"], None, "python:3.11")
    context_uri = f"{base}/dev/tiny/build/{context.checksum}.tar.gz"
    store, key = open_location(context_uri)
    store.put_bytes(key, context.tarball())
    namespace = os.environ["KAPTAIN_SDK_NAMESPACE"]
    train_input = {
        "namespace": namespace,
        "model_id": "dev/tiny",
        "framework": "pytorch",
        "build": {
            "model_id": "dev/tiny",
            "image": f"registry.local/kaptain/tiny:{model_slug('dev/tiny')}-from-a-service",
            "checksum": context.checksum,
            "context_uri": context_uri,
            "dockerfile": context.dockerfile(context.checksum),
            "main_file": "tiny_trainer.py",
            "base_image": "python:3.11",
            "storage": {"base_uri": base},
        },
        "hyperparameters": {"--lr": "0.4", "--epochs": "2"},
        "workers": 2,
        "storage": {"base_uri": base},
    }
    schema = schema_document()["workflows"]["kaptain.TrainModel"]
    jsonschema.validate(train_input, schema["input"])  # the published contract accepts it

    done = subprocess.run(
        [
            find_temporal_cli(), "workflow", "execute",
            "--address", temporal_address,
            "--task-queue", worker.task_queue,
            "--type", "kaptain.TrainModel",
            "--workflow-id", train_workflow_id(namespace, "dev/tiny"),
            "--search-attribute", 'KaptainModelId="dev/tiny"',
            "--search-attribute", 'KaptainAction="train"',
            "--input", json.dumps(train_input),
            "--output", "json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "COMPLETED"
    [result] = outcome["closeEvent"]["workflowExecutionCompletedEventAttributes"]["result"]
    jsonschema.validate(result, schema["result"])  # the result is the published TrainResult
    assert result["succeeded"] is True
    assert result["metrics"]["accuracy"]["latest"] == 0.8

    # The SDK sees the run in the model's history, with the result the service got.
    [record] = [r for r in model.history() if r.action == "train"]
    assert record.details["metrics"]["accuracy"]["latest"] == 0.8
    assert record.revision == result["revision"]
