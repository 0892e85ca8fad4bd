"""``kaptain.utils`` and the ``kaptain`` CLI on the local platform: SDK -> Temporal -> worker.

One training per test: what it left is listed, a stale secret is found by a dry run and
deleted only with ``force``, things Kaptain did not create are never listed nor deleted, and
bad input fails with the seed's exceptions and documented exit codes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from harness import Background, WorkerProcess, job_dirs, make_model, wait_for
from kaptain import utils
from kaptain.cli.exit_codes import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from kaptain.cli.main import main
from kaptain.client.portal import portal
from kaptain.exceptions import (
    KaptainException,
    ModelValidationException,
    ResourceNotFoundException,
)
from kaptain.utils import operations

STALE = "kaptain-dev-tiny-0123abcd-storage"
"""A secret name the SDK could have staged, for a run long gone."""


def _secret(home: Path, name: str, *, age_seconds: float) -> Path:
    path = home / "secrets" / f"{name}.json"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text('{"AWS_ACCESS_KEY_ID": "x"}')
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main([*argv, "--output", "json"]) == EXIT_OK
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_list_clean_and_delete_what_a_train_left(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    assert model.train(workers=2, hyperparameters={"--epochs": 1})
    [job_dir] = job_dirs(kaptain_home)
    namespace = job_dir.parent.name
    # What Kaptain did not make: a folder among the jobs, a secret of another name.
    foreign_job = job_dir.parent / "not-kaptain"
    foreign_job.mkdir()
    foreign_secret = _secret(kaptain_home, "my-own-credentials", age_seconds=3600)
    stale = _secret(kaptain_home, STALE, age_seconds=3600)
    fresh = _secret(kaptain_home, "kaptain-dev-tiny-4567cdef-storage", age_seconds=0)

    listing = _cli_json(capsys, "jobs", "list")
    assert listing["namespace"] == namespace
    [row] = listing["jobs"]
    assert row["name"] == job_dir.name and row["kind"] == "pytorchjob"
    assert row["model"] == "dev/tiny" and row["status"] == "Succeeded" and row["finished"]

    utils.list_jobs()
    assert job_dir.name in capsys.readouterr().out

    diagnosis = _cli_json(capsys, "diagnose")
    secrets = {s["name"] for s in diagnosis["secrets"]}
    assert {STALE, fresh.stem} <= secrets and "my-own-credentials" not in secrets
    assert diagnosis["stale"] == [f"secret/{STALE}"]  # the fresh one may belong to a new run

    # clean: a dry run first, then force; nothing else goes
    utils.clean()
    out = capsys.readouterr().out
    assert STALE in out and "dry run" in out
    assert stale.exists()
    utils.clean(force=True)
    assert not stale.exists()
    assert foreign_secret.exists() and fresh.exists() and job_dir.exists()

    # bad input: the seed's exceptions, nothing deleted
    with pytest.raises(ModelValidationException, match="unknown kind 'deployment'"):
        utils.delete_job(job_dir.name, kind="deployment")
    with pytest.raises(ModelValidationException, match="unknown kind"):
        utils.delete_resource("secrets", STALE)
    with pytest.raises(ResourceNotFoundException, match="no tfjob named"):
        utils.delete_job(job_dir.name, kind="tfjob")
    with pytest.raises(ResourceNotFoundException, match="created by Kaptain"):
        utils.delete_job("not-kaptain")
    with pytest.raises(ResourceNotFoundException):
        utils.delete_experiment("no-such-experiment")
    with pytest.raises(ResourceNotFoundException):
        utils.delete_inference_service("no-such-service")
    assert foreign_job.exists() and job_dir.exists()

    # the CLI's exit codes for the same
    assert main(["jobs", "delete", "no-such-job"]) == EXIT_NOT_FOUND
    assert main(["jobs", "delete", job_dir.name, "--kind", "deployment"]) == EXIT_USAGE
    assert main(["jobs", "delete"]) == EXIT_USAGE  # neither NAME nor --all
    assert "3 not found" in _help(capsys)

    # logs of the finished job, by model id
    capsys.readouterr()
    assert main(["logs", "dev/tiny"]) == EXIT_OK
    assert "[master-0] replica rank 0 starting" in capsys.readouterr().out

    # delete_resource takes the seed's kind names
    utils.delete_resource("PyTorchJob", job_dir.name)
    assert not job_dir.exists() and foreign_job.exists()
    assert _cli_json(capsys, "jobs")["jobs"] == []


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["jobs", "--help"]) == EXIT_OK
    return capsys.readouterr().out


def test_running_jobs_go_only_with_force(worker: WorkerProcess, kaptain_home: Path) -> None:
    model = make_model()

    def train() -> object:
        try:
            return model.train(workers=1, hyperparameters={"--sleep": 120})
        except KaptainException as err:
            return err

    training = Background(train)

    def running() -> bool:
        jobs = portal().run(operations.overview()).jobs()
        return any(job.status == "Running" for job in jobs)

    wait_for(running, timeout=90, interval=1.0)
    [job_dir] = job_dirs(kaptain_home)
    utils.delete_jobs()  # only completed ones
    assert job_dir.exists()

    utils.clean_all(force=True)  # cancels the run, whose cleanup deletes the job too
    assert not job_dir.exists()
    assert "cancelled" in str(training.result(timeout=60))
    runs = portal().run(operations.overview()).running_runs()
    assert not any(run.workflow_id.endswith("/train") for run in runs)


def test_experiments_list_and_delete(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kaptain.hyperparameter.domains import Discrete

    model = make_model()
    assert model.tune(
        hyperparameters={"--lr": Discrete(["0.25", "0.5"])},
        objectives=["accuracy"],
        trials=2,
        parallel_trials=2,
        workers=1,
        algorithm="grid",
    )
    listing = _cli_json(capsys, "experiments")
    [experiment] = listing["experiments"]
    assert experiment["status"] == "Succeeded" and len(experiment["trials"]) == 2
    assert experiment["name"] == f"dev-tiny-{model.revision[:8]}"
    jobs = _cli_json(capsys, "jobs")["jobs"]
    assert {j["experiment"] for j in jobs} == {experiment["name"]}

    utils.delete_jobs(force=True)  # trials' jobs belong to their experiment
    assert len(job_dirs(kaptain_home)) == 2
    assert main(["experiments", "delete", experiment["name"]]) == EXIT_OK
    assert job_dirs(kaptain_home) == []
    assert _cli_json(capsys, "experiments")["experiments"] == []


def test_logs_follow_a_running_job_until_its_run_ends(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    caller = Background(
        lambda: model.train(workers=1, hyperparameters={"--epochs": 4, "--sleep": 8, "--lr": 0.1})
    )
    wait_for(lambda: any(kaptain_home.glob("jobs/*/*/master-0.log")), 60)
    [log] = list(kaptain_home.glob("jobs/*/*/master-0.log"))
    assert "accuracy=0.4" not in log.read_text()  # the last epoch is still to come
    capsys.readouterr()
    assert main(["logs", "dev/tiny"]) == EXIT_OK  # returns when the run ends
    out = capsys.readouterr().out
    assert "[master-0] replica rank 0 starting" in out
    assert "[master-0] accuracy=0.4" in out  # printed while the command followed the job
    assert caller.result(60) is True
