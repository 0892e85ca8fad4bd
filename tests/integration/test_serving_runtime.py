"""The local serving runtime for real: model servers, the router, and the serving activities.

Real processes and real HTTP: KServe ModelServers on a TorchScript and a scikit-learn model,
the router splitting traffic between revisions, and LocalServingActivities driving both.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import joblib  # type: ignore[import-untyped]
import numpy as np
import pytest
import requests
import torch
from sklearn.linear_model import LinearRegression
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from kaptain.activities.local.serving import LocalServingActivities
from kaptain.contracts import ModelFramework, StorageRef
from kaptain.contracts.serve import (
    ApplyServing,
    DeploymentRef,
    InferenceProtocol,
    RevisionSpec,
    TransformerSpec,
)
from kaptain.secrets import LocalSecretStore
from kaptain.serving.metrics import parse_deployment_metrics
from kaptain.serving.router import REVISION_HEADER

A = TypeVar("A")
R = TypeVar("R")
START_SECONDS = 90.0
TRANSFORMER = """\
def preprocess(payload):
    if isinstance(payload, dict):
        payload["instances"] = [[2 * x for x in row] for row in payload["instances"]]
    return payload


async def postprocess(response):
    if isinstance(response, dict):
        response["transformed"] = True
    return response
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: object, seconds: float = START_SECONDS, what: str = "condition") -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {seconds} s")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def sklearn_model(directory: Path) -> Path:
    """y = x0 + 2 x1."""
    directory.mkdir(parents=True)
    model = LinearRegression().fit(np.array([[0, 0], [1, 0], [0, 1]]), np.array([0, 1, 2]))
    joblib.dump(model, directory / "model.joblib")
    return directory


def torch_model(directory: Path) -> Path:
    """y = x0 + 2 x1, as TorchScript."""
    directory.mkdir(parents=True)
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[1.0, 2.0]])
        layer.bias[:] = 0.0
    torch.jit.save(torch.jit.script(layer), str(directory / "model.pt"))
    return directory


