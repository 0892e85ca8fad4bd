"""Serving on the local platform, as a user runs it: real worker, model servers and router."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import requests
from temporalio.client import Client

from harness import WorkerProcess, all_histories, make_model, stop_serving, wait_for
from kaptain import utils
from kaptain.contracts import StorageRef, WorkflowName
from kaptain.contracts.names import serving_workflow_id
from kaptain.contracts.serve import ServeInput, ServingPhase
from kaptain.exceptions import (
    ModelDeploymentException,
    ModelValidationException,
    ResourceNotFoundException,
)
from kaptain.model.models import Model
from kaptain.model.revisions import deployment_ref
from kaptain.model.transformer import Transformer
from servable import (
    Affine,
    FailsOnLargeInput,
    Traffic,
    check_policy_rolls_back,
    check_rollout_survives_a_worker_kill,
    predict,
    save_torchscript,
    split,
)

NAME = "dev-served"


def served_model() -> Model:
    return make_model("dev/served")


def history_count(temporal_address: str, workflow_id: str) -> int:
    async def count() -> int:
        client = await Client.connect(temporal_address)
        runs = [r async for r in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        return len(runs)

    return asyncio.run(count())


def test_deploy_canary_promote_rollback_undeploy(
    worker: WorkerProcess, tmp_path: Path, temporal_address: str
) -> None:
    model = served_model()
    first = save_torchscript(tmp_path / "v1", Affine(1.0))
    second = save_torchscript(tmp_path / "v2", Affine(2.0))

    assert model.deploy(model_uri=first, autoscale=4)
    state = model.deployment()
    assert state is not None and state.url and state.phase is ServingPhase.SERVING
    url = state.url
    answer = predict(url, NAME)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[100.0, 200.0]]

    # a second deploy is refused unless replace=True; nothing changes
    with pytest.raises(ModelDeploymentException, match="already deployed"):
        model.deploy(model_uri=second)
    with pytest.raises(ModelDeploymentException, match="no canary"):
        model.promote_canary()
    with pytest.raises(ModelValidationException):
        model.deploy_canary(canary_traffic_percentage=0, model_uri=second)

    model.deploy_canary(canary_traffic_percentage=30, model_uri=second)
    state = model.deployment()
    assert state is not None and state.phase is ServingPhase.CANARY
    assert state.url == url  # one stable URL
    seen = split(url, NAME, 1000)
    assert set(seen) == {1.0, 2.0}
    assert 250 <= seen[2.0] <= 350, seen

    # a bad model for a new canary fails clearly; the deployment is untouched
    with pytest.raises(ModelDeploymentException, match="no model"):
        model.deploy_canary(canary_traffic_percentage=50, model_uri=f"file://{tmp_path}/none")
    assert 250 <= split(url, NAME, 1000)[2.0] <= 350

    model.rollback_canary()
    assert split(url, NAME, 50) == {1.0: 50}
    with pytest.raises(ModelDeploymentException, match="no canary"):
        model.rollback_canary()

    model.deploy_canary(canary_traffic_percentage=30, model_uri=second)
    model.promote_canary()
    assert split(url, NAME, 50) == {2.0: 50}
    state = model.deployment()
    assert state is not None and state.canary is None and state.baseline is not None
    assert state.baseline.source_uri == second

    actions = [r.action for r in model.history()]
    for action in ("deploy", "deploy_canary", "rollback_canary", "promote_canary"):
        assert action in actions
    deployed = next(r for r in model.history() if r.action == "deploy")
    assert f"/dev/served/deploy/{deployed.revision}/model" in deployed.details["model_uri"]

    model.undeploy()
    assert model.deployment() is None
    with pytest.raises(ModelDeploymentException, match="not deployed"):
        model.undeploy()
    try:
        status: int | None = predict(url, NAME).status_code
    except requests.ConnectionError:
        status = None
    assert status is None  # the router went with the last deployment


def test_bad_model_on_first_deploy_leaves_nothing(worker: WorkerProcess, tmp_path: Path) -> None:
    model = served_model()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pt").write_bytes(b"not torchscript")
    assert model.deploy(model_uri=f"file://{broken}") is False
    assert model.deployment() is None
    with pytest.raises(ModelDeploymentException, match="not deployed"):
        model.undeploy()


def test_policy_rolls_back_a_failing_canary(
    worker: WorkerProcess, tmp_path: Path, temporal_address: str
) -> None:
    check_policy_rolls_back(
        served_model(),
        NAME,
        save_torchscript(tmp_path / "good", Affine(1.0)),
        save_torchscript(tmp_path / "bad", FailsOnLargeInput()),
    )


def test_worker_sigkill_mid_rollout_resumes_at_its_step(
    worker: WorkerProcess, tmp_path: Path, temporal_address: str
) -> None:
    check_rollout_survives_a_worker_kill(
        served_model(),
        NAME,
        worker,
        save_torchscript(tmp_path / "one", Affine(1.0)),
        save_torchscript(tmp_path / "two", Affine(2.0)),
    )
    assert "AWS_SECRET_ACCESS_KEY" not in all_histories(temporal_address)


def start_serving(address: str, task_queue: str, model: Model, **settings: Any) -> None:
    """Start a model's ServeModel workflow by hand, with other settings than the SDK's."""

    async def start() -> None:
        client = await Client.connect(address)
        storage = StorageRef(base_uri=model.config.base_model_storage_uri)
        await client.start_workflow(
            WorkflowName.SERVE_MODEL,
            ServeInput(deployment=deployment_ref(model.config, model.id, storage), **settings),
            id=serving_workflow_id(model.config.namespace, model.id),
            task_queue=task_queue,
        )

    asyncio.run(start())


def test_continues_as_new_keeping_its_state(
    worker: WorkerProcess, tmp_path: Path, temporal_address: str, task_queue: str
) -> None:
    """A deployment's history stays small: after N changes the workflow continues as new."""
    model = served_model()
    workflow_id = serving_workflow_id(model.config.namespace, model.id)
    first = save_torchscript(tmp_path / "a", Affine(1.0))

    start_serving(temporal_address, task_queue, model, continue_after_changes=2)
    assert model.deploy(model_uri=first)  # the SDK's deploy joins the running workflow
    model.deploy_canary(
        canary_traffic_percentage=10, model_uri=save_torchscript(tmp_path / "b", Affine(2.0))
    )
    model.deploy_canary(canary_traffic_percentage=40)  # only the split changes
    wait_for(lambda: history_count(temporal_address, workflow_id) >= 2, 30)
    state = model.deployment()
    assert state is not None and state.canary_percent == 40
    assert state.baseline is not None and state.baseline.source_uri == first
    seen = split(state.url or "", NAME, 500)
    assert 150 <= seen[2.0] <= 250, seen
    model.undeploy()


