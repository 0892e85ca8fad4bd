"""Bad input fails fast with the exact Kaptain exception, naming what is wrong.

Every case runs with ``KAPTAIN_HOME`` in a temporary directory, storage on
``file://$KAPTAIN_HOME/storage/models`` (``Config.default`` without AWS credentials) and
``KAPTAIN_TEMPORAL_ADDRESS`` pointing at a port where nothing listens -- so a check that is
missing shows up as ``PlatformUnavailableException`` instead of starting a stack -- and
asserts that nothing was created: no file anywhere under ``KAPTAIN_HOME`` (its storage and
secrets folders included).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kaptain.config import Config
from kaptain.exceptions import (
    InvalidConfigurationException,
    InvalidModelProperty,
    KaptainException,
    ModelDeploymentException,
    ModelValidationException,
    PlatformUnavailableException,
    UnsupportedMetricsTypeException,
    UnsupportedModelDeploymentException,
    UnsupportedModelFrameworkException,
)
from kaptain.model.models import Model
from kaptain.model.resources import Resources
from kaptain.model.transformer import Transformer
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.stack.paths import state_paths


def _free_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Env:
    """A prepared environment: model files, the state directory and a config."""

    project: Path
    home: Path
    config: Config

    def model(self, **overrides: Any) -> Model:
        fields: dict[str, Any] = {
            "id": "dev/mnist",
            "name": "MNIST",
            "description": "MNIST classifier",
            "version": "0.0.1",
            "framework": "pytorch",
            "framework_version": "2.13.0",
            "main_file": "trainer.py",
            "image_name": "registry.local/kaptain/mnist",
            "base_image": "pytorch/pytorch:2.13.0",
            "extra_files": ["helper.py"],
            "requirements": "requirements.txt",
            "config": self.config,
        }
        fields.update(overrides)
        return Model(**fields)

    def files(self) -> list[str]:
        """Every file under the state directory, relative to it."""
        return sorted(
            str(Path(root, name).relative_to(self.home))
            for root, _, names in os.walk(self.home)
            for name in names
        )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> Iterator[Env]:
    home = tmp_path / "kaptain-home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / "trainer.py").write_text("print('accuracy=0.9')\n")
    (project / "helper.py").write_text("VALUE = 1\n")
    (project / "requirements.txt").write_text("numpy\n")
    (tmp_path / "x.py").write_text("print('outside')\n")
    monkeypatch.setenv("KAPTAIN_HOME", str(home))
    monkeypatch.setenv("KAPTAIN_TEMPORAL_ADDRESS", f"127.0.0.1:{_free_port()}")
    monkeypatch.delenv("KAPTAIN_TEMPORAL_NAMESPACE", raising=False)
    monkeypatch.delenv("KAPTAIN_TASK_QUEUE", raising=False)
    config = Config.default(base_dir=str(project))
    # The precondition of the "nothing was created" checks: local storage in KAPTAIN_HOME.
    assert config.base_model_storage_uri == f"file://{state_paths().storage}/models"
    assert config.storage_credentials() == {}
    yield Env(project=project, home=home, config=config)


@dataclass(frozen=True)
class Case:
    """One bad input: what to do, the exact exception, and words its message must hold."""

    id: str
    action: Callable[[Env], object]
    error: type[KaptainException]
    names: tuple[str, ...]
    bug: str | None = None


HP: dict[str, Any] = {"--epochs": 1}
NOT_A_FLAG: Any = {1: 2}


def _model_field(field: str, value: object) -> Case:
    label = "none" if value is None else "blank" if value == "" else "spaces"
    return Case(
        f"model-{field}-{label}",
        lambda e: e.model(**{field: value}),
        InvalidModelProperty,
        (field,),
    )


REQUIRED_FIELDS = (
    "id",
    "name",
    "description",
    "version",
    "framework_version",
    "main_file",
    "image_name",
    "base_image",
)

CASES: list[Case] = [
    *(_model_field(f, v) for f in REQUIRED_FIELDS for v in (None, "", "   ")),
    Case(
        "model-framework-caffe",
        lambda e: e.model(framework="caffe"),
        UnsupportedModelFrameworkException,
        ("caffe",),
    ),
    Case(
        "train-main-file-missing",
        lambda e: e.model(main_file="missing_trainer.py").train(HP),
        ModelValidationException,
        ("main_file", "missing_trainer.py"),
    ),
    Case(
        "train-extra-file-missing",
        lambda e: e.model(extra_files=["helper.py", "no_such_helper.py"]).train(HP),
        ModelValidationException,
        ("extra_files", "no_such_helper.py"),
    ),
    Case(
        "train-requirements-missing",
        lambda e: e.model(requirements="no-requirements.txt").train(HP),
        ModelValidationException,
        ("requirements", "no-requirements.txt"),
    ),
    Case(
        "train-main-file-outside-base-dir",
        lambda e: e.model(main_file="../x.py").train(HP),
        ModelValidationException,
        ("main_file", "../x.py", "outside"),
    ),
    Case(
        "train-extra-file-absolute-outside-base-dir",
        lambda e: e.model(extra_files=[str(e.project.parent / "x.py")]).train(HP),
        ModelValidationException,
        ("extra_files", "x.py", "outside"),
    ),
    Case(
        "train-resources-and-cpu",
        lambda e: e.model().train(HP, resources=Resources(cpu_request="1"), cpu="1"),
        ModelValidationException,
        ("resources", "cpu"),
    ),
    Case(
        "train-workers-0",
        lambda e: e.model().train(HP, workers=0),
        ModelValidationException,
        ("workers",),
    ),
    Case(
        "train-gpus-negative",
        lambda e: e.model().train(HP, gpus=-1),
        ModelValidationException,
        ("gpus", "-1"),
    ),
    Case(
        "train-memory-2GG",
        lambda e: e.model().train(HP, memory="2GG"),
        ModelValidationException,
        ("memory", "2GG"),
    ),
    Case(
        "train-hyperparameters-int-key",
        lambda e: e.model().train(hyperparameters=NOT_A_FLAG),
        ModelValidationException,
        ("hyperparameters",),
    ),
    Case(
        "train-timeout-0",
        lambda e: e.model().train(HP, timeout=0),
        ModelValidationException,
        ("timeout",),
    ),
    Case(
        "train-ttl-negative",
        lambda e: e.model().train(HP, ttl_seconds_after_finished=-5),
        ModelValidationException,
        ("ttl_seconds_after_finished",),
    ),
    Case(
        "build-main-file-missing",
        lambda e: e.model(main_file="missing_trainer.py").build(),
        ModelValidationException,
        ("main_file", "missing_trainer.py"),
    ),
    Case(
        "build-main-file-outside-base-dir",
        lambda e: e.model(main_file="../x.py").build(),
        ModelValidationException,
        ("main_file", "../x.py", "outside"),
    ),
    Case(
        "model-id-only-slashes",
        lambda e: e.model(id="/"),
        InvalidModelProperty,
        ("id",),
    ),
    Case(
        "model-extra-files-a-string",
        lambda e: e.model(extra_files="helper.py"),
        InvalidModelProperty,
        ("extra_files",),
    ),
    Case(
        "model-labels-a-string",
        lambda e: e.model(labels="dev/mnist-pytorch"),
        InvalidModelProperty,
        ("labels",),
    ),
    Case(
        "save-as-json-path-escapes-storage",
        lambda e: e.model().save_as_json("../../escape.json"),
        ModelValidationException,
        ("../../escape.json",),
    ),
    Case(
        "docker-config-without-auths",
        lambda e: DockerConfigurationProvider('{"foo": 1}'),
        InvalidConfigurationException,
        ("auths",),
    ),
    Case(
        "docker-config-invalid-json",
        lambda e: DockerConfigurationProvider('{"auths": '),
        InvalidConfigurationException,
        ("JSON",),
    ),
    Case(
        "deploy-nothing-trained",
        lambda e: e.model().deploy(),
        ModelDeploymentException,
        ("dev/mnist", "train it first", "model_uri"),
    ),
    Case(
        "deploy-unservable-framework",
        lambda e: e.model(framework="xgboost").deploy(model_uri="file:///m"),
        UnsupportedModelDeploymentException,
        ("xgboost", "pytorch"),
    ),
    Case(
        "deploy-autoscale-zero",
        lambda e: e.model().deploy(model_uri="file:///m", autoscale=0),
        ModelValidationException,
        ("autoscale",),
    ),
    Case(
        "deploy-unknown-kwarg",
        lambda e: e.model().deploy(model_uri="file:///m", replicas="3"),
        ModelValidationException,
        ("replicas", "min_replicas"),
    ),
    Case(
        "deploy-replicas-inverted",
        lambda e: e.model().deploy(model_uri="file:///m", min_replicas="3", max_replicas="1"),
        ModelValidationException,
        ("max_replicas", "min_replicas"),
    ),
    Case(
        "deploy-bad-protocol",
        lambda e: e.model(serving_config={"protocol_version": "v3"}).deploy(model_uri="file:///m"),
        ModelValidationException,
        ("protocol_version", "v3"),
    ),
    Case(
        "deploy-resources-and-cpu",
        lambda e: e.model().deploy(
            model_uri="file:///m", cpu="1", resources=Resources(cpu_limit=1)
        ),
        ModelValidationException,
        ("resources", "cpu"),
    ),
    Case(
        "deploy-missing-transformer-module",
        lambda e: e.model().deploy(
            model_uri="file:///m", transformer=Transformer("img", module="nope.py")
        ),
        ModelValidationException,
        ("nope.py",),
    ),
    Case(
        "canary-percent-above-100",
        lambda e: e.model().deploy_canary(canary_traffic_percentage=150),
        ModelValidationException,
        ("canary_traffic_percentage", "100"),
    ),
    Case(
        "canary-percent-zero",
        lambda e: e.model().deploy_canary(canary_traffic_percentage=0),
        ModelValidationException,
        ("canary_traffic_percentage",),
    ),
    Case(
        "log-metrics-bogus-type",
        lambda e: e.model().log_metrics({"accuracy": 0.9}, metrics_type="bogus"),
        UnsupportedMetricsTypeException,
        ("metrics_type", "bogus"),
    ),
]


PARAMS = [
    pytest.param(
        case,
        id=case.id,
        marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {case.bug}")] if case.bug else [],
    )
    for case in CASES
]


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input(env: Env, case: Case) -> None:
    with pytest.raises(KaptainException) as caught:
        case.action(env)
    assert type(caught.value) is case.error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    for word in case.names:
        assert word in message, f"{word!r} not in {message!r}"
    assert env.files() == [], "something was created before the error"


@pytest.mark.timeout(120)
def test_unreachable_temporal(env: Env) -> None:
    address = os.environ["KAPTAIN_TEMPORAL_ADDRESS"]
    model = env.model()
    with pytest.raises(PlatformUnavailableException) as caught:
        model.train(hyperparameters={"--epochs": 1}, workers=1, cpu="1", memory="1G")
    assert address in str(caught.value)
    assert "KAPTAIN_TEMPORAL_ADDRESS" in str(caught.value)
    # The SDK connects before it uploads the build context or stages credentials, so an
    # unreachable Temporal leaves nothing behind.
    assert env.files() == []
    assert model.state.value == "untrained"
    assert model.model_uri is None
