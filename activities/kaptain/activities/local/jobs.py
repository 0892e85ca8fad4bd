"""Local training jobs: one supervised process per replica, on this machine.

A job is a directory ``<jobs>/<namespace>/<name>/`` holding ``job.json`` and, per replica,
its launch spec, lock, pid, log and exit files. Every activity is idempotent: a retried
``start_job`` adopts the replicas that already run, and a replica never runs twice.
Beside the directory, ``<name>.lock`` serialises start and delete, and ``<name>.deleted`` is
a tombstone: a deleted job is never started again.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.local.files import exclusive_lock, lock_is_held, tail_lines, write_atomic
from kaptain.activities.metrics import parse_metrics
from kaptain.activities.replica_env import (
    cuda_devices,
    kaptain_env,
    pytorch_env,
    replica_names,
    tf_config,
)
from kaptain.contracts import ActivityName, JobKind, JobOutcome, JobRef, JobSpec, WaitJobInput
from kaptain.secrets import LocalSecretStore

_LOOPBACK = "127.0.0.1"
_POLL_SECONDS = 0.5
_LAUNCH_TIMEOUT_SECONDS = 30.0
_STOP_GRACE_SECONDS = 10.0
_TAIL_LINES = 30


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((_LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class LocalJobActivities:
    """Start, wait for and delete local jobs.

    Args:
        jobs_dir: Root of the job directories (``<home>/jobs``).
        envs_dir: Root of the built environments (``<home>/envs``).
        secrets: Where credential references resolve (read by the replica launchers).
        secrets_dir: The directory of ``secrets``, handed to the launchers.
    """

    def __init__(
        self, jobs_dir: Path, envs_dir: Path, secrets: LocalSecretStore, secrets_dir: Path
    ) -> None:
        self._jobs_dir = jobs_dir
        self._envs_dir = envs_dir
        self._secrets = secrets
        self._secrets_dir = secrets_dir

    def job_dir(self, namespace: str, name: str) -> Path:
        """Directory of one job."""
        return self._jobs_dir / namespace / name

    def _ref(self, spec_or_ref: JobSpec | JobRef) -> JobRef:
        base = self.job_dir(spec_or_ref.namespace, spec_or_ref.name)
        kind = spec_or_ref.kind
        count = spec_or_ref.replicas
        return JobRef(
            name=spec_or_ref.name,
            namespace=spec_or_ref.namespace,
            kind=kind,
            replicas=count,
            log_locations=[f"file://{base}/{n}.log" for n in replica_names(kind, count)],
        )

    @activity.defn(name=ActivityName.START_JOB)
    async def start_job(self, spec: JobSpec) -> JobRef:
        """Start every replica that is neither running nor finished; adopt the rest."""
        env_dir = Path(spec.image.location)
        if not (env_dir / "READY").exists():
            raise permanent(
                "WorkloadDeploymentError",
                f"the environment of image {spec.image.image} is missing at {env_dir}",
            )
        base = self.job_dir(spec.namespace, spec.name)
        base.parent.mkdir(parents=True, exist_ok=True)
        async with exclusive_lock(base.parent / f"{spec.name}.lock"):
            if (base.parent / f"{spec.name}.deleted").exists():
                raise permanent("WorkloadDeploymentError", f"job {spec.name} was deleted")
            base.mkdir(exist_ok=True)
            plan = self._plan(spec, base)
            for replica in plan["replicas"]:
                activity.heartbeat(replica["replica"])
                await self._launch(base, replica)
        return self._ref(spec)

    def _plan(self, spec: JobSpec, base: Path) -> dict[str, Any]:
        """The job's replica specs, written once and reused by every retry."""
        plan_file = base / "job.json"
        if plan_file.exists():
            plan: dict[str, Any] = json.loads(plan_file.read_text())
            return plan
        names = replica_names(spec.kind, spec.replicas)
        ports = _free_ports(spec.replicas)
        addresses = [f"{_LOOPBACK}:{port}" for port in ports]
        env_dir = Path(spec.image.location)
        python = str(env_dir / "venv" / "bin" / "python")
        replicas = []
        for index, name in enumerate(names):
            env = kaptain_env(spec)
            env["CUDA_VISIBLE_DEVICES"] = cuda_devices(index, spec.resources.gpus)
            if spec.kind is JobKind.PYTORCH:
                env.update(pytorch_env(index, spec.replicas, _LOOPBACK, ports[0]))
            else:
                env.update(tf_config(index, addresses))
            replicas.append(
                {
                    "replica": name,
                    "command": [python, "-u", spec.main_file, *spec.flags],
                    "cwd": str(base / "work" / name),
                    "code": str(env_dir / "code"),
                    "env": env,
                    "credentials_ref": spec.storage.credentials_ref,
                    "secrets_dir": str(self._secrets_dir),
                }
            )
        plan = {"spec": spec.model_dump(mode="json"), "replicas": replicas}
        write_atomic(plan_file, json.dumps(plan, indent=1))
        return plan

    async def _launch(self, base: Path, replica: dict[str, Any]) -> None:
        name = replica["replica"]
        if not await asyncio.to_thread(_spawn_launcher, base, replica):
            return  # finished, or its launcher is alive: adopt
        # Wait until the launcher holds its lock, so that waiters never see a gap.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LAUNCH_TIMEOUT_SECONDS
        while not (base / f"{name}.pid").exists() and not (base / f"{name}.exit").exists():
            activity.heartbeat(name)
            if loop.time() > deadline:
                tail = "\n".join(tail_lines(base / f"{name}.launcher.log", 20))
                raise RuntimeError(f"replica {name} did not start:\n{tail}")
            await asyncio.sleep(0.05)

    @activity.defn(name=ActivityName.WAIT_JOB)
    async def wait_job(self, wait: WaitJobInput) -> JobOutcome:
        """Wait for the job to end, heartbeating; a failed replica stops the others."""
        job = wait.job
        base = self.job_dir(job.namespace, job.name)
        names = replica_names(job.kind, job.replicas)
        while True:
            states = {name: self._replica_state(base, name) for name in names}
            failed = [n for n, s in states.items() if s not in ("running", "0")]
            if failed:
                await self._stop(base, names)
                return self._failure(base, names, failed[0], states[failed[0]])
            if all(s == "0" for s in states.values()):
                return JobOutcome(
                    succeeded=True,
                    reason="Succeeded",
                    message=f"all {job.replicas} replicas succeeded",
                    metrics=self._metrics(base, names[0]),
                )
            activity.heartbeat({n: s for n, s in states.items()})
            await asyncio.sleep(_POLL_SECONDS)

    def _replica_state(self, base: Path, name: str) -> str:
        """``running``, the exit code as a string, or ``lost``."""
        exit_file = base / f"{name}.exit"
        if exit_file.exists():
            return exit_file.read_text().strip()
        if lock_is_held(base / f"{name}.lock"):
            return "running"
        # The launcher may have written the exit file just after our first look.
        return exit_file.read_text().strip() if exit_file.exists() else "lost"

    def _failure(self, base: Path, names: list[str], name: str, state: str) -> JobOutcome:
        if state == "lost":
            message = f"replica {name} disappeared (its supervisor is gone)"
        else:
            message = f"replica {name} exited with code {state}"
        return JobOutcome(
            succeeded=False,
            reason="Failed",
            message=message,
            log_tail="\n".join(tail_lines(base / f"{name}.log", _TAIL_LINES)),
            metrics=self._metrics(base, names[0]),
        )

    @staticmethod
    def _metrics(base: Path, leader: str) -> dict[str, list[float]]:
        try:
            with (base / f"{leader}.log").open(errors="replace") as log:
                return parse_metrics(log)
        except FileNotFoundError:
            return {}

    async def _stop(self, base: Path, names: list[str]) -> None:
        """SIGTERM each live replica's process group, SIGKILL after a grace period."""
        live = [n for n in names if lock_is_held(base / f"{n}.lock")]
        for name in live:
            _signal_group(base / f"{name}.pid", signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE_SECONDS
        while any(lock_is_held(base / f"{n}.lock") for n in live):
            activity.heartbeat("stopping")
            if loop.time() > deadline:
                for name in live:
                    _signal_group(base / f"{name}.pid", signal.SIGKILL)
                break
            await asyncio.sleep(0.1)

    @activity.defn(name=ActivityName.JOB_METRICS)
    async def job_metrics(self, job: JobRef) -> dict[str, list[float]]:
        """Every ``name=value`` the leader replica printed so far."""
        base = self.job_dir(job.namespace, job.name)
        return self._metrics(base, replica_names(job.kind, job.replicas)[0])

    @activity.defn(name=ActivityName.DELETE_JOB)
    async def delete_job(self, job: JobRef) -> bool:
        """Stop the job's replicas and remove its directory; False when it was gone."""
        base = self.job_dir(job.namespace, job.name)
        base.parent.mkdir(parents=True, exist_ok=True)
        # Under the job's lock, after any start in flight; the tombstone stops a start
        # that has not taken the lock yet (a cancel can overtake it).
        async with exclusive_lock(base.parent / f"{job.name}.lock"):
            (base.parent / f"{job.name}.deleted").touch()
            if not base.exists():
                return False
            await self._stop(base, replica_names(job.kind, job.replicas))
            await asyncio.to_thread(shutil.rmtree, base, True)
        return True


def _spawn_launcher(base: Path, replica: dict[str, Any]) -> bool:
    """Start the replica's launcher (detached); False when it is finished or running."""
    name = replica["replica"]
    if (base / f"{name}.exit").exists() or lock_is_held(base / f"{name}.lock"):
        return False
    work = Path(replica["cwd"])
    if not work.exists():
        shutil.copytree(replica["code"], work)  # the image's WORKDIR, one per replica
    spec_file = base / f"{name}.json"
    write_atomic(spec_file, json.dumps(replica))
    with (base / f"{name}.launcher.log").open("ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "kaptain.activities.local.launcher", str(spec_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return True


def _signal_group(pid_file: Path, signum: int) -> None:
    try:
        pid = int(pid_file.read_text())
        os.killpg(pid, signum)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        pass
