"""Local serving: KServe model-server processes behind the state directory's router.

Layout under the serving directory (``<home>/serving``)::

    router.json router.log routes.json     the router (see serving_processes)
    deployments/<namespace>/<name>.lock    serialises apply and delete of a deployment
    deployments/<namespace>/<name>/<revision>/
        model/ transformer.py revision.json replica-<i>.{json,lock,pid,log,exit}

Every activity is idempotent: ``apply`` adopts replicas that run, downloads and starts the
rest, and routes traffic only to revisions that answered their test inference.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.local.files import exclusive_lock, write_atomic
from kaptain.activities.local.serving_probe import RevisionNotReady, check_replica
from kaptain.activities.local.serving_processes import (
    ReplicaProcesses,
    RouterProcess,
    free_port,
    get_json,
)
from kaptain.activities.local.serving_scale import scale
from kaptain.contracts import ActivityName, StorageRef
from kaptain.contracts.serve import (
    ApplyServing,
    DeploymentMetrics,
    DeploymentRef,
    RevisionMetrics,
    RevisionSpec,
    ServingStatus,
)
from kaptain.secrets import LocalSecretStore
from kaptain.serving.metrics import parse_deployment_metrics
from kaptain.storage import open_location

__all__ = ["LocalServingActivities"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LOG_LINES = 30


def _safe(name: str) -> str:
    return _UNSAFE.sub("-", name).strip(".") or "-"


def _revision_dirs(base: Path, keep: set[str]) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and p.name not in keep)


def _traffic(desired: ApplyServing) -> dict[str, int]:
    if desired.canary is None or desired.canary.revision == desired.baseline.revision:
        return {desired.baseline.revision: 100}
    return {
        desired.baseline.revision: 100 - desired.canary_percent,
        desired.canary.revision: desired.canary_percent,
    }


class LocalServingActivities:
    """Apply, observe and delete deployments on this machine.

    Args:
        serving_dir: The serving state directory (``StatePaths.serving``).
        secrets: Where storage credential references resolve.
        ready_timeout: Seconds a new replica may take to become ready.
    """

    def __init__(
        self, serving_dir: Path, secrets: LocalSecretStore, ready_timeout: float = 300.0
    ) -> None:
        self._dir = serving_dir
        self._secrets = secrets
        self._ready_timeout = ready_timeout
        self._router = RouterProcess(serving_dir)

    def deployment_dir(self, deployment: DeploymentRef) -> Path:
        """Directory of one deployment's revisions."""
        return self._dir / "deployments" / _safe(deployment.namespace) / _safe(deployment.name)

    @activity.defn(name=ActivityName.SERVE_APPLY)
    async def apply(self, desired: ApplyServing) -> ServingStatus:
        """Bring the deployment to ``desired``; see :class:`ApplyServing`.

        Raises:
            ApplicationError: ``RevisionFailed`` when a revision cannot serve (the traffic
                stays where it was), ``UnsupportedDeployment`` for a transformer without a
                module or a name another namespace already serves; both non-retryable.
        """
        deployment = desired.deployment
        wanted = [desired.baseline] + ([desired.canary] if desired.canary else [])
        for spec in wanted:
            if spec.transformer is not None and spec.transformer.module_uri is None:
                raise permanent(
                    "UnsupportedDeployment",
                    f"revision {spec.revision}: the local platform runs a transformer as a "
                    "Python module (preprocess/postprocess) and cannot run the image "
                    f"{spec.transformer.image}; set the transformer's module_uri",
                )
        base = self.deployment_dir(deployment)
        base.mkdir(parents=True, exist_ok=True)
        self._dir.mkdir(parents=True, exist_ok=True)
        async with exclusive_lock(base.parent / f"{base.name}.lock"):
            self._check_name_free(deployment)
            port = await self._router.ensure()
            load = await self._scrape(port, deployment)
            replicas = {
                spec.revision: await self._bring_up(deployment, spec, self._count(base, spec, load))
                for spec in wanted
            }
            traffic = _traffic(desired)
            entry = {
                "namespace": deployment.namespace,
                "revisions": [
                    {
                        "revision": revision,
                        "weight": weight,
                        "backends": self._backends(base / _safe(revision), replicas[revision]),
                    }
                    for revision, weight in traffic.items()
                ],
            }
            await self._write_route(deployment.name, entry)
            await self._confirm_route(port, deployment.name, entry)
            await self._retire(base, keep={_safe(spec.revision) for spec in wanted})
        return ServingStatus(
            url=f"http://127.0.0.1:{port}", traffic=traffic, ready=True, replicas=replicas
        )

    @activity.defn(name=ActivityName.SERVE_METRICS)
    async def metrics(self, deployment: DeploymentRef) -> DeploymentMetrics:
        """The deployment's per-revision request counters, scraped from the router."""
        return await self._scrape(await self._router.ensure(), deployment)

    @staticmethod
    async def _scrape(port: int, deployment: DeploymentRef) -> DeploymentMetrics:
        url = f"http://127.0.0.1:{port}/metrics"
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.get(url) as answer,
        ):
            answer.raise_for_status()
            text = await answer.text()
        return parse_deployment_metrics(text, deployment.name, deployment.namespace)

    @staticmethod
    def _count(base: Path, spec: RevisionSpec, load: DeploymentMetrics) -> int:
        """Replicas the revision runs now (concurrency-based, see ``serving_scale``)."""
        directory = base / _safe(spec.revision)
        directory.mkdir(parents=True, exist_ok=True)
        processes = ReplicaProcesses(directory)
        running = sum(1 for name in processes.names() if processes.running(name))
        return scale(directory, spec, running, load.revisions.get(spec.revision, RevisionMetrics()))

    @activity.defn(name=ActivityName.SERVE_DELETE)
    async def delete(self, deployment: DeploymentRef) -> None:
        """Remove the deployment's route, stop its replicas and delete its files."""
        base = self.deployment_dir(deployment)
        base.parent.mkdir(parents=True, exist_ok=True)
        async with exclusive_lock(base.parent / f"{base.name}.lock"):
            routes = self._read_routes()["deployments"]
            if routes.get(deployment.name, {}).get("namespace") == deployment.namespace:
                await self._write_route(deployment.name, None)
            await self._retire(base, keep=set())
            await asyncio.to_thread(shutil.rmtree, base, True)
        # the router goes with the last deployment (no process outlives what it serves)
        await self._router.stop_if_idle(lambda: not self._read_routes()["deployments"])

    def _check_name_free(self, deployment: DeploymentRef) -> None:
        current = self._read_routes()["deployments"].get(deployment.name)
        if current is not None and current["namespace"] != deployment.namespace:
            raise permanent(
                "UnsupportedDeployment",
                f"the local router already serves {deployment.name!r} for namespace "
                f"{current['namespace']!r}; model names are one namespace on this machine",
            )

    async def _bring_up(self, deployment: DeploymentRef, spec: RevisionSpec, count: int) -> int:
        """Run ``count`` replicas of the revision (adopting live ones), each checked.

        Returns:
            ``count``.
        """
        directory = self.deployment_dir(deployment) / _safe(spec.revision)
        processes = ReplicaProcesses(directory)
        names = [f"replica-{index}" for index in range(count)]
        try:
            await asyncio.to_thread(self._download, deployment.storage, spec, directory)
            ports = self._ports(directory, names, processes)
            for name in names:
                await processes.ensure(name, self._command(deployment, spec, ports[name]))
            await processes.stop([n for n in processes.names() if n not in names])
            for name in names:
                await check_replica(
                    processes,
                    name,
                    f"http://127.0.0.1:{ports[name]}",
                    deployment.name,
                    spec.protocol,
                    directory / "model",
                    self._ready_timeout,
                )
        except RevisionNotReady as failure:
            log = processes.log_tail(failure.replica, _LOG_LINES) if failure.replica else ""
            await processes.stop()
            await asyncio.to_thread(shutil.rmtree, directory, True)
            message = f"revision {spec.revision} of {deployment.name} failed: {failure.reason}"
            if log:
                message += f"\n--- {failure.replica} log (last {_LOG_LINES} lines) ---\n{log}"
            raise permanent("RevisionFailed", message) from None
        return len(names)

    def _download(self, storage: StorageRef, spec: RevisionSpec, directory: Path) -> None:
        """Fetch the model (and transformer module) once; ``model/`` appears when complete."""
        model_dir = directory / "model"
        if model_dir.is_dir():
            return
        directory.mkdir(parents=True, exist_ok=True)
        credentials = self._credentials(storage)
        store, prefix = open_location(spec.model_uri, credentials)
        folder = prefix.rstrip("/") + "/"
        keys = store.list(folder)
        if not keys:
            raise RevisionNotReady(f"there are no model files at {spec.model_uri}")
        staging = directory / "model.partial"
        shutil.rmtree(staging, ignore_errors=True)
        for key in keys:
            store.download_file(key, staging / key[len(folder) :])
        if spec.transformer is not None and spec.transformer.module_uri is not None:
            module_store, module_key = open_location(spec.transformer.module_uri, credentials)
            try:
                module_store.download_file(module_key, directory / "transformer.py")
            except FileNotFoundError:
                raise RevisionNotReady(
                    f"there is no transformer module at {spec.transformer.module_uri}"
                ) from None
        os.replace(staging, model_dir)

    def _credentials(self, storage: StorageRef) -> Mapping[str, str] | None:
        if storage.credentials_ref is None:
            return None
        return self._secrets.get(storage.credentials_ref)

    @staticmethod
    def _ports(directory: Path, names: list[str], processes: ReplicaProcesses) -> dict[str, int]:
        """Each replica's port: kept while it runs, else the same one if still free."""
        record = directory / "revision.json"
        ports: dict[str, int] = json.loads(record.read_text()) if record.exists() else {}
        for name in names:
            if not processes.running(name):
                ports[name] = free_port(ports.get(name))
        write_atomic(record, json.dumps(ports))
        return ports

    def _backends(self, directory: Path, count: int) -> list[str]:
        ports: dict[str, int] = json.loads((directory / "revision.json").read_text())
        return [f"http://127.0.0.1:{ports[f'replica-{i}']}" for i in range(count)]

    @staticmethod
    def _command(deployment: DeploymentRef, spec: RevisionSpec, port: int) -> list[str]:
        command = [
            sys.executable, "-m", "kaptain.serving.server",
            "--name", deployment.name,
            "--model-dir", "model",
            "--framework", spec.framework.value,
            "--http-port", str(port),
        ]  # fmt: skip
        if spec.transformer is not None:
            command += ["--transformer-module", "transformer.py"]
        return command

    def _read_routes(self) -> dict[str, Any]:
        try:
            document: dict[str, Any] = json.loads(self._router.routes_file.read_text())
        except FileNotFoundError:
            return {"deployments": {}}
        return document

    async def _write_route(self, name: str, entry: dict[str, Any] | None) -> None:
        """Set (or, with None, remove) one deployment's routes in the routes file."""
        async with exclusive_lock(self._dir / "routes.lock"):
            document = self._read_routes()
            if entry is None:
                document["deployments"].pop(name, None)
            else:
                document["deployments"][name] = entry
            write_atomic(self._router.routes_file, json.dumps(document, indent=1))

    async def _confirm_route(self, port: int, name: str, entry: dict[str, Any]) -> None:
        """Make sure the router serves ``entry`` (it re-reads the file when it changes)."""
        loaded = await get_json(f"http://127.0.0.1:{port}/-/routes")
        if loaded is None or loaded["deployments"].get(name) != entry:
            raise RuntimeError(f"the router on port {port} did not take the routes of {name}")

    async def _retire(self, base: Path, keep: set[str]) -> None:
        """Stop and delete every revision of the deployment not in ``keep``."""
        for directory in await asyncio.to_thread(_revision_dirs, base, keep):
            await ReplicaProcesses(directory).stop()
            await asyncio.to_thread(shutil.rmtree, directory, True)
