"""Running one bound pod: its containers as local processes (or in-process runtimes),
their output as the pod log, their states and exit codes as the pod status."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING

from kubeemu import resources
from kubeemu.logs import ContainerLog
from kubeemu.podspec import container_mounts
from kubeemu.runtimes import Command, InProcess, RunContext
from kubeemu.scheduling import TERMINAL
from kubeemu.util import JSON, now_iso

if TYPE_CHECKING:
    from kubeemu.kubelet import Kubelet

logger = logging.getLogger("kubeemu.kubelet")

PODS = resources.resolve("pods")


def set_condition(
    status: JSON, type_: str, value: bool, reason: str | None = None, message: str | None = None
) -> None:
    """Sets a pod condition; ``lastTransitionTime`` moves only when the status flips."""
    conditions: list[JSON] = status.setdefault("conditions", [])
    text = "True" if value else "False"
    for existing in conditions:
        if existing["type"] == type_:
            if existing.get("status") != text:
                existing["lastTransitionTime"] = now_iso()
            existing["status"] = text
            for key, item in (("reason", reason), ("message", message)):
                if item is None:
                    existing.pop(key, None)
                else:
                    existing[key] = item
            return
    entry: JSON = {
        "type": type_,
        "status": text,
        "lastProbeTime": None,
        "lastTransitionTime": now_iso(),
    }
    if reason is not None:
        entry["reason"] = reason
    if message is not None:
        entry["message"] = message
    conditions.append(entry)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class ContainerProcess:
    """One running container: a process group, or an in-process runtime thread."""

    def __init__(
        self,
        launch: Command | InProcess,
        log: ContainerLog,
        base_env: dict[str, str],
        default_cwd: Path,
    ) -> None:
        self.launch = launch
        self.log = log
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.exit_code: int | None = None
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._base_env = base_env
        self._default_cwd = default_cwd

    def start(self) -> None:
        """Starts the process (raises OSError when it cannot)."""
        if isinstance(self.launch, Command):
            env = {**self._base_env, **(self.launch.env or {})}
            cwd = self.launch.cwd or self._default_cwd
            cwd.mkdir(parents=True, exist_ok=True)
            self._process = subprocess.Popen(
                self.launch.argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.pid = self._process.pid
            assert self._process.stdout is not None
            threading.Thread(target=self._pump, args=(self._process.stdout,), daemon=True).start()
        else:
            threading.Thread(target=self._run_inline, args=(self.launch,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.log.write(line)
        stream.close()
        assert self._process is not None
        self.exit_code = _exit_code(self._process.wait())
        self.done.set()

    def _run_inline(self, launch: InProcess) -> None:
        try:
            self.exit_code = launch.run(lambda line: self.log.write(line.encode() + b"\n"))
        except Exception:
            self.log.write(traceback.format_exc().encode())
            self.exit_code = 1
        self.done.set()

    def terminate(self, grace: float) -> None:
        """SIGTERM to the process group, SIGKILL after ``grace`` seconds."""
        self.cancelled.set()
        if self._process is None or self.done.is_set():
            return
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not self.done.wait(grace):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self.done.wait(5)


class PodRunner(threading.Thread):
    """Runs one bound pod: init containers in order, then the containers together."""

    def __init__(
        self, kubelet: Kubelet, pod: JSON, volumes: dict[str, Path], envs: dict[str, dict[str, str]]
    ) -> None:
        super().__init__(name=f"pod-{pod['metadata']['name']}", daemon=True)
        self.kubelet = kubelet
        self.pod = pod
        self.namespace: str = pod["metadata"]["namespace"]
        self.name: str = pod["metadata"]["name"]
        self.uid: str = pod["metadata"]["uid"]
        self.volumes = volumes
        self.envs = envs
        self.forced_exit: int | None = None
        self.killed = threading.Event()
        self.processes: dict[str, ContainerProcess] = {}
        self.states: dict[str, JSON] = {}
        self._lock = threading.Lock()

    # -- status -----------------------------------------------------------------------------

    def _container_status(self, container: JSON) -> JSON:
        name = container["name"]
        state = self.states.get(name) or {"waiting": {"reason": "PodInitializing"}}
        process = self.processes.get(name)
        running = "running" in state
        status: JSON = {
            "name": name,
            "image": container.get("image"),
            "imageID": f"kubeemu://{container.get('image')}",
            "ready": running,
            "started": running,
            "restartCount": 0,
            "state": state,
            "lastState": {},
        }
        if process is not None and process.pid is not None:
            status["containerID"] = f"kubeemu://{process.pid}"
        elif process is not None:
            status["containerID"] = f"kubeemu://{self.uid[:8]}-{name}"
        return status

    def publish(self, phase: str | None = None) -> None:
        """Writes the pod status from the containers' states."""
        spec = self.pod["spec"]

        def update(pod: JSON) -> JSON | None:
            if pod["metadata"].get("uid") != self.uid:
                return None
            status = pod.setdefault("status", {})
            if phase:
                status["phase"] = phase
            status.setdefault("startTime", now_iso())
            status["hostIP"] = "127.0.0.1"
            status["podIP"] = "127.0.0.1"
            status["podIPs"] = [{"ip": "127.0.0.1"}]
            status["hostIPs"] = [{"ip": "127.0.0.1"}]
            if spec.get("initContainers"):
                status["initContainerStatuses"] = [
                    self._container_status(c) for c in spec["initContainers"]
                ]
            status["containerStatuses"] = [self._container_status(c) for c in spec["containers"]]
            ready = all(s["ready"] for s in status["containerStatuses"])
            initialized = all(
                "terminated" in (self.states.get(c["name"]) or {})
                for c in spec.get("initContainers") or []
            )
            set_condition(status, "PodReadyToStartContainers", True)
            set_condition(status, "Initialized", initialized)
            if status.get("phase") in TERMINAL:
                set_condition(status, "Ready", False, "PodCompleted")
                set_condition(status, "ContainersReady", False, "PodCompleted")
            else:
                unready = [s["name"] for s in status["containerStatuses"] if not s["ready"]]
                why = None if ready else f"containers with unready status: [{' '.join(unready)}]"
                set_condition(status, "Ready", ready, None if ready else "ContainersNotReady", why)
                set_condition(
                    status, "ContainersReady", ready, None if ready else "ContainersNotReady", why
                )
            return pod

        self.kubelet.store.mutate(PODS, self.namespace, self.name, update)

    # -- running ----------------------------------------------------------------------------

    def _start(self, container: JSON) -> ContainerProcess | None:
        name = container["name"]
        log = self.kubelet.logs.open(self.namespace, self.name, self.uid, name)
        pod_dir = self.kubelet.pod_dir(self.pod)
        cancelled = threading.Event()
        ctx = RunContext(
            pod=self.pod,
            container=container,
            env=self.envs[name],
            mounts=container_mounts(container, self.volumes),
            pod_dir=pod_dir,
            images=self.kubelet.images,
            cancelled=cancelled,
        )
        base_env = self.kubelet.base_env(self.pod)
        try:
            launch = self.kubelet.runtime_for(str(container.get("image", "")))(ctx)
            process = ContainerProcess(launch, log, base_env, pod_dir)
            process.cancelled = cancelled
            process.start()
        except Exception as error:
            message = str(error)
            log.write(message.encode())
            log.close()
            self.states[name] = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": message,
                    "startedAt": now_iso(),
                    "finishedAt": now_iso(),
                }
            }
            self.kubelet.event(self.pod, "Warning", "Failed", f"Error: {message}", container=name)
            return None
        self.processes[name] = process
        self.states[name] = {"running": {"startedAt": now_iso()}}
        self.kubelet.event(
            self.pod, "Normal", "Created", f"Created container {name}", container=name
        )
        self.kubelet.event(
            self.pod, "Normal", "Started", f"Started container {name}", container=name
        )
        return process

    def _finished(self, name: str, process: ContainerProcess) -> int:
        code = process.exit_code if process.exit_code is not None else 137
        if self.forced_exit is not None:
            code = self.forced_exit
        process.log.close()
        started = (self.states.get(name) or {}).get("running", {}).get("startedAt", now_iso())
        self.states[name] = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": now_iso(),
                "containerID": f"kubeemu://{process.pid or self.uid[:8]}",
            }
        }
        return code

    def run(self) -> None:
        """Runs the pod to completion (or until killed) and reports its phase."""
        try:
            self._run()
        except Exception:
            logger.exception("kubeemu: pod %s/%s runner failed", self.namespace, self.name)
        finally:
            self.kubelet.runner_done(self.uid)

    def _run(self) -> None:
        spec = self.pod["spec"]
        for container in spec.get("initContainers") or []:
            process = self._start(container)
            self.publish("Pending")
            if process is not None:
                while not process.done.wait(0.1):
                    pass
                code = self._finished(container["name"], process)
            else:
                code = 128
            if code != 0 or self.killed.is_set():
                self.publish("Failed")
                return
        started = [(c["name"], self._start(c)) for c in spec["containers"]]
        self.publish("Running")
        pending = {name: process for name, process in started if process is not None}
        while pending:
            finished = [name for name, process in pending.items() if process.done.wait(0.05)]
            for name in finished:
                self._finished(name, pending.pop(name))
            if finished and pending:
                self.publish("Running")
        codes = [
            ((self.states.get(c["name"]) or {}).get("terminated") or {}).get("exitCode", 1)
            for c in spec["containers"]
        ]
        self.publish("Succeeded" if all(code == 0 for code in codes) else "Failed")

    def kill(self, exit_code: int | None, grace: float) -> None:
        """Stops every container; ``exit_code`` (if given) is what they report."""
        self.forced_exit = exit_code
        self.killed.set()
        for name, process in list(self.processes.items()):
            if not process.done.is_set():
                self.kubelet.event(
                    self.pod, "Normal", "Killing", f"Stopping container {name}", container=name
                )
            process.terminate(grace)
