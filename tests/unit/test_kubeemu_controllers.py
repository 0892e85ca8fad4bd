"""kubeemu's simulated controllers and kubelet: training jobs, batch Jobs, real pod processes,
logs, scheduling and pull/mount failures, custom runtimes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch

from kubeemu import Command, KubeEmulator, RunContext

Watch: Any = watch.Watch  # untyped in the client
NS = "ml"

# Each replica prints what the operator told it, then a metric line.
SCRIPT = """
import json, os, sys
print("rank", os.environ.get("RANK"), "of", os.environ.get("WORLD_SIZE"),
      "at", os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT"))
print("role", json.loads(os.environ["TF_CONFIG"])["task"] if "TF_CONFIG" in os.environ else "-")
print("secret", os.environ.get("AWS_ACCESS_KEY_ID"), "accuracy=0.97")
sys.exit(int(os.environ.get("EXIT_CODE", "0")))
"""


def _any(api: object) -> Any:
    """A client API typed ``Any``: the tests pass JSON dicts, which the client accepts."""
    return api


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator(gpus=1, grace_period=0.5) as emulator:
        emulator.put_object(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s3", "namespace": NS},
                "type": "Opaque",
                "data": {"AWS_ACCESS_KEY_ID": "QUtJQQ=="},
            }
        )
        yield emulator


def _container(name: str, exit_code: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": "python:3.11-slim",
        "command": ["python", "-c", SCRIPT],
        "env": [{"name": "EXIT_CODE", "value": str(exit_code)}],
        "envFrom": [{"secretRef": {"name": "s3"}}],
        **extra,
    }


def _replica(replicas: int, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "restartPolicy": "Never",
        "template": {"spec": {"containers": [container]}},
    }


def _conditions(obj: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [
        (c["type"], c["status"]) for c in ((obj or {}).get("status") or {}).get("conditions") or []
    ]


def _finished(emu: KubeEmulator, plural: str, name: str, timeout: float = 20) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = emu.get(plural, NS, name)
        types = {t for t, s in _conditions(job) if s == "True"}
        return job if types & {"Succeeded", "Failed", "Complete"} else None

    return emu.wait_for(done, timeout, f"{plural}/{name} to finish")


def test_pytorchjob_conditions_pods_env_and_logs(emu: KubeEmulator) -> None:
    custom: Any = client.CustomObjectsApi(emu.api_client())
    core: Any = client.CoreV1Api(emu.api_client())
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "mnist"},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": _replica(1, _container("pytorch")),
                "Worker": _replica(2, _container("pytorch")),
            }
        },
    }
    start = custom.create_namespaced_custom_object("kubeflow.org", "v1", NS, "pytorchjobs", job)
    history: list[list[tuple[str, str]]] = []
    watcher = Watch()
    for event in watcher.stream(
        custom.list_namespaced_custom_object,
        "kubeflow.org",
        "v1",
        NS,
        "pytorchjobs",
        resource_version=start["metadata"]["resourceVersion"],
        timeout_seconds=20,
    ):
        conditions = _conditions(event["object"])
        if conditions and (not history or history[-1] != conditions):
            history.append(conditions)
        if ("Succeeded", "True") in conditions:
            watcher.stop()
    assert history == [
        [("Created", "True")],
        [("Created", "True"), ("Running", "True")],
        [("Created", "True"), ("Running", "False"), ("Succeeded", "True")],
    ]
    final = emu.get("pytorchjobs", NS, "mnist") or {}
    created = final["status"]["conditions"][0]
    assert (created["reason"], created["message"]) == (
        "PyTorchJobCreated",
        f"PyTorchJob {NS}/mnist is created.",
    )
    assert final["status"]["replicaStatuses"]["Master"]["succeeded"] == 1
    assert final["status"]["replicaStatuses"]["Worker"]["succeeded"] == 2
    assert final["status"]["startTime"] and final["status"]["completionTime"]

    pods = {
        p.metadata.name: p
        for p in core.list_namespaced_pod(
            NS, label_selector="training.kubeflow.org/job-name=mnist"
        ).items
    }
    assert sorted(pods) == ["mnist-master-0", "mnist-worker-0", "mnist-worker-1"]
    worker = pods["mnist-worker-1"]
    assert worker.metadata.labels["training.kubeflow.org/replica-type"] == "worker"
    assert worker.metadata.labels["training.kubeflow.org/replica-index"] == "1"
    assert worker.metadata.owner_references[0].kind == "PyTorchJob"
    assert worker.status.phase == "Succeeded"
    assert worker.status.container_statuses[0].state.terminated.exit_code == 0
    env = {e.name: e.value for e in worker.spec.containers[0].env}
    assert env["RANK"] == "2" and env["WORLD_SIZE"] == "3" and env["MASTER_ADDR"] == "127.0.0.1"
    master_port = {e.name: e.value for e in pods["mnist-master-0"].spec.containers[0].env}[
        "MASTER_PORT"
    ]
    assert env["MASTER_PORT"] == master_port and env["PET_NNODES"] == "3"

    log = core.read_namespaced_pod_log("mnist-master-0", NS)
    assert f"rank 0 of 3 at 127.0.0.1 {master_port}" in log
    assert "secret AKIA accuracy=0.97" in log
    assert (
        core.read_namespaced_pod_log("mnist-worker-0", NS, tail_lines=1)
        == "secret AKIA accuracy=0.97\n"
    )
    reasons = {e["reason"] for e in emu.events(NS, involved="mnist")}
    assert "SuccessfulCreatePod" in reasons


def test_failed_replica_fails_the_tfjob_and_ttl_deletes_it(emu: KubeEmulator) -> None:
    custom: Any = client.CustomObjectsApi(emu.api_client())
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "tf"},
        "spec": {
            "runPolicy": {"ttlSecondsAfterFinished": 1},
            "tfReplicaSpecs": {
                "Chief": _replica(1, _container("tensorflow")),
                "Worker": _replica(1, _container("tensorflow", exit_code=3)),
            },
        },
    }
    custom.create_namespaced_custom_object("kubeflow.org", "v1", NS, "tfjobs", job)
    failed = _finished(emu, "tfjobs", "tf")
    condition = failed["status"]["conditions"][-1]
    assert (condition["type"], condition["reason"]) == ("Failed", "TFJobFailed")
    assert "1 Worker replica(s) failed" in condition["message"]
    emu.wait_for(
        lambda: (emu.get("pods", NS, "tf-chief-0") or {})["status"].get("phase") == "Succeeded", 5
    )
    assert "role {'type': 'chief', 'index': 0}" in emu.pod_log(NS, "tf-chief-0")
    worker = emu.get("pods", NS, "tf-worker-0") or {}
    tf_config = json.loads(
        {e["name"]: e["value"] for e in worker["spec"]["containers"][0]["env"]}["TF_CONFIG"]
    )
    assert set(tf_config["cluster"]) == {"chief", "worker"}
    assert worker["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    emu.wait_for(
        lambda: emu.get("tfjobs", NS, "tf") is None and not emu.objects("pods", NS),
        5,
        "TTL cleanup",
    )


def test_active_deadline_and_kill_pod(emu: KubeEmulator) -> None:
    sleeper = {
        "name": "pytorch",
        "image": "python:3.11",
        "command": ["python", "-c", "import time; time.sleep(60)"],
    }
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "slow", "namespace": NS},
        "spec": {
            "runPolicy": {"activeDeadlineSeconds": 1},
            "pytorchReplicaSpecs": {"Master": _replica(1, sleeper)},
        },
    }
    _any(client.CustomObjectsApi(emu.api_client())).create_namespaced_custom_object(
        "kubeflow.org", "v1", NS, "pytorchjobs", job
    )
    failed = _finished(emu, "pytorchjobs", "slow")
    assert failed["status"]["conditions"][-1]["reason"] == "DeadlineExceeded"
    emu.wait_for(lambda: emu.get("pods", NS, "slow-master-0") is None, 5, "running pods deleted")

    pod = {
        "metadata": {"name": "victim"},
        "spec": {"restartPolicy": "Never", "containers": [sleeper]},
    }
    _any(client.CoreV1Api(emu.api_client())).create_namespaced_pod(NS, pod)
    emu.wait_for(
        lambda: (emu.get("pods", NS, "victim") or {}).get("status", {}).get("phase") == "Running",
        10,
    )
    emu.kill_pod(NS, "victim", exit_code=137)
    emu.wait_for(lambda: (emu.get("pods", NS, "victim") or {})["status"]["phase"] == "Failed", 10)
    state = (emu.get("pods", NS, "victim") or {})["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 137 and state["terminated"]["reason"] == "Error"


def test_batch_job_and_followed_logs(emu: KubeEmulator) -> None:
    batch: Any = client.BatchV1Api(emu.api_client())
    core: Any = client.CoreV1Api(emu.api_client())
    script = (
        "import time\nfor i in range(3):\n    print('step', i, flush=True)\n    time.sleep(0.2)"
    )
    container = {"name": "main", "image": "python:3.11", "command": ["python", "-c", script]}
    body = {
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 30,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }
    batch.create_namespaced_job(NS, body)
    pod_name = emu.wait_for(
        lambda: next(
            (
                p["metadata"]["name"]
                for p in emu.objects("pods", NS)
                if p["status"].get("phase") == "Running"
            ),
            None,
        ),
        10,
    )
    assert pod_name.startswith("once-") and len(pod_name) == len("once-") + 5
    lines = list(Watch().stream(core.read_namespaced_pod_log, pod_name, NS))
    assert lines == ["step 0", "step 1", "step 2"]  # follow=True ends when the container exits
    job = _finished(emu, "jobs", "once")
    assert job["status"]["succeeded"] == 1 and job["status"]["active"] == 0
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    pod = emu.get("pods", NS, pod_name) or {}
    assert pod["metadata"]["labels"]["job-name"] == "once"

    failing = {
        "name": "main",
        "image": "python:3.11",
        "command": ["python", "-c", "raise SystemExit(2)"],
    }
    body = {
        "metadata": {"name": "retry"},
        "spec": {
            "backoffLimit": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [failing]}},
        },
    }
    batch.create_namespaced_job(NS, body)
    job = _finished(emu, "jobs", "retry")
    assert job["status"]["failed"] == 2
    assert job["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"


def test_unschedulable_gpus_pull_failures_and_missing_secrets(emu: KubeEmulator) -> None:
    core: Any = client.CoreV1Api(emu.api_client())

    def pod(name: str, **container: Any) -> dict[str, Any]:
        spec = {
            "name": "main",
            "image": "python:3.11",
            "command": ["python", "-c", "import time; time.sleep(30)"],
        }
        return {
            "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [spec | container]},
        }

    core.create_namespaced_pod(NS, pod("greedy", resources={"limits": {"nvidia.com/gpu": "2"}}))
    event = emu.wait_for(lambda: emu.events(NS, involved="greedy", reason="FailedScheduling"), 5)[0]
    assert event["type"] == "Warning" and event["involvedObject"]["kind"] == "Pod"
    assert event["message"].startswith("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.")
    status = core.read_namespaced_pod_status("greedy", NS).status
    assert status.phase == "Pending"
    scheduled = next(c for c in status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    listed = core.list_namespaced_event(NS, field_selector="involvedObject.name=greedy")
    assert [e.reason for e in listed.items] == ["FailedScheduling"]

    emu.pull_failures.add(r"^private\.registry/")
    core.create_namespaced_pod(NS, pod("pull", image="private.registry/app:v1"))
    waiting = emu.wait_for(
        lambda: _waiting(emu, "pull") == "ImagePullBackOff" and "ImagePullBackOff", 5
    )
    assert waiting and core.read_namespaced_pod_status("pull", NS).status.phase == "Pending"
    messages = [e["message"] for e in emu.events(NS, involved="pull", reason="Failed")]
    assert "Error: ErrImagePull" in messages and "Error: ImagePullBackOff" in messages
    with pytest.raises(client.ApiException) as not_started:
        core.read_namespaced_pod_log("pull", NS)
    assert not_started.value.status == 400

    mounted = pod("mounts", volumeMounts=[{"name": "creds", "mountPath": "/creds"}])
    mounted["spec"]["volumes"] = [{"name": "creds", "secret": {"secretName": "later"}}]
    core.create_namespaced_pod(NS, mounted)
    failed_mount = emu.wait_for(lambda: emu.events(NS, involved="mounts", reason="FailedMount"), 5)[
        0
    ]
    assert (
        failed_mount["message"]
        == 'MountVolume.SetUp failed for volume "creds" : secret "later" not found'
    )
    core.create_namespaced_secret(NS, {"metadata": {"name": "later"}, "stringData": {"token": "t"}})
    emu.wait_for(
        lambda: (emu.get("pods", NS, "mounts") or {})["status"].get("phase") == "Running", 5
    )
    core.delete_namespaced_pod("mounts", NS)  # kills the process group


def _waiting(emu: KubeEmulator, name: str) -> str | None:
    statuses = ((emu.get("pods", NS, name) or {}).get("status") or {}).get("containerStatuses") or [
        {}
    ]
    reason: str | None = (statuses[0].get("state") or {}).get("waiting", {}).get("reason")
    return reason


def test_custom_runtime(emu: KubeEmulator) -> None:
    seen: list[RunContext] = []

    def echo(ctx: RunContext) -> Command:
        seen.append(ctx)
        text = (
            f"{ctx.container['args'][0]} {ctx.env['GREETING']} {ctx.resolve_path('/etc/app').name}"
        )
        return Command([sys.executable, "-c", f"print({text!r})"], env=ctx.env)

    emu.runtimes[r"^example\.com/echo"] = echo
    body = {
        "metadata": {"name": "echo"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "echo",
                    "image": "example.com/echo:1",
                    "args": ["hello"],
                    "env": [
                        {
                            "name": "GREETING",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        }
                    ],
                }
            ],
        },
    }
    _any(client.CoreV1Api(emu.api_client())).create_namespaced_pod(NS, body)
    emu.wait_for(
        lambda: (emu.get("pods", NS, "echo") or {})["status"].get("phase") == "Succeeded", 10
    )
    assert emu.pod_log(NS, "echo") == "hello echo app\n"
    assert seen[0].pod["metadata"]["name"] == "echo"


def test_registered_image_runs_its_entrypoint_with_args(emu: KubeEmulator, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import os, sys\nprint(os.path.basename(os.getcwd()), sys.argv[1:], os.environ['RANK'])\n"
    )
    emu.add_image("registry.local/team/app:v1", tmp_path, entrypoint=["python", "-u", "main.py"])
    container = {"name": "pytorch", "image": "registry.local/team/app:v1", "args": ["--lr", "0.1"]}
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {"pytorchReplicaSpecs": {"Master": _replica(1, container)}},
    }
    _any(client.CustomObjectsApi(emu.api_client())).create_namespaced_custom_object(
        "kubeflow.org", "v1", NS, "pytorchjobs", job
    )
    assert _conditions(_finished(emu, "pytorchjobs", "app"))[-1] == ("Succeeded", "True")
    assert emu.pod_log(NS, "app-master-0") == "pytorch ['--lr', '0.1'] 0\n"
    every = _any(client.CoreV1Api(emu.api_client())).list_pod_for_all_namespaces()
    assert [p.metadata.name for p in every.items] == ["app-master-0"]


def test_stop_leaves_no_processes() -> None:
    sleeper = {
        "name": "main",
        "image": "python:3.11",
        "command": ["python", "-c", "import time; time.sleep(60)"],
    }
    with KubeEmulator(grace_period=0.5) as emu:
        body = {
            "metadata": {"name": "forever"},
            "spec": {"restartPolicy": "Never", "containers": [sleeper]},
        }
        _any(client.CoreV1Api(emu.api_client())).create_namespaced_pod(NS, body)

        def pid() -> int | None:
            pod = emu.get("pods", NS, "forever") or {}
            statuses: list[Any] = (pod.get("status") or {}).get("containerStatuses") or [{}]
            if "running" not in (statuses[0].get("state") or {}):
                return None
            return int(statuses[0]["containerID"].rsplit("/", 1)[1])

        process = emu.wait_for(pid, 10, "the pod to run")
        os.kill(process, 0)  # alive
    with pytest.raises(ProcessLookupError):
        os.kill(process, 0)
