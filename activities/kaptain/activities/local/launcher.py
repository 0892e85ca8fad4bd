"""One replica's supervisor process: ``python -m kaptain.activities.local.launcher SPEC``.

It outlives the worker (own session), holds an exclusive lock on ``<replica>.lock`` for as
long as the replica runs -- so at most one live copy of a replica ever exists -- writes the
trainer's output to ``<replica>.log`` and its exit status to ``<replica>.exit``. A replica
that already has an exit file is never run again. SIGTERM is forwarded to the trainer.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from kaptain.secrets import LocalSecretStore

_GRACE_SECONDS = 10


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(spec_path: Path) -> int:
    """Run the replica described by ``spec_path``; returns the launcher's exit code."""
    spec = json.loads(spec_path.read_text())
    base = spec_path.parent
    name = spec["replica"]
    exit_file = base / f"{name}.exit"
    lock_fd = os.open(base / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another launcher runs this replica
    if exit_file.exists():
        return 0  # it already ran to completion
    env = {**os.environ, **spec["env"]}
    if spec.get("credentials_ref"):
        env.update(LocalSecretStore(Path(spec["secrets_dir"])).get(spec["credentials_ref"]))
    _write_atomic(base / f"{name}.pid", str(os.getpid()))
    with (base / f"{name}.log").open("ab") as log:
        child = subprocess.Popen(
            spec["command"], cwd=spec["cwd"], env=env, stdout=log, stderr=subprocess.STDOUT
        )

        def _forward(signum: int, _frame: FrameType | None) -> None:
            # Never wait here: the main thread is inside child.wait() holding its lock.
            child.send_signal(signum)
            signal.alarm(_GRACE_SECONDS)

        def _kill(_signum: int, _frame: FrameType | None) -> None:
            child.kill()

        signal.signal(signal.SIGTERM, _forward)
        signal.signal(signal.SIGALRM, _kill)
        code = child.wait()
    _write_atomic(exit_file, str(code))
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
