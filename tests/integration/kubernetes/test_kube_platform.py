"""Build and train on the Kubernetes platform: SDK -> Temporal -> worker -> API emulator.

The emulator validates every custom resource against the real CRD schemas on create (a
manifest that does not match is rejected with 422, failing the run), runs Kaniko and the
trainer as real local processes, and records every request for the RBAC check.
"""

from __future__ import annotations

import _thread
import threading

import boto3
import pytest

from harness import REPO, Background, all_histories, wait_for
from kaptain.activities.kubernetes.permissions import USER_PERMISSIONS, WORKER_PERMISSIONS
from kaptain.activities.kubernetes.registry import RegistryClient
from kaptain.exceptions import ImageBuildException, WorkloadDeploymentError
from kaptain.hyperparameter.domains import Discrete, Double
from kubestack import S3_KEY_ID, S3_SECRET, KubeStack


def permissions_used(stack: KubeStack, agent: str) -> set[tuple[str, str, str]]:
    return {r.permission for r in stack.emulator.requests if r.user_agent.startswith(agent)}


def granted(table: dict[tuple[str, str], frozenset[str]]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for (group, resource), verbs in table.items() for verb in verbs}


def test_build_and_train_end_to_end(
    kube: KubeStack, temporal_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = kube.model()
    assert model.train(workers=2, hyperparameters={"--epochs": 3, "--lr": 0.25}, verbose=True)
    assert ("batch", "jobs", "create") in permissions_used(kube, "kaptain-worker")  # Kaniko
    out = capsys.readouterr().out  # verbose: the replicas' pod logs, read with the user's access
    assert "[master-0] replica rank 0 starting" in out
    assert "[worker-0] replica rank 1 starting" in out
    assert model.metrics is not None
    assert model.metrics["accuracy"]["latest"] == 0.75
    assert model.model_uri == f"s3://kaptain/models/dev/tiny/trained/{model.revision}"
    s3 = boto3.client(
        "s3",
        endpoint_url=kube.s3_endpoint,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    key = f"models/dev/tiny/trained/{model.revision}/model.txt"
    assert s3.get_object(Bucket="kaptain", Key=key)["Body"].read() == b"lr=0.25\n"

    # the PyTorchJob ran to Succeeded and is kept for troubleshooting; nothing else is left
    [job] = kube.emulator.objects("pytorchjobs", "default")
    conditions = [c["type"] for c in job["status"]["conditions"]]
    assert conditions[0] == "Created" and conditions[-1] == "Succeeded"
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kaptain"
    assert kube.emulator.objects("secrets", "default") == []  # deleted when the run ended
    assert kube.emulator.objects("jobs", "default") == []  # the Kaniko Job is cleaned up

    # the image is in the registry with its checksum label
    registry = kube.registry
    with RegistryClient(
        registry.url, username=registry.username, password=registry.password, ca_pem=registry.ca_pem
    ) as client:
        labels = client.image_labels("kaptain/tiny", model.image.rsplit(":", 1)[1])
    assert labels is not None and len(labels["checksum"]) == 64

    # the same contents are not built again
    assert kube.model().build()
    assert "Skipping the build" in capsys.readouterr().out

    # credentials reached the cluster as Secrets, never the workflow histories
    histories = all_histories(temporal_address)
    assert model.revision in histories  # payloads are decoded: the search is real
    for secret in (S3_SECRET, kube.registry.password):
        assert secret not in histories
    assert secret not in kube.worker.log.read_text()

    # RBAC: the worker stayed within its Role, the SDK within the user's
    worker_used = permissions_used(kube, "kaptain-worker")
    assert worker_used <= granted(WORKER_PERMISSIONS)
    assert ("kubeflow.org", "pytorchjobs", "watch") in worker_used
    sdk_used = permissions_used(kube, "kaptain-sdk")
    assert {("", "secrets", "create"), ("", "pods/log", "get")} <= sdk_used
    assert sdk_used <= granted(USER_PERMISSIONS)


def test_failed_replica_reports_its_log(
    kube: KubeStack, capsys: pytest.CaptureFixture[str]
) -> None:
    model = kube.model()
    assert model.train(workers=2, hyperparameters={"--fail-rank": 1}) is False
    out = capsys.readouterr().out
    assert "out of cheese" in out
    assert "worker-0: container pytorch terminated: Error, exit code" in out  # how it ended
    assert kube.emulator.objects("secrets", "default") == []


def test_unschedulable_workload_raises(kube: KubeStack) -> None:
    model = kube.model()
    with pytest.raises(WorkloadDeploymentError, match=r"unschedulable|FailedScheduling"):
        model.train(workers=1, gpus=1, hyperparameters={"--epochs": 1})
    assert kube.emulator.objects("secrets", "default") == []


def test_api_faults_are_retried_to_exactly_one_job(kube: KubeStack) -> None:
    faults = kube.emulator.faults
    faults.add(verb="create", resource="pytorchjobs", status=500, times=1)
    faults.add(verb="create", resource="pytorchjobs", status=429, times=1, retry_after=1)
    faults.add(verb="watch", resource="pytorchjobs", status=410, times=1)
    faults.add(verb="get", resource="pods/log", drop_connection=True, times=1)
    faults.add(verb="delete", resource="secrets", status=503, times=1)
    model = kube.model()
    assert model.train(workers=1, hyperparameters={"--epochs": 2})
    injected = [r.permission for r in kube.emulator.requests if r.fault]
    assert sorted(injected) == sorted(
        [
            ("kubeflow.org", "pytorchjobs", "create"),
            ("kubeflow.org", "pytorchjobs", "create"),
            ("kubeflow.org", "pytorchjobs", "watch"),
            ("", "pods/log", "get"),
            ("", "secrets", "delete"),
        ]
    )  # every fault fired, and the run still ended well
    assert len(kube.emulator.objects("pytorchjobs", "default")) == 1
    assert kube.emulator.objects("secrets", "default") == []


def test_cancel_removes_the_job_and_its_secrets(kube: KubeStack) -> None:
    model = kube.model()

    def interrupt_when_running() -> None:
        wait_for(lambda: _running_pods(kube) >= 1, 120)
        _thread.interrupt_main()

    thread = threading.Thread(target=interrupt_when_running)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        model.train(workers=2, hyperparameters={"--sleep": 120})
    thread.join()
    assert kube.emulator.objects("pytorchjobs", "default") == []
    assert kube.emulator.objects("secrets", "default") == []


def test_worker_sigkill_adopts_the_same_job(kube: KubeStack) -> None:
    model = kube.model()
    caller = Background(
        lambda: model.train(workers=2, hyperparameters={"--epochs": 2, "--sleep": 6})
    )
    wait_for(lambda: _running_pods(kube) >= 2, 120)
    kube.worker.kill()
    kube.worker.start()
    assert caller.result(180) is True
    assert len(kube.emulator.objects("pytorchjobs", "default")) == 1
    assert kube.emulator.objects("secrets", "default") == []


def _running_pods(kube: KubeStack) -> int:
    pods = kube.emulator.objects("pods", "default")
    return sum(
        1
        for p in pods
        if (p.get("status") or {}).get("phase") == "Running"
        and "training.kubeflow.org/job-name" in p["metadata"].get("labels", {})
    )


def test_tensorflow_trains_as_a_tfjob(kube: KubeStack) -> None:
    model = kube.model("dev/tiny-tf", framework="tensorflow")
    assert model.train(workers=3, hyperparameters={"--epochs": 1})
    [job] = kube.emulator.objects("tfjobs", "default")
    specs = job["spec"]["tfReplicaSpecs"]
    assert specs["Chief"]["replicas"] == 1 and specs["Worker"]["replicas"] == 2
    assert job["status"]["conditions"][-1]["type"] == "Succeeded"
    assert kube.emulator.objects("pytorchjobs", "default") == []


@pytest.mark.slow
def test_mnist_example_trains_through_the_kubernetes_platform(kube: KubeStack) -> None:
    """The example, unchanged: Kaniko builds it, a 2-replica PyTorchJob trains it (DDP)."""
    model = kube.model(
        "dev/mnist",
        main_file="trainer.py",
        extra_files=["model.py"],
        requirements="requirements.txt",
        base_image="pytorch/pytorch:2.13.0",
        image_name=f"{kube.registry.host}/kaptain/mnist",
        config=kube.config(base_dir=REPO / "examples" / "mnist"),
    )
    assert model.train(workers=2, hyperparameters={"--epochs": 10, "--lr": 0.1})
    assert model.metrics is not None and model.metrics["accuracy"]["latest"] > 0.9
    [job] = kube.emulator.objects("pytorchjobs", "default")
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 1


def test_tuning_runs_each_trial_as_a_job_named_after_the_experiment(kube: KubeStack) -> None:
    model = kube.model()
    assert model.tune(
        hyperparameters={"--lr": Double(0.1, 0.5), "--epochs": Discrete(["1", "2"])},
        objectives=["accuracy"],
        trials=3,
        parallel_trials=2,
        workers=1,
        algorithm="tpe",
    )
    jobs = kube.emulator.objects("pytorchjobs", "default")
    assert len(jobs) == 3
    revision = model.revision[:8]
    assert sorted(j["metadata"]["name"] for j in jobs) == [
        f"dev-tiny-{revision}-t{n}" for n in range(3)
    ]
    assert all(j["status"]["conditions"][-1]["type"] == "Succeeded" for j in jobs)
    assert model.state.value == "tuned"
    assert kube.emulator.objects("secrets", "default") == []


def test_a_build_whose_kaniko_pod_cannot_start_fails_clearly(kube: KubeStack) -> None:
    kube.emulator.pull_failures.add(r"kaniko-project/executor")
    model = kube.model()
    with pytest.raises(ImageBuildException, match=r"cannot start \(ErrImagePull|ImagePullBackOff"):
        model.build()
    assert kube.emulator.objects("jobs", "default") == []  # the Kaniko Job was deleted
    assert kube.emulator.objects("secrets", "default") == []
