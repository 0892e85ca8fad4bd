"""The emulator: object store + HTTP API server + simulated controllers and kubelet."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml

from kubeemu import resources
from kubeemu.apiserver import ApiServer
from kubeemu.audit import AuditLog
from kubeemu.controllers import JobController, KServeController, TrainingOperator
from kubeemu.controllers.base import Controller
from kubeemu.errors import ApiError
from kubeemu.events import EventRecorder
from kubeemu.faults import Faults
from kubeemu.handler import EmulatorHTTPServer, ServerContext
from kubeemu.kubelet import Kubelet
from kubeemu.logs import LogBook
from kubeemu.resources import ResourceType
from kubeemu.runtimes import ImageRecord, ImageStore, Runtime
from kubeemu.runtimes.kaniko import KANIKO_IMAGE, kaniko_runtime
from kubeemu.runtimes.kserve import (
    SERVING_IMAGE,
    STORAGE_INITIALIZER_IMAGE,
    serving_runtime,
    storage_initializer_runtime,
)
from kubeemu.runtimes.python import python_runtime
from kubeemu.scheduling import GPU
from kubeemu.store import ObjectStore
from kubeemu.util import JSON, clone
from kubeemu.validation import DEFAULT_CRDS_DIR, Validator

T = TypeVar("T")
NODE_NAME = "kubeemu-node"


def _node(name: str, gpus: int, labels: dict[str, str]) -> JSON:
    capacity = {
        "cpu": "16",
        "memory": "64Gi",
        "pods": "110",
        "ephemeral-storage": "100Gi",
        GPU: str(gpus),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                **labels,
            },
        },
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0-kubeemu",
                "containerRuntimeVersion": "kubeemu://1.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


class KubeEmulator:
    """A Kubernetes API server on ``127.0.0.1`` for tests, with a simulated Training
    Operator, Job controller and kubelet that runs pods as local processes.

    Example:
        >>> with KubeEmulator(gpus=0) as emu:
        ...     kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="ns")
        ...     kubernetes.config.load_kube_config(config_file=str(kubeconfig))
        ...     kubernetes.client.CoreV1Api().list_namespaced_pod("ns")

    Args:
        crds_dir: Where the CRD YAML files are (default ``<repo>/../shared/crds``).
        history_limit: Changes kept for watches; older resourceVersions get 410 Expired.
        gpus: ``nvidia.com/gpu`` capacity of the node.
        node_labels: Extra labels of the node (for ``nodeSelector`` tests).
        auto_namespaces: Create namespaces on first use (else 404 like a real server).
        webhooks: Run the Training Operator's validating webhook on PyTorchJob/TFJob writes.
        controllers: Start the Training Operator, Job controller, KServe controller and
            kubelet.
        workdir: Where pods and image contexts live (default: a temporary directory,
            removed by :meth:`stop`).
        bookmark_interval: Seconds between BOOKMARK events on watches that allow them.
        job_backoff: First delay before a Job replaces a failed pod.
        grace_period: Seconds between SIGTERM and SIGKILL when a pod is deleted.
    """

    def __init__(
        self,
        *,
        crds_dir: Path | str | None = None,
        history_limit: int = 1000,
        gpus: int = 0,
        node_labels: dict[str, str] | None = None,
        auto_namespaces: bool = True,
        webhooks: bool = True,
        controllers: bool = True,
        workdir: Path | str | None = None,
        bookmark_interval: float = 1.0,
        job_backoff: float = 0.2,
        grace_period: float = 2.0,
    ) -> None:
        self.store = ObjectStore(history_limit)
        self.logs = LogBook()
        self.validator = Validator(
            Path(crds_dir) if crds_dir else DEFAULT_CRDS_DIR, webhooks=webhooks
        )
        self.api = ApiServer(self.store, self.validator, self.logs, auto_namespaces=auto_namespaces)
        self.faults = Faults()
        """Fault rules (see :class:`~kubeemu.faults.Faults`)."""
        self.requests = AuditLog()
        """Every HTTP request, as :class:`~kubeemu.audit.RequestRecord`."""
        self.recorder = EventRecorder(self.store)
        self.runtimes: dict[str, Runtime] = {
            KANIKO_IMAGE: kaniko_runtime,
            STORAGE_INITIALIZER_IMAGE: storage_initializer_runtime,
            SERVING_IMAGE: serving_runtime,
        }
        """Image regex → runtime (first match wins); see :mod:`kubeemu.runtimes`."""
        self.default_runtime: Runtime = python_runtime
        """The runtime of images no pattern matches."""
        self.pull_failures: set[str] = set()
        """Image regexes whose pulls fail (ErrImagePull, then ImagePullBackOff)."""
        self.extra_env: dict[str, str] = {}
        """Host environment every container process gets (under its own)."""
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kubeemu-"))
        self.images = ImageStore(self.workdir / "images")
        """Images pushed by kaniko builds (reference → build context)."""
        self._controllers_enabled = controllers
        self._bookmark_interval = bookmark_interval
        self._job_backoff = job_backoff
        self._grace = grace_period
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._controllers: list[Controller] = []
        self._kubelet: Kubelet | None = None
        for namespace in ("default", "kube-system", "kube-public"):
            self.api.create_namespace(namespace)
        self.put_object(_node(NODE_NAME, gpus, node_labels or {}))

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> KubeEmulator:
        """Starts the HTTP server on a free port and the controllers."""
        if self._server is not None:
            return self
        context = ServerContext(
            self.api, self.faults, self.requests, bookmark_interval=self._bookmark_interval
        )
        self._server = EmulatorHTTPServer(("127.0.0.1", 0), context)
        context.address = f"127.0.0.1:{self._server.server_address[1]}"
        self.api.stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="kubeemu-http",
            daemon=True,
        )
        self._thread.start()
        if self._controllers_enabled:
            self._controllers = [
                TrainingOperator(self.api, self.recorder),
                JobController(self.api, self.recorder, backoff=self._job_backoff),
                KServeController(self.api, self.recorder, self.logs, self.workdir / "kserve"),
            ]
            self._kubelet = Kubelet(
                self.store,
                self.recorder,
                self.logs,
                self.images,
                self,
                self.workdir / "pods",
                grace=self._grace,
            )
            for worker in (*self._controllers, self._kubelet):
                worker.start()
        return self

    def stop(self) -> None:
        """Stops everything: streams, controllers, pod processes, the server, temp files."""
        self.api.stopping.set()
        workers: list[Controller | Kubelet] = [*self._controllers]
        if self._kubelet is not None:
            workers.append(self._kubelet)
        for worker in workers:
            worker.stop_event.set()
        self.store.wake()
        for controller in self._controllers:
            controller.shutdown()
        self._controllers = []
        if self._kubelet is not None:
            self._kubelet.shutdown()
            self._kubelet = None
        self.logs.close_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KubeEmulator:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path | str, namespace: str = "default") -> Path:
        """A kubeconfig for this server (plain HTTP, no credentials) at ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubeemu", "cluster": {"server": self.url}}],
            "users": [{"name": "kubeemu", "user": {}}],
            "contexts": [
                {
                    "name": "kubeemu",
                    "context": {"cluster": "kubeemu", "user": "kubeemu", "namespace": namespace},
                }
            ],
            "current-context": "kubeemu",
        }
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` for this server (leaves the global default alone)."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    # -- state for tests --------------------------------------------------------------------

    def add_image(
        self,
        reference: str,
        context_dir: Path | str,
        *,
        entrypoint: list[str] | None = None,
        cmd: list[str] | None = None,
        workdir: str = "/app",
        env: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> ImageRecord:
        """Registers an image built elsewhere (its files are ``context_dir``), so pods of
        ``reference`` run with the python runtime as if kaniko had pushed it."""
        digest = "sha256:" + hashlib.sha256(f"{reference}@{context_dir}".encode()).hexdigest()
        record = ImageRecord(
            reference=reference,
            digest=digest,
            context_dir=self.images.keep(Path(context_dir), digest),
            workdir=workdir,
            entrypoint=list(entrypoint or []),
            cmd=list(cmd or []),
            env=dict(env or {}),
            labels=dict(labels or {}),
        )
        self.images.add(record)
        return record

    @staticmethod
    def _type(resource: str | ResourceType) -> ResourceType:
        return resource if isinstance(resource, ResourceType) else resources.resolve(resource)

    def objects(self, resource: str, namespace: str | None = None) -> list[JSON]:
        """Copies of the stored objects of a type (``pods``, ``pytorchjobs``, ``Pod`` ...)."""
        return self.store.items(self._type(resource), namespace)

    def get(self, resource: str, namespace: str | None, name: str) -> JSON | None:
        """A copy of one stored object, or ``None``."""
        return self.store.get(self._type(resource), namespace, name)

    def put_object(self, obj: JSON) -> JSON:
        """Seeds (or overwrites) an object as given — no validation, status kept — filling
        uid/resourceVersion/creationTimestamp; its namespace is created when missing."""
        rt = resources.for_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if rt is None:
            raise KeyError(f"no resource for {obj.get('apiVersion')}/{obj.get('kind')}")
        body = clone(obj)
        namespace = body.setdefault("metadata", {}).get("namespace")
        if rt.namespaced:
            body["metadata"]["namespace"] = namespace = namespace or "default"
            self.api.ensure_namespace(namespace)
        with self.store.lock:
            if self.store.get(rt, namespace, body["metadata"]["name"]) is not None:
                return self.store.replace(rt, body)
            return self.store.insert(rt, body)

    def delete_object(
        self, resource: str, namespace: str | None, name: str, propagation: str = "Background"
    ) -> None:
        """Deletes an object and, unless ``Orphan``, its dependents."""
        self.api.remove_cascading(self._type(resource), namespace, name, propagation)

    def events(
        self,
        namespace: str | None = None,
        *,
        involved: str | None = None,
        reason: str | None = None,
    ) -> list[JSON]:
        """Stored Events, optionally about one object name and/or with one reason."""
        return [
            e
            for e in self.objects("events", namespace)
            if (involved is None or e.get("involvedObject", {}).get("name") == involved)
            and (reason is None or e.get("reason") == reason)
        ]

    def pod_log(self, namespace: str, name: str, container: str | None = None) -> str:
        """Everything a pod's container printed so far ("" when it has not started)."""
        pod = self.get("pods", namespace, name)
        if pod is None:
            return ""
        container = container or pod["spec"]["containers"][0]["name"]
        log = self.logs.find(namespace, name, container)
        return log.text() if log is not None else ""

    def kill_pod(self, namespace: str, name: str, exit_code: int = 137) -> None:
        """Kills a running pod's containers; they report ``exit_code``."""
        if self._kubelet is None or not self._kubelet.kill_pod(namespace, name, exit_code):
            raise ApiError(404, f'pod "{name}" is not running')

    @property
    def gpu_capacity(self) -> int:
        """``nvidia.com/gpu`` of the node (settable)."""
        node = self.get("nodes", None, NODE_NAME) or {}
        return int((node.get("status") or {}).get("capacity", {}).get(GPU, 0))

    @gpu_capacity.setter
    def gpu_capacity(self, gpus: int) -> None:
        def change(node: JSON) -> JSON:
            for key in ("capacity", "allocatable"):
                node["status"][key][GPU] = str(gpus)
            return node

        self.store.mutate(resources.resolve("nodes"), None, NODE_NAME, change)

    def wait_for(
        self, condition: Callable[[], T | None], timeout: float = 10.0, message: str = "condition"
    ) -> T:
        """Waits (woken by store changes) until ``condition()`` is truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
            with self.store.changed:
                self.store.changed.wait(min(remaining, 0.1))
