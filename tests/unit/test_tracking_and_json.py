"""Model tracking records and model JSON files, on file:// storage and on S3 (moto)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kaptain.config import Config
from kaptain.contracts import TrackingRecord
from kaptain.exceptions import ModelAlreadyExistsException, ModelValidationException
from kaptain.model.models import Model
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.local import LocalStorageConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kaptain.tracking import TrackingStore

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "trainer.py").write_text("print('accuracy=0.9')\n")
    (root / "helper.py").write_text("VALUE = 1\n")
    (root / "requirements.txt").write_text("numpy\n")
    return root


def make_model(config: Config, model_id: str = "dev/mnist") -> Model:
    return Model(
        id=model_id,
        name="MNIST",
        description="MNIST classifier",
        version="0.0.1",
        framework="pytorch",
        framework_version="2.13.0",
        main_file="trainer.py",
        image_name="registry.local/kaptain/mnist",
        base_image="pytorch/pytorch:2.13.0",
        extra_files=["helper.py"],
        requirements="requirements.txt",
        labels=["dev/mnist-pytorch"],
        config=config,
        serving_config={"handler": "image_classifier"},
    )


def record(model_id: str, timestamp: str, action: str = "train", **details: Any) -> TrackingRecord:
    return TrackingRecord(
        model_id=model_id,
        revision="0123456789abcdef",
        action=action,
        timestamp=timestamp,
        details=details,
    )


# -- TrackingStore on file:// ------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage" / "models"


@pytest.fixture
def tracking(storage: Path) -> TrackingStore:
    return TrackingStore.open(f"file://{storage}")


def test_records_come_back_oldest_first(tracking: TrackingStore) -> None:
    stamps = [
        "2024-05-01T10:00:02+00:00",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:00:01.500000+00:00",
        "2024-05-01T09:59:59.999999+00:00",
    ]
    for number, stamp in enumerate(stamps):
        tracking.append(record("dev/mnist", stamp, step=number))
    assert [r.timestamp for r in tracking.records("dev/mnist")] == sorted(stamps)
    assert [r.details["step"] for r in tracking.records("dev/mnist")] == [3, 1, 2, 0]


def test_records_round_trip_every_field(tracking: TrackingStore) -> None:
    original = TrackingRecord(
        model_id="dev/mnist",
        revision="rev-1",
        action="train",
        timestamp="2024-05-01T10:00:00+00:00",
        state="trained",
        details={"hyperparameters": {"--lr": "0.1"}, "metrics": {"accuracy": {"min": 0.5}}},
    )
    tracking.append(original)
    assert tracking.records("dev/mnist") == [original]


def test_append_is_idempotent(tracking: TrackingStore, storage: Path) -> None:
    same = record("dev/mnist", "2024-05-01T10:00:00+00:00", accuracy=0.9)
    first = tracking.append(same)
    second = tracking.append(same)
    assert first == second
    assert first.endswith(".json")
    files = sorted(p for p in (storage / "dev" / "mnist" / "tracking").iterdir())
    assert len(files) == 1
    assert tracking.records("dev/mnist") == [same]


def test_different_records_at_the_same_time_are_both_kept(tracking: TrackingStore) -> None:
    stamp = "2024-05-01T10:00:00+00:00"
    tracking.append(record("dev/mnist", stamp, accuracy=0.9))
    tracking.append(record("dev/mnist", stamp, accuracy=0.8))
    assert sorted(r.details["accuracy"] for r in tracking.records("dev/mnist")) == [0.8, 0.9]


def test_records_are_per_model(tracking: TrackingStore) -> None:
    tracking.append(record("dev/mnist", "2024-05-01T10:00:00+00:00"))
    tracking.append(record("dev/mnist-2", "2024-05-01T10:00:01+00:00"))
    tracking.append(record("prod/mnist", "2024-05-01T10:00:02+00:00"))
    assert [r.model_id for r in tracking.records("dev/mnist")] == ["dev/mnist"]
    assert [r.model_id for r in tracking.records("dev/mnist-2")] == ["dev/mnist-2"]
    assert tracking.records("dev/unknown") == []


def test_records_of_a_model_named_tracking_stay_apart(tracking: TrackingStore) -> None:
    tracking.append(record("team", "2024-05-01T10:00:00+00:00"))
    tracking.append(record("team/tracking", "2024-05-01T10:00:01+00:00"))
    assert [r.model_id for r in tracking.records("team")] == ["team"]


# -- Model JSON on file:// ---------------------------------------------------------------------


@pytest.fixture
def file_config(storage: Path, project: Path) -> Config:
    return Config(
        DockerConfigurationProvider.empty(),
        LocalStorageConfigurationProvider(),
        base_dir=str(project),
        base_model_storage_uri=f"file://{storage}",
    )


def test_save_as_json_default_path(file_config: Config, storage: Path) -> None:
    model = make_model(file_config)
    model.save_as_json()
    saved = storage / "dev" / "mnist" / "model.json"
    assert saved.is_file()
    data = json.loads(saved.read_text())
    assert data["id"] == "dev/mnist"
    assert data["framework"] == "pytorch"
    assert data["revision"] == model.revision
    assert data["state"] == "untrained"
    assert data["extra_files"] == ["helper.py"]


def test_save_as_json_refuses_to_overwrite(file_config: Config, storage: Path) -> None:
    model = make_model(file_config)
    model.save_as_json()
    saved = storage / "dev" / "mnist" / "model.json"
    before = saved.read_bytes()
    model.description = "changed"
    with pytest.raises(ModelAlreadyExistsException, match=r"model\.json"):
        model.save_as_json()
    assert saved.read_bytes() == before
    model.save_as_json(overwrite=True)
    assert json.loads(saved.read_text())["description"] == "changed"


@pytest.mark.parametrize("suffix", ["", "/", "/model.json"])
def test_load_from_json_round_trip(file_config: Config, storage: Path, suffix: str) -> None:
    model = make_model(file_config)
    model.save_as_json()
    loaded = Model.load_from_json(f"file://{storage}/dev/mnist{suffix}", file_config)
    assert loaded.meta() == model.meta()
    assert loaded.revision == model.revision
    assert loaded.config is file_config


def test_save_to_a_relative_path_and_to_a_uri(
    file_config: Config, storage: Path, tmp_path: Path
) -> None:
    model = make_model(file_config)
    model.save_as_json("exports/mnist.json")
    assert (storage / "exports" / "mnist.json").is_file()
    elsewhere = tmp_path / "elsewhere" / "m.json"
    model.save_as_json(f"file://{elsewhere}")
    assert elsewhere.is_file()
    for uri in (f"file://{storage}/exports/mnist.json", f"file://{elsewhere}"):
        assert Model.load_from_json(uri, file_config).meta() == model.meta()


def test_load_from_json_of_nothing(file_config: Config, storage: Path) -> None:
    with pytest.raises(ModelValidationException, match="no saved model"):
        Model.load_from_json(f"file://{storage}/dev/absent", file_config)


def test_load_from_json_of_garbage(file_config: Config, storage: Path) -> None:
    target = storage / "dev" / "garbage" / "model.json"
    target.parent.mkdir(parents=True)
    target.write_text("{not json")
    with pytest.raises(ModelValidationException, match="not a saved model"):
        Model.load_from_json(f"file://{storage}/dev/garbage", file_config)


def test_log_and_history_on_file_storage(file_config: Config, storage: Path) -> None:
    model = make_model(file_config)
    model.log_data("mnist", "file:///data/mnist", features=["pixels"])
    model.log_metrics({"accuracy": 0.97}, "testing")
    history = model.history()
    assert [r.action for r in history] == ["log_data", "log_metrics"]
    assert all(r.revision == model.revision for r in history)
    assert (storage / "dev" / "mnist" / "tracking").is_dir()


# -- the same against S3 (a real moto server) ----------------------------------------------------

BUCKET = "kaptain"


@pytest.fixture
def s3_client(moto_endpoint: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError as error:  # the session's moto server is shared between tests
        if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
    return client


@pytest.fixture
def s3_config(s3_client: Any, moto_endpoint: str, project: Path) -> Iterator[Config]:
    yield Config(
        DockerConfigurationProvider.empty(),
        S3ConfigurationProvider(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            s3_endpoint=moto_endpoint,
            s3_force_path_style=True,
        ),
        base_dir=str(project),
        base_model_storage_uri=f"s3://{BUCKET}/models",
    )


@pytest.fixture
def model_id() -> str:
    """A model id no other test uses (the bucket is shared)."""
    return f"dev/mnist-{uuid.uuid4().hex[:8]}"


def _keys(client: Any, prefix: str) -> list[str]:
    response = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in response.get("Contents", []))


def test_s3_save_and_load_round_trip(s3_config: Config, s3_client: Any, model_id: str) -> None:
    model = make_model(s3_config, model_id)
    model.save_as_json()
    key = f"models/{model_id}/model.json"
    assert _keys(s3_client, f"models/{model_id}/") == [key]
    body = s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert json.loads(body)["id"] == model_id
    for uri in (f"s3://{BUCKET}/models/{model_id}", f"s3://{BUCKET}/models/{model_id}/model.json"):
        loaded = Model.load_from_json(uri, s3_config)
        assert loaded.meta() == model.meta()


def test_s3_save_refuses_then_overwrites(s3_config: Config, s3_client: Any, model_id: str) -> None:
    model = make_model(s3_config, model_id)
    model.save_as_json()
    model.description = "second"
    with pytest.raises(ModelAlreadyExistsException, match=f"s3://{BUCKET}/models/{model_id}"):
        model.save_as_json()
    assert Model.load_from_json(f"s3://{BUCKET}/models/{model_id}", s3_config).description == (
        "MNIST classifier"
    )
    model.save_as_json(overwrite=True)
    assert Model.load_from_json(f"s3://{BUCKET}/models/{model_id}", s3_config).description == (
        "second"
    )


def test_s3_load_of_nothing(s3_config: Config, model_id: str) -> None:
    with pytest.raises(ModelValidationException, match="no saved model"):
        Model.load_from_json(f"s3://{BUCKET}/models/{model_id}", s3_config)


def test_s3_log_data_log_metrics_history(s3_config: Config, s3_client: Any, model_id: str) -> None:
    model = make_model(s3_config, model_id)
    assert model.history() == []
    model.log_data(
        "mnist",
        "s3://kaptain/data/mnist",
        description="handwritten digits",
        features=["pixels"],
        version="1",
    )
    model.log_metrics({"accuracy": 0.97, "loss": 1}, "testing", uri="s3://kaptain/logs/run1")
    history = model.history()
    assert [r.action for r in history] == ["log_data", "log_metrics"]
    assert all(r.model_id == model_id and r.revision == model.revision for r in history)
    assert history[0].details == {
        "name": "mnist",
        "uri": "s3://kaptain/data/mnist",
        "description": "handwritten digits",
        "features": ["pixels"],
        "version": "1",
    }
    assert history[1].details == {
        "metrics": {"accuracy": 0.97, "loss": 1.0},
        "metrics_type": "testing",
        "uri": "s3://kaptain/logs/run1",
    }
    tracking_keys = _keys(s3_client, f"models/{model_id}/tracking/")
    assert len(tracking_keys) == 2
    assert all(key.endswith(".json") for key in tracking_keys)
    # A model loaded from its JSON sees the same history.
    model.save_as_json()
    loaded = Model.load_from_json(f"s3://{BUCKET}/models/{model_id}", s3_config)
    assert loaded.history() == history
