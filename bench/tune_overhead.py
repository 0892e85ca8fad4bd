"""Tuning orchestration overhead: Model.tune against Optuna driving the same objective.

Both sides run N trivial trials, P at a time, of the same subprocess objective (the tiny
test trainer: ``accuracy = lr * epochs``), side by side in one run:

* baseline -- ``optuna.create_study().optimize(objective, n_trials=N, n_jobs=P)`` in this
  process, each trial a ``python tiny_trainer.py --lr=... --epochs=...`` subprocess;
* kaptain -- ``Model.tune(trials=N, parallel_trials=P, workers=1)`` through the embedded
  stack: an experiment workflow, a suggestion activity per trial, a child workflow per trial,
  a supervised replica process, metric collection, the best model copied, tracking.

Usage: ``.venv/bin/python bench/tune_overhead.py [--trials 64] [--parallel 8]``.
Prints trials per minute for each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

TRAINERS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "trainers"


def objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("--lr", 0.1, 0.5)
    epochs = trial.suggest_categorical("--epochs", ["1", "2"])
    done = subprocess.run(
        [sys.executable, "-u", "tiny_trainer.py", f"--lr={lr}", f"--epochs={epochs}"],
        cwd=TRAINERS,
        capture_output=True,
        text=True,
        check=True,
    )
    values = re.findall(r"accuracy=([\d.]+)", done.stdout)
    return float(values[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--parallel", type=int, default=8)
    options = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as home:
        os.environ["KAPTAIN_HOME"] = home
        os.environ.pop("KAPTAIN_TEMPORAL_ADDRESS", None)
        os.environ.pop("AWS_ACCESS_KEY_ID", None)
        from kaptain.config import Config
        from kaptain.hyperparameter.domains import Discrete, Double
        from kaptain.model.models import Model
        from kaptain.stack import stack
        from kaptain.stack.temporal_server import free_port

        stack.up(port=free_port(), ui=False)
        try:
            started = time.perf_counter()
            study = optuna.create_study(direction="maximize")
            study.optimize(objective, n_trials=options.trials, n_jobs=options.parallel)
            baseline = time.perf_counter() - started

            model = Model(
                id="bench/tune", name="tune", description="bench", version="0",
                framework="pytorch", framework_version="2.13.0", main_file="tiny_trainer.py",
                extra_files=["tiny_helper.py"], requirements="requirements.txt",
                base_image="python:3.11", image_name="registry.local/bench/tune",
                config=Config.default(base_dir=str(TRAINERS)),
            )  # fmt: skip
            model.build()  # outside the timing, as the baseline has no build
            started = time.perf_counter()
            ok = model.tune(
                hyperparameters={"--lr": Double(0.1, 0.5), "--epochs": Discrete(["1", "2"])},
                objectives=["accuracy"],
                trials=options.trials,
                parallel_trials=options.parallel,
                failed_trials=options.trials,
                workers=1,
            )
            kaptain = time.perf_counter() - started
            if not ok:
                raise SystemExit("kaptain tune failed")
        finally:
            stack.down()
    per_minute = [options.trials / seconds * 60 for seconds in (baseline, kaptain)]
    print(f"\n{options.trials} trials, {options.parallel} at a time (1 replica each)")
    print(f"baseline (Optuna n_jobs):  {baseline:7.1f} s  {per_minute[0]:7.1f} trials/min")
    print(f"kaptain (Model.tune):      {kaptain:7.1f} s  {per_minute[1]:7.1f} trials/min")
    print(f"ratio kaptain / baseline time: {kaptain / baseline:5.2f}")
    print(f"best: optuna {study.best_value:.4f}, kaptain {model.metrics['accuracy']['latest']:.4f}")  # type: ignore[index]


if __name__ == "__main__":
    main()
