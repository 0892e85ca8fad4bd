"""The kubelet (and scheduler) of the emulated node(s): binds pods to nodes that fit them,
reports pull and mount failures, and hands ready pods to a :class:`PodRunner`, which runs
their containers for real as local processes (or in-process runtimes).

Scheduling: a pod whose GPU request (``nvidia.com/gpu``) exceeds what any node has left, or
whose ``nodeSelector`` no node matches, stays ``Pending`` with ``PodScheduled=False``
(reason ``Unschedulable``) and a ``FailedScheduling`` Warning event; it is retried as pods
finish or nodes change. Containers are not restarted (every ``restartPolicy`` acts like
``Never``): the pod ends ``Succeeded`` when all containers exit 0, else ``Failed``.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kubeemu import resources
from kubeemu.events import EventRecorder
from kubeemu.logs import LogBook
from kubeemu.podrunner import PodRunner, set_condition
from kubeemu.podspec import MissingReference, materialize_volumes, resolve_env
from kubeemu.runtimes import ImageStore, Runtime
from kubeemu.scheduling import TERMINAL, choose_node
from kubeemu.store import ObjectStore
from kubeemu.util import JSON, now_iso

logger = logging.getLogger("kubeemu.kubelet")

PODS = resources.resolve("pods")
NODES = resources.resolve("nodes")
_HOST_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")


class KubeletSettings(Protocol):
    """The emulator settings the kubelet reads on every pod (tests may change them)."""

    runtimes: dict[str, Runtime]
    default_runtime: Runtime
    pull_failures: set[str]
    extra_env: dict[str, str]


class Kubelet(threading.Thread):
    """Watches pods in the store, schedules them and runs them (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        recorder: EventRecorder,
        logs: LogBook,
        images: ImageStore,
        settings: KubeletSettings,
        root: Path,
        *,
        grace: float = 2.0,
        tick: float = 0.5,
    ) -> None:
        super().__init__(name="kubeemu-kubelet", daemon=True)
        self.store = store
        self.recorder = recorder
        self.logs = logs
        self.images = images
        self.settings = settings
        self.root = root
        self.grace = grace
        self.tick = tick
        self.stop_event = threading.Event()
        self.runners: dict[str, PodRunner] = {}
        self._lock = threading.Lock()
        self._emitted: set[tuple[str, str, str]] = set()
        self._launched: set[str] = set()
        self._pull_failed: dict[tuple[str, str], float] = {}

    # -- helpers used by runners ------------------------------------------------------------

    def pod_dir(self, pod: JSON) -> Path:
        """The scratch directory of a pod."""
        metadata = pod["metadata"]
        path = self.root / f"{metadata['namespace']}_{metadata['name']}_{metadata['uid'][:8]}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def base_env(self, pod: JSON) -> dict[str, str]:
        """Host basics every container process gets beneath its own environment."""
        env = {k: os.environ[k] for k in _HOST_ENV if k in os.environ}
        home = self.pod_dir(pod) / "home"
        home.mkdir(exist_ok=True)
        env["HOME"] = str(home)
        env["HOSTNAME"] = pod["metadata"]["name"]
        env.update(self.settings.extra_env)
        return env

    def runtime_for(self, image: str) -> Runtime:
        """The first runtime whose pattern matches the image, else the default one."""
        for pattern, runtime in list(self.settings.runtimes.items()):
            if re.search(pattern, image):
                return runtime
        return self.settings.default_runtime

    def event(
        self,
        pod: JSON,
        type_: str,
        reason: str,
        message: str,
        *,
        container: str | None = None,
        once: bool = False,
    ) -> None:
        """Records an event about a pod (``once``: at most once per pod and message)."""
        key = (pod["metadata"]["uid"], reason, message)
        if once:
            if key in self._emitted:
                return
            self._emitted.add(key)
        field_path = f"spec.containers{{{container}}}" if container else None
        try:
            self.recorder.emit(
                {**pod, "kind": "Pod", "apiVersion": "v1"},
                type_,
                reason,
                message,
                "kubelet",
                field_path=field_path,
            )
        except Exception:
            logger.debug("kubeemu: event for %s dropped", pod["metadata"]["name"], exc_info=True)

    def runner_done(self, uid: str) -> None:
        """A runner finished."""
        with self._lock:
            self.runners.pop(uid, None)

    # -- control ----------------------------------------------------------------------------

    def kill_pod(self, namespace: str, name: str, exit_code: int) -> bool:
        """Kills a running pod's containers as if they exited with ``exit_code``."""
        with self._lock:
            runner = next(
                (r for r in self.runners.values() if (r.namespace, r.name) == (namespace, name)),
                None,
            )
        if runner is None:
            return False
        runner.kill(exit_code, self.grace)
        return True

    def shutdown(self) -> None:
        """Stops the loop and every container."""
        self.stop_event.set()
        self.join(5)
        with self._lock:
            runners = list(self.runners.values())
        for runner in runners:
            runner.kill(None, min(self.grace, 1.0))
        for runner in runners:
            runner.join(5)

    def run(self) -> None:
        """The kubelet loop: react to pod changes, retry pending pods every ``tick``."""
        changes = self.store.subscribe()
        try:
            self._retry_pending()
            next_tick = time.monotonic() + self.tick
            while not self.stop_event.is_set():
                try:
                    change = changes.get(timeout=max(0.01, next_tick - time.monotonic()))
                except queue.Empty:
                    change = None
                if change is not None and change.resource.key == PODS.key:
                    try:
                        if change.type == "DELETED":
                            self._deleted(change.obj)
                        else:
                            self._consider(change.obj)
                    except Exception:
                        logger.exception(
                            "kubeemu: kubelet failed on pod %s", change.obj["metadata"].get("name")
                        )
                if time.monotonic() >= next_tick:
                    self._retry_pending()
                    next_tick = time.monotonic() + self.tick
        finally:
            self.store.unsubscribe(changes)

    def _retry_pending(self) -> None:
        for pod in self.store.items(PODS):
            if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
                try:
                    self._consider(pod)
                except Exception:
                    logger.exception("kubeemu: kubelet failed on pod %s", pod["metadata"]["name"])

    def _deleted(self, pod: JSON) -> None:
        uid = pod["metadata"]["uid"]
        with self._lock:
            runner = self.runners.get(uid)
        if runner is not None:
            runner.kill(None, self.grace)
        self.logs.drop_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], uid)

    def _status(self, pod: JSON, change: Callable[[JSON], None]) -> None:
        uid = pod["metadata"]["uid"]

        def update(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != uid:
                return None
            change(current.setdefault("status", {}))
            return current

        self.store.mutate(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], update)

    def _consider(self, seen: JSON) -> None:
        uid = seen["metadata"]["uid"]
        with self._lock:
            if uid in self.runners or uid in self._launched:
                return
        pod = self.store.get(PODS, seen["metadata"]["namespace"], seen["metadata"]["name"])
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        status = pod.get("status") or {}
        if status.get("phase") in TERMINAL or pod["metadata"].get("deletionTimestamp"):
            return
        if not pod["spec"].get("nodeName"):
            pod = self._schedule(pod) or {}
            if not pod:
                return
        if self._pull_images(pod):
            return
        pod_dir = self.pod_dir(pod)
        try:
            volumes = materialize_volumes(self.store, pod, pod_dir)
            envs = {
                c["name"]: resolve_env(self.store, pod, c)
                for c in [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]
            }
        except MissingReference as missing:
            self._blocked(pod, missing)
            return
        runner = PodRunner(self, pod, volumes, envs)
        with self._lock:
            if uid in self.runners or uid in self._launched or self.stop_event.is_set():
                return
            self.runners[uid] = runner
            self._launched.add(uid)
        runner.start()

    def _schedule(self, pod: JSON) -> JSON | None:
        nodes = self.store.items(NODES)
        node, message = choose_node(pod, nodes, self.store.items(PODS))
        if node is None:
            self._status(
                pod, lambda s: set_condition(s, "PodScheduled", False, "Unschedulable", message)
            )
            self.event(pod, "Warning", "FailedScheduling", message, once=True)
            return None

        def bind(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != pod["metadata"]["uid"] or current["spec"].get(
                "nodeName"
            ):
                return None
            current["spec"]["nodeName"] = node
            set_condition(current.setdefault("status", {}), "PodScheduled", True)
            return current

        bound = self.store.mutate(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], bind)
        if bound is None or bound["metadata"]["uid"] != pod["metadata"]["uid"]:
            return None
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.event(
            bound, "Normal", "Scheduled", f"Successfully assigned {namespace}/{name} to {node}"
        )
        return bound

    def _waiting_statuses(self, pod: JSON, waiting: dict[str, JSON]) -> Callable[[JSON], None]:
        def change(status: JSON) -> None:
            status["phase"] = "Pending"
            status["hostIP"] = "127.0.0.1"
            status.setdefault("startTime", now_iso())
            for key, kind in (
                ("initContainerStatuses", "initContainers"),
                ("containerStatuses", "containers"),
            ):
                containers = pod["spec"].get(kind) or []
                if containers:
                    status[key] = [
                        {
                            "name": c["name"],
                            "image": c.get("image"),
                            "imageID": "",
                            "ready": False,
                            "started": False,
                            "restartCount": 0,
                            "lastState": {},
                            "state": {
                                "waiting": waiting.get(c["name"], {"reason": "PodInitializing"})
                            },
                        }
                        for c in containers
                    ]
            names = " ".join(c["name"] for c in pod["spec"]["containers"])
            set_condition(status, "Initialized", not pod["spec"].get("initContainers"))
            set_condition(
                status,
                "Ready",
                False,
                "ContainersNotReady",
                f"containers with unready status: [{names}]",
            )
            set_condition(
                status,
                "ContainersReady",
                False,
                "ContainersNotReady",
                f"containers with unready status: [{names}]",
            )

        return change

    def _pull_images(self, pod: JSON) -> bool:
        """Reports ErrImagePull → ImagePullBackOff for images matching ``pull_failures``."""
        uid = pod["metadata"]["uid"]
        waiting: dict[str, JSON] = {}
        for container in [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]:
            image = str(container.get("image", ""))
            if not any(re.search(p, image) for p in list(self.settings.pull_failures)):
                continue
            name = container["name"]
            reason_text = (
                f'failed to pull and unpack image "{image}": failed to resolve reference '
                f'"{image}": {image}: not found'
            )
            first = self._pull_failed.setdefault((uid, name), time.monotonic())
            self.event(
                pod, "Normal", "Pulling", f'Pulling image "{image}"', container=name, once=True
            )
            self.event(
                pod,
                "Warning",
                "Failed",
                f'Failed to pull image "{image}": {reason_text}',
                container=name,
                once=True,
            )
            self.event(pod, "Warning", "Failed", "Error: ErrImagePull", container=name, once=True)
            if time.monotonic() - first >= self.tick:
                waiting[name] = {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}"',
                }
                self.event(
                    pod,
                    "Normal",
                    "BackOff",
                    f'Back-off pulling image "{image}"',
                    container=name,
                    once=True,
                )
                self.event(
                    pod, "Warning", "Failed", "Error: ImagePullBackOff", container=name, once=True
                )
            else:
                waiting[name] = {"reason": "ErrImagePull", "message": reason_text}
        if waiting:
            self._status(pod, self._waiting_statuses(pod, waiting))
        return bool(waiting)

    def _blocked(self, pod: JSON, missing: MissingReference) -> None:
        if missing.reason == "FailedMount":
            self.event(pod, "Warning", "FailedMount", missing.message, once=True)
            waiting = {
                c["name"]: {"reason": "ContainerCreating"} for c in pod["spec"]["containers"]
            }
        else:
            self.event(pod, "Warning", "Failed", f"Error: {missing.message}", once=True)
            waiting = {
                c["name"]: {"reason": "CreateContainerConfigError", "message": missing.message}
                for c in pod["spec"]["containers"]
            }
        self._status(pod, self._waiting_statuses(pod, waiting))
