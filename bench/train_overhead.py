"""Orchestration overhead of ``Model.train`` against launching the same replicas by hand.

Both sides run the mnist example (2 DDP replicas, 1 epoch) with the same environment
contract, side by side, in one run:

* baseline -- two ``python trainer.py`` processes started directly with MASTER_ADDR,
  MASTER_PORT, WORLD_SIZE and RANK set, waited for;
* kaptain -- ``Model.train(workers=2, ...)`` through the embedded stack (Temporal dev server
  + local worker): workflow, activities, replica launchers, metric collection, upload check,
  tracking record.

Usage: ``.venv/bin/python bench/train_overhead.py [--runs N]``. Prints seconds per run and the
ratio kaptain / baseline. The stack runs under a temporary KAPTAIN_HOME and is stopped after.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist"
FLAGS = ["--epochs=1", "--lr=0.05"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def baseline_run(workdir: Path) -> float:
    port = free_port()
    started = time.perf_counter()
    processes = []
    for rank in range(2):
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "PYTHONUNBUFFERED": "1",
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-u", "trainer.py", *FLAGS],
                cwd=EXAMPLE,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    codes = [p.wait() for p in processes]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"baseline run failed: {codes}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home:
        os.environ["KAPTAIN_HOME"] = home
        os.environ.pop("KAPTAIN_TEMPORAL_ADDRESS", None)
        os.environ.pop("AWS_ACCESS_KEY_ID", None)
        from kaptain.config import Config
        from kaptain.model.models import Model
        from kaptain.stack import stack

        stack.up(port=free_port(), ui=False)
        try:
            model = Model(
                id="bench/mnist", name="MNIST", description="bench", version="0",
                framework="pytorch", framework_version="2.13.0", main_file="trainer.py",
                extra_files=["model.py"], requirements="requirements.txt",
                base_image="pytorch/pytorch:2.13.0", image_name="registry.local/bench/mnist",
                config=Config.default(base_dir=str(EXAMPLE)),
            )  # fmt: skip
            model.build()  # warm-up: the environment is built once, outside the timings
            baseline: list[float] = []
            kaptain: list[float] = []
            for _ in range(runs):  # interleaved, so drift hits both sides alike
                baseline.append(baseline_run(Path(home)))
                started = time.perf_counter()
                if not model.train(workers=2, hyperparameters={"--epochs": 1, "--lr": 0.05}):
                    raise SystemExit("kaptain run failed")
                kaptain.append(time.perf_counter() - started)
        finally:
            stack.down()
    b, k = statistics.median(baseline), statistics.median(kaptain)
    print(f"\nruns: {runs} each, median seconds per run (2 replicas, 1 epoch)")
    print(f"baseline (processes by hand): {b:6.2f} s   all: {[round(x, 2) for x in baseline]}")
    print(f"kaptain (Model.train):       {k:6.2f} s   all: {[round(x, 2) for x in kaptain]}")
    print(f"ratio kaptain / baseline:    {k / b:6.2f}   overhead: {k - b:+.2f} s per run")


if __name__ == "__main__":
    main()
