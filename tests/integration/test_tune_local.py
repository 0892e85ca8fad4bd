"""Tuning on the local platform: an experiment workflow, trials as child runs."""

from __future__ import annotations

import _thread
import threading
from pathlib import Path
from typing import Any

import pytest

from harness import Background, WorkerProcess, job_dirs, make_model, records, wait_for
from kaptain.hyperparameter.domains import Discrete, Double


def space() -> dict[str, Any]:
    return {"--lr": Double(0.1, 0.5), "--epochs": Discrete(["1", "2"])}


def test_tune_finds_the_best_trial_and_publishes_it(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    assert model.tune(
        hyperparameters=space(), objectives=["accuracy", "loss"], trials=6, parallel_trials=3
    )
    table = model.trials()
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert len(rows) == 6
    assert {row["state"] for row in rows} == {"succeeded"}
    best = max(rows, key=lambda row: row["objective"])
    worst = min(rows, key=lambda row: row["objective"])
    assert best["objective"] > worst["objective"]  # the search found a better model
    assert model.state.value == "tuned"
    assert model.hyperparameters == {"--lr": best["--lr"], "--epochs": best["--epochs"]}
    assert model.metrics is not None
    assert model.metrics["accuracy"]["latest"] == pytest.approx(best["objective"])
    # the objective is the trainer's lr * epochs, as the trial's flags said
    assert best["objective"] == pytest.approx(round(float(best["--lr"]) * int(best["--epochs"]), 4))
    assert model.model_uri is not None
    tuned = Path(model.model_uri.removeprefix("file://"))
    assert (tuned / "model.txt").read_text() == f"lr={float(best['--lr'])}\n"
    trials_dir = kaptain_home / "storage" / "models" / "dev" / "tiny" / "trials"
    assert not any(trials_dir.rglob("model.txt"))  # the other trials' models are removed
    history = [r for r in model.history() if r.action == "tune"]
    assert len(history) == 1 and history[0].revision == model.revision
    assert "trials" in capsys.readouterr().err  # the progress bar (tqdm writes to stderr)


def test_goal_stops_early_and_cancels_running_trials(
    worker: WorkerProcess, kaptain_home: Path
) -> None:
    model = make_model()
    assert model.tune(
        hyperparameters=space(),
        objectives=["accuracy"],
        objective_goal=0.1,  # every trial reaches it
        trials=12,
        parallel_trials=2,
        args={"--sleep": 2},
    )
    rows = model.trials()
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert len(rows) < 12
    assert "succeeded" in {row["state"] for row in rows}
    finished = [row for row in rows if row["state"] in ("succeeded", "failed")]
    # trials still running when the goal was reached were cancelled and their jobs deleted
    assert len(job_dirs(kaptain_home)) == len(finished)


def test_failed_trials_stop_the_experiment(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    ok = model.tune(
        hyperparameters=space(),
        objectives=["accuracy"],
        trials=8,
        parallel_trials=1,
        failed_trials=2,
        args={"--fail-rank": 0},
    )
    assert ok is False
    out = capsys.readouterr().out
    assert "2 trials failed" in out and "out of cheese" in out
    assert model.state.value == "untrained"


def test_a_trial_without_the_objective_fails_visibly(
    worker: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    ok = model.tune(
        hyperparameters=space(), objectives=["auc"], trials=2, parallel_trials=2, failed_trials=2
    )
    assert ok is False
    assert "without reporting auc" in capsys.readouterr().out


def test_worker_sigkill_mid_experiment_repeats_nothing(
    worker: WorkerProcess, kaptain_home: Path, tmp_path: Path
) -> None:
    model = make_model()
    seen = tmp_path / "seen"
    caller = Background(
        lambda: model.tune(
            hyperparameters=space(),
            objectives=["accuracy"],
            trials=4,
            parallel_trials=2,
            workers=1,
            args={"--sleep": 4, "--record-dir": str(seen)},
        )
    )
    wait_for(lambda: len(records(seen)) >= 2, 60)  # two trials running
    worker.kill()
    worker.start()
    assert caller.result(240) is True
    starts = [r["env"]["KAPTAIN_JOB_NAME"] for r in records(seen)]
    assert len(starts) == 4  # four trials, each started exactly once
    assert len(set(starts)) == 4


def test_keyboard_interrupt_cancels_the_experiment_and_its_trials(
    worker: WorkerProcess, kaptain_home: Path
) -> None:
    model = make_model()

    def interrupt_when_running() -> None:
        wait_for(lambda: len(list(kaptain_home.glob("jobs/*/*/master-0.pid"))) >= 2, 60)
        _thread.interrupt_main()

    thread = threading.Thread(target=interrupt_when_running)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        model.tune(
            hyperparameters=space(),
            objectives=["accuracy"],
            trials=6,
            parallel_trials=2,
            workers=1,
            args={"--sleep": 120},
        )
    thread.join()
    wait_for(lambda: job_dirs(kaptain_home) == [], 30)


def test_hyperband_stops_lagging_trials_early(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    assert model.tune(
        hyperparameters={"--lr": Double(0.05, 0.5)},
        objectives=["accuracy"],
        trials=6,
        parallel_trials=3,
        workers=1,
        algorithm="hyperband",
        algorithm_setting={"eta": 2, "min_resource": 1},
        args={"--epochs": 6, "--sleep": 6},  # one report a second
    )
    rows = model.trials()
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    pruned = [row for row in rows if row["state"] == "pruned"]
    succeeded = [row for row in rows if row["state"] == "succeeded"]
    assert pruned, rows  # some trials were stopped on their intermediate reports
    assert all("stopped early by hyperband" in row["message"] for row in pruned)
    # a pruned trial lagged a trial that ran on (accuracy grows with lr at every epoch)
    assert min(float(row["--lr"]) for row in pruned) < max(float(r["--lr"]) for r in succeeded)
    assert model.hyperparameters == {"--lr": max(succeeded, key=lambda r: r["objective"])["--lr"]}
    # the pruned trials' jobs were deleted when they were stopped
    assert len(job_dirs(kaptain_home)) == len(rows) - len(pruned)


def test_delete_experiment_removes_every_trial_job(
    worker: WorkerProcess, kaptain_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_DELETE_EXPERIMENT", "yes")
    model = make_model()
    assert model.tune(hyperparameters=space(), objectives=["accuracy"], trials=2, workers=1)
    assert job_dirs(kaptain_home) == []
    assert model.state.value == "tuned"