def test_utils_list_and_delete_a_deployment(
    worker: WorkerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``kaptain.utils`` finds the deployment and deletes it through its workflow's undeploy."""
    model = served_model()
    assert model.deploy(model_uri=save_torchscript(tmp_path / "m", Affine(1.0)))
    state = model.deployment()
    assert state is not None and state.url
    capsys.readouterr()
    utils.list_inference_services()
    assert NAME in capsys.readouterr().out
    with pytest.raises(ResourceNotFoundException):
        utils.delete_inference_service("dev-someone-else")
    assert predict(state.url, NAME).status_code == 200  # untouched
    utils.delete_inference_service(NAME)
    assert model.deployment() is None
    assert "undeploy" in [r.action for r in model.history()]
    capsys.readouterr()
    utils.list_inference_services()
    assert NAME not in capsys.readouterr().out


def test_a_deployment_heals_after_its_processes_die(
    worker: WorkerProcess,
    tmp_path: Path,
    temporal_address: str,
    task_queue: str,
    kaptain_home: Path,
) -> None:
    """Servers and router killed (as by a reboot): the reconcile loop brings them back."""
    model = served_model()
    start_serving(temporal_address, task_queue, model, reconcile_seconds=2)
    assert model.deploy(model_uri=save_torchscript(tmp_path / "a", Affine(1.0)))
    state = model.deployment()
    assert state is not None and state.url
    assert predict(state.url, NAME).status_code == 200
    stop_serving(kaptain_home)  # SIGKILL every model server and the router

    def serving_again() -> bool:
        try:
            return predict(state.url or "", NAME).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(serving_again, 60)
    assert split(state.url, NAME, 10) == {1.0: 10}  # the same URL, the same revision
    model.undeploy()


def test_replicas_follow_the_load(
    worker: WorkerProcess, tmp_path: Path, temporal_address: str, task_queue: str
) -> None:
    """autoscale is the target concurrency: 4 clients on a slow model need more replicas."""
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import time\n\n\ndef preprocess(payload):\n    time.sleep(0.2)\n    return payload\n"
    )
    model = served_model()
    start_serving(temporal_address, task_queue, model, reconcile_seconds=6)
    assert model.deploy(
        model_uri=save_torchscript(tmp_path / "m", Affine(1.0)),
        autoscale=1,
        max_replicas="3",
        transformer=Transformer("unused-locally", module=str(slow)),
    )
    state = model.deployment()
    assert state is not None and state.url and list(state.replicas.values()) == [1]
    clients = [Traffic(state.url, NAME) for _ in range(4)]
    try:

        def scaled_out() -> bool:
            current = model.deployment()
            return current is not None and max(current.replicas.values()) >= 2

        wait_for(scaled_out, 60)
    finally:
        for client in clients:
            client.stop()
    assert all(not set(c.statuses) - {200} for c in clients)  # no request failed meanwhile

    def scaled_in() -> bool:
        current = model.deployment()
        return current is not None and list(current.replicas.values()) == [1]

    wait_for(scaled_in, 60)
    model.undeploy()
