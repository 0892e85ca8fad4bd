"""Small real models for serving tests, and a client that sends real inference requests."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import torch
from torch import nn

from harness import WorkerProcess, wait_for
from kaptain.contracts.serve import CanaryPolicy
from kaptain.model.models import Model


class Affine(nn.Module):
    """``y = x @ w + b`` with fixed weights: predictions the tests can compute by hand."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class FailsOnLargeInput(nn.Module):
    """Answers the test inference (small values) but fails on live traffic (large values)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 100.0):
            raise RuntimeError("canary bug: input too large")
        return x


EXAMPLE = {"instances": [[1.0, 2.0]]}
LIVE = {"instances": [[100.0, 200.0]]}


def save_torchscript(directory: Path, module: nn.Module) -> str:
    """Save ``module`` as TorchScript ``model.pt`` with an ``input_example.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    scripted: Any = torch.jit.script(module)
    scripted.save(str(directory / "model.pt"))
    (directory / "input_example.json").write_text(json.dumps(EXAMPLE))
    return f"file://{directory}"


def predict(url: str, name: str, body: dict[str, Any] | None = None) -> requests.Response:
    """One V1 prediction through the deployment's URL."""
    return requests.post(f"{url}/v1/models/{name}:predict", json=body or LIVE, timeout=30)


def split(url: str, name: str, count: int) -> Counter[float]:
    """Send ``count`` requests; count answers by the scale the serving revision applied."""
    seen: Counter[float] = Counter()
    with requests.Session() as session:
        for _ in range(count):
            answer = session.post(f"{url}/v1/models/{name}:predict", json=EXAMPLE, timeout=30)
            answer.raise_for_status()
            seen[answer.json()["predictions"][0][0]] += 1
    return seen


class Traffic:
    """Background live traffic against a deployment until stopped."""

    def __init__(self, url: str, name: str) -> None:
        self._url, self._name = url, name
        self._stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    answer = session.post(
                        f"{self._url}/v1/models/{self._name}:predict", json=LIVE, timeout=10
                    )
                    self.statuses[answer.status_code] += 1
                except requests.RequestException:
                    self.statuses[0] += 1
                self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def check_policy_rolls_back(model: Model, name: str, good_uri: str, bad_uri: str) -> None:
    """Deploy ``good_uri``, canary ``bad_uri`` (5xx on live traffic) under a policy, with
    live traffic running: the policy must roll the canary back and say why."""
    assert model.deploy(model_uri=good_uri)
    state = model.deployment()
    assert state is not None and state.url
    traffic = Traffic(state.url, name)
    try:
        model.deploy_canary(
            canary_traffic_percentage=20,
            model_uri=bad_uri,
            policy=CanaryPolicy(
                steps=[20, 50, 100], interval_seconds=2, max_error_rate=0.05, min_requests=5
            ),
        )

        def rolled_back() -> bool:
            current = model.deployment()
            return current is not None and current.rollback_reason is not None

        wait_for(rolled_back, 90)
    finally:
        traffic.stop()
    state = model.deployment()
    assert state is not None and state.canary is None
    assert state.rollback_reason is not None and "error rate" in state.rollback_reason
    assert state.analysis[-1].verdict == "fail"
    assert split(state.url or "", name, 20) == {1.0: 20}
    assert "rollback_canary" in [r.action for r in model.history()]
    model.undeploy()


def check_rollout_survives_a_worker_kill(
    model: Model, name: str, worker: WorkerProcess, first_uri: str, second_uri: str
) -> None:
    """SIGKILL the worker at a progressive rollout's second step: the rollout resumes there,
    judges every step once, promotes, and live traffic never fails."""
    assert model.deploy(model_uri=first_uri)
    state = model.deployment()
    assert state is not None and state.url
    traffic = Traffic(state.url, name)
    try:
        model.deploy_canary(
            canary_traffic_percentage=25,
            model_uri=second_uri,
            policy=CanaryPolicy(steps=[25, 50, 100], interval_seconds=3, max_error_rate=0.05),
        )

        def at_second_step() -> bool:
            current = model.deployment()
            return current is not None and current.canary_percent == 50

        wait_for(at_second_step, 60)
        worker.kill()
        worker.start()

        def promoted() -> bool:
            current = model.deployment()
            return current is not None and current.canary is None

        wait_for(promoted, 90)
    finally:
        traffic.stop()
    state = model.deployment()
    assert state is not None and state.rollback_reason is None
    assert state.baseline is not None and state.baseline.source_uri == second_uri
    # each step judged; the step in flight at the crash resumed rather than restarting
    assert [a.percent for a in state.analysis if a.verdict == "pass"] == [25, 50, 100]
    assert traffic.statuses[200] > 0 and not set(traffic.statuses) - {200}
    model.undeploy()
