"""Build and train on the local platform, end to end: SDK -> Temporal -> worker -> processes."""

from __future__ import annotations

import _thread
import json
import os
import threading
from pathlib import Path

import pytest

from harness import Background, WorkerProcess, job_dirs, make_model, records, wait_for
from kaptain.model.models import Model


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

    seen = {r["env"]["RANK"]: r for r in records(record_dir)}
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
        assert record["argv"][:2] == ["--epochs=3", "--lr=0.25"]
    assert seen["0"]["env"]["MASTER_PORT"] == seen["1"]["env"]["MASTER_PORT"]

    history = model.history()
    assert [r.action for r in history] == ["train"]
    assert history[0].revision == model.revision
    assert history[0].details["metrics"]["accuracy"]["latest"] == 0.75


def test_failed_replica_fails_the_job_and_stops_the_others(
    worker: WorkerProcess,
    kaptain_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAPTAIN_TEMPORAL_UI", "http://ui.test")
    model = make_model()
    revision = model.revision
    ok = model.train(workers=3, hyperparameters={"--epochs": 2, "--sleep": 30, "--fail-rank": 1})
    out = capsys.readouterr().out
    assert ok is False
    assert "replica worker-0 exited with code 3" in out
    assert "out of cheese" in out  # the failing replica's log tail
    assert "The run failed; its history and failure: http://ui.test/namespaces/" in out
    assert model.state.value == "untrained" and model.revision == revision
    [job] = job_dirs(kaptain_home)  # kept for troubleshooting
    exits = {p.stem: p.read_text() for p in job.glob("*.exit")}
    assert exits["worker-0"] == "3"
    assert exits["master-0"] != "0" and exits["worker-1"] != "0"  # stopped, not finished
    assert [r.details["reason"] for r in model.history()] == ["Failed"]


def test_timeout_deletes_the_job(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    ok = model.train(workers=1, hyperparameters={"--sleep": 120}, timeout=3)
    assert ok is False
    assert "did not finish within 3 s" in capsys.readouterr().out
    assert job_dirs(kaptain_home) == []


def test_force_cleanup_deletes_the_finished_job(worker: WorkerProcess, kaptain_home: Path) -> None:
    model = make_model()
    assert model.train(workers=1, hyperparameters={"--epochs": 1}, force_cleanup=True)
    assert job_dirs(kaptain_home) == []
    assert model.model_uri is not None  # the model outlives the job


def test_ttl_cleanup_is_a_durable_timer(
    worker: WorkerProcess, kaptain_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", "2")
    model = make_model()
    assert model.train(workers=1, hyperparameters={"--epochs": 1})
    assert len(job_dirs(kaptain_home)) == 1  # kept until the TTL runs out
    wait_for(lambda: job_dirs(kaptain_home) == [], timeout=60)


def test_tensorflow_jobs_get_tf_config(worker: WorkerProcess, tmp_path: Path) -> None:
    model = make_model("dev/tiny-tf", framework="tf")
    record_dir = tmp_path / "seen"
    assert model.train(
        workers=3, hyperparameters={"--epochs": 1}, args={"--record-dir": str(record_dir)}
    )
    configs = [json.loads(r["env"]["TF_CONFIG"]) for r in records(record_dir)]
    tasks = sorted((c["task"]["type"], c["task"]["index"]) for c in configs)
    assert tasks == [("chief", 0), ("worker", 0), ("worker", 1)]
    cluster = configs[0]["cluster"]
    assert len(cluster["chief"]) == 1 and len(cluster["worker"]) == 2
    assert all("MASTER_ADDR" not in r["env"] for r in records(record_dir))


def test_gpus_map_to_cuda_visible_devices_per_replica(
    worker: WorkerProcess, tmp_path: Path
) -> None:
    model = make_model()
    record_dir = tmp_path / "seen"
    assert model.train(
        workers=2, gpus=2, hyperparameters={"--epochs": 1}, args={"--record-dir": str(record_dir)}
    )
    seen = {r["env"]["RANK"]: r["env"] for r in records(record_dir)}
    assert seen["0"]["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert seen["1"]["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert seen["0"]["GPUS"] == "2"


def test_second_train_attaches_to_the_running_one(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = make_model(), make_model()
    caller = Background(
        lambda: first.train(workers=1, hyperparameters={"--epochs": 2, "--sleep": 4})
    )
    try:
        wait_for(lambda: "Running" in capsys.readouterr().out or thread_running_job(first), 30)
        assert second.train(workers=1, hyperparameters={"--epochs": 2, "--sleep": 4})
    finally:
        first_result = caller.result(60)
    assert first_result is True
    assert first.revision == second.revision  # one run, two callers
    assert len([r for r in second.history() if r.action == "train"]) == 1


def thread_running_job(model: Model) -> bool:
    home = Path(os.environ["KAPTAIN_HOME"])
    return any(home.glob("jobs/*/*/master-0.pid"))


def test_keyboard_interrupt_cancels_and_cleans_up(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()

    def interrupt_when_running() -> None:
        wait_for(lambda: thread_running_job(model), 60)
        _thread.interrupt_main()  # what Ctrl-C / "interrupt kernel" does

    timer = threading.Thread(target=interrupt_when_running)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.train(workers=2, hyperparameters={"--sleep": 120})
    timer.join()
    out = capsys.readouterr().out
    assert "cancelling the run" in out
    assert job_dirs(kaptain_home) == []
    assert model.state.value == "untrained"