class Processes:
    """Processes a test started, stopped at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self.started.append(
                subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=out)
            )

    def stop(self) -> None:
        for process in self.started:
            process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class Runtime:
    """Two model servers (sklearn; TorchScript with a transformer) and a router."""

    def __init__(self, root: Path, processes: Processes) -> None:
        self.routes = root / "routes.json"
        self.sklearn = f"http://127.0.0.1:{free_port()}"
        self.torch = f"http://127.0.0.1:{free_port()}"
        self.router = f"http://127.0.0.1:{free_port()}"
        (root / "transformer.py").write_text(TRANSFORMER)
        processes.start(
            [
                "kaptain.serving.server", "--name", "tiny",
                "--model-dir", str(sklearn_model(root / "sk")), "--framework", "sklearn",
                "--http-port", self.sklearn.rsplit(":", 1)[1],
            ],
            root / "sklearn.log",
        )  # fmt: skip
        processes.start(
            [
                "kaptain.serving.server", "--name", "tiny",
                "--model-dir", str(torch_model(root / "pt")), "--framework", "pytorch",
                "--http-port", self.torch.rsplit(":", 1)[1],
                "--transformer-module", str(root / "transformer.py"),
            ],
            root / "torch.log",
        )  # fmt: skip
        processes.start(
            ["kaptain.serving.router", "--port", self.router.rsplit(":", 1)[1],
             "--routes", str(self.routes)],
            root / "router.log",
        )  # fmt: skip
        for url in (f"{self.sklearn}/v2/health/ready", f"{self.torch}/v2/health/ready",
                    f"{self.router}/-/healthz"):  # fmt: skip
            wait_until(lambda url=url: answers(url), what=f"{url} answering")

    def route(self, **deployments: list[tuple[str, int, list[str]]]) -> None:
        """Replace the routes file: deployment -> [(revision, weight, backends)]."""
        document = {
            "deployments": {
                name: {
                    "namespace": "default",
                    "revisions": [
                        {"revision": r, "weight": w, "backends": b} for r, w, b in revisions
                    ],
                }
                for name, revisions in deployments.items()
            }
        }
        tmp = self.routes.with_suffix(".tmp")
        tmp.write_text(json.dumps(document))
        os.replace(tmp, self.routes)

    def metrics(self, deployment: str) -> dict[str, tuple[int, int]]:
        text = requests.get(f"{self.router}/metrics", timeout=10).text
        parsed = parse_deployment_metrics(text, deployment, "default")
        return {name: (r.requests, r.errors) for name, r in parsed.revisions.items()}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    processes = Processes()
    try:
        yield Runtime(tmp_path_factory.mktemp("runtime"), processes)
    finally:
        processes.stop()


@pytest.fixture
def failing_backend() -> Iterator[str]:
    """An HTTP server answering every request with 500."""

    class Failing(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            self.send_response(500)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = _fail

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_v1_and_v2_predictions_through_the_router(runtime: Runtime) -> None:
    runtime.route(tiny=[("r1", 100, [runtime.sklearn])])

    v1 = requests.post(
        f"{runtime.router}/v1/models/tiny:predict", json={"instances": [[1, 1], [2, 0]]}, timeout=10
    )
    v2 = requests.post(
        f"{runtime.router}/v2/models/tiny/infer",
        json={"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 1]}]},
        timeout=10,
    )

    assert v1.status_code == 200, v1.text
    assert np.allclose(v1.json()["predictions"], [3.0, 2.0])
    assert v1.headers[REVISION_HEADER] == "r1"
    assert v2.status_code == 200, v2.text
    assert np.allclose(v2.json()["outputs"][0]["data"], [3.0])
    assert requests.get(f"{runtime.router}/v1/models/tiny", timeout=10).json()["ready"] is True
    assert requests.get(f"{runtime.router}/v1/models/nope", timeout=10).status_code == 404


def test_transformer_runs_around_predict(runtime: Runtime) -> None:
    runtime.route(tiny=[("r1", 100, [runtime.torch])])

    answer = requests.post(
        f"{runtime.router}/v1/models/tiny:predict", json={"instances": [[1, 1]]}, timeout=10
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [[6.0]], "transformed": True}


def test_weighted_split_and_metrics(runtime: Runtime) -> None:
    # Both revisions on real servers; 30 % to the canary.
    runtime.route(split=[("base", 70, [runtime.sklearn]), ("canary", 30, [runtime.torch])])
    seen: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(1000):
            answer = session.get(f"{runtime.router}/v2/models/split/ready", timeout=10)
            assert answer.status_code == 404  # the servers know the model as "tiny"
            seen[answer.headers[REVISION_HEADER]] += 1

    assert 250 <= seen["canary"] <= 350, seen
    assert runtime.metrics("split") == {"base": (seen["base"], 0), "canary": (seen["canary"], 0)}


def test_backend_errors_count_as_errors(runtime: Runtime, failing_backend: str) -> None:
    runtime.route(
        broken=[
            ("refused", 50, [f"http://127.0.0.1:{free_port()}"]),
            ("failing", 50, [failing_backend]),
        ]
    )
    statuses = Counter(
        requests.post(
            f"{runtime.router}/v1/models/broken:predict", json={"instances": [[1, 1]]}, timeout=10
        ).status_code
        for _ in range(10)
    )

    assert statuses == {502: 5, 500: 5}
    assert runtime.metrics("broken") == {"refused": (5, 5), "failing": (5, 5)}


# --- the serving activities ---------------------------------------------------------------


def run(env: ActivityEnvironment, method: Callable[[A], Awaitable[R]], argument: A) -> R:
    """Run one activity method to completion in a test activity context."""

    async def call() -> R:
        return await env.run(method, argument)

    return asyncio.run(call())


def _spec(revision: str, uri: str, framework: ModelFramework, **fields: object) -> RevisionSpec:
    return RevisionSpec.model_validate(
        {
            "revision": revision,
            "source_uri": uri,
            "model_uri": uri,
            "framework": framework,
            **fields,
        }
    )


def _predict(url: str, session: requests.Session) -> requests.Response:
    return session.post(
        f"{url}/v1/models/dev-tiny:predict", json={"instances": [[1, 1]]}, timeout=10
    )


def _pid(serving: Path, revision: str) -> str:
    return (
        serving / "deployments" / "default" / "dev-tiny" / revision / "replica-0.pid"
    ).read_text()


def test_serving_activities_apply_canary_fail_promote_delete(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    deploy = storage / "dev" / "tiny" / "deploy"
    example = json.dumps({"instances": [[1, 1]]})
    (sklearn_model(deploy / "r1") / "input_example.json").write_text(example)
    torch_model(deploy / "r2")
    (deploy / "bad").mkdir()
    (deploy / "bad" / "model.joblib").write_text("not a model")
    serving = tmp_path / "serving"
    activities = LocalServingActivities(serving, LocalSecretStore(tmp_path / "secrets"), 60.0)
    env = ActivityEnvironment()
    ref = DeploymentRef(
        model_id="dev/tiny", name="dev-tiny", storage=StorageRef(base_uri=f"file://{storage}")
    )
    r1 = _spec("r1", f"file://{deploy}/r1", ModelFramework.SKLEARN)
    r2 = _spec("r2", f"file://{deploy}/r2", ModelFramework.PYTORCH, protocol=InferenceProtocol.V2)
    try:
        first = run(env, activities.apply, ApplyServing(deployment=ref, baseline=r1))
        assert first.ready and first.traffic == {"r1": 100} and first.replicas == {"r1": 1}
        with requests.Session() as session:
            answer = _predict(first.url, session)
            assert np.allclose(answer.json()["predictions"], [3.0])
            # A second worker (a restart) adopts the running replica.
            again = LocalServingActivities(serving, LocalSecretStore(tmp_path / "secrets"))
            pid = _pid(serving, "r1")
            assert run(env, again.apply, ApplyServing(deployment=ref, baseline=r1)) == first
            assert _pid(serving, "r1") == pid

            canary = ApplyServing(deployment=ref, baseline=r1, canary=r2, canary_percent=30)
            status = run(env, activities.apply, canary)
            assert status.url == first.url
            assert status.traffic == {"r1": 70, "r2": 30}
            served = Counter(
                _predict(status.url, session).headers[REVISION_HEADER] for _ in range(100)
            )
            assert served == {"r1": 70, "r2": 30}
            metrics = run(env, activities.metrics, ref)
            assert {r: m.requests for r, m in metrics.revisions.items()} == {"r1": 71, "r2": 30}

            bad = _spec("bad", f"file://{deploy}/bad", ModelFramework.SKLEARN)
            with pytest.raises(ApplicationError) as failed:
                run(
                    env,
                    activities.apply,
                    ApplyServing(deployment=ref, baseline=r1, canary=bad, canary_percent=50),
                )
            assert failed.value.type == "RevisionFailed" and failed.value.non_retryable
            assert "revision bad of dev-tiny failed" in failed.value.message
            assert "replica-0 log" in failed.value.message
            assert "could not be loaded with joblib" in failed.value.message
            assert not (serving / "deployments" / "default" / "dev-tiny" / "bad").exists()
            served = Counter(
                _predict(status.url, session).headers[REVISION_HEADER] for _ in range(10)
            )
            assert served == {"r1": 7, "r2": 3}  # the traffic stayed where it was

            image_only = _spec("r3", f"file://{deploy}/r1", ModelFramework.SKLEARN,
                               transformer=TransformerSpec(image="registry.local/t"))  # fmt: skip
            with pytest.raises(ApplicationError) as unsupported:
                run(env, activities.apply, ApplyServing(deployment=ref, baseline=image_only))
            assert unsupported.value.type == "UnsupportedDeployment"

            r1_pid = int(_pid(serving, "r1"))
            promoted = run(env, activities.apply, ApplyServing(deployment=ref, baseline=r2))
            assert promoted.traffic == {"r2": 100} and promoted.url == first.url
            assert _predict(promoted.url, session).headers[REVISION_HEADER] == "r2"
            assert not (serving / "deployments" / "default" / "dev-tiny" / "r1").exists()
            wait_until(lambda: not _alive(r1_pid), 30, "the retired replica stopping")

            r2_pid = int(_pid(serving, "r2"))
            run(env, activities.delete, ref)
            run(env, activities.delete, ref)  # idempotent
            with pytest.raises(requests.ConnectionError):  # the router went with the last one
                _predict(promoted.url, session)
            assert not (serving / "deployments" / "default" / "dev-tiny").exists()
            wait_until(lambda: not _alive(r2_pid), 30, "the deleted replica stopping")
    finally:
        run(env, activities.delete, ref)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
