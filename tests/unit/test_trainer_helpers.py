from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import pytest

from kaptain.exceptions import InvalidConfigurationException, ModelValidationException
from kaptain.platform.metadata_util import MetadataUtil
from kaptain.platform.model_export_util import ModelExportUtil
from kaptain.storage import LocalObjectStore, S3ObjectStore, client_from_env

pytestmark = pytest.mark.usefixtures("clean_env")

# Katib's StdOut metrics collector.
KATIB_METRIC = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")


def model_dir(root: Path) -> Path:
    (root / "0001" / "variables").mkdir(parents=True)
    (root / "0001" / "saved_model.pb").write_bytes(b"pb")
    (root / "0001" / "variables" / "v.data").write_bytes(b"vars")
    return root


# -- ModelExportUtil ----------------------------------------------------------------------


def test_upload_file_and_extras_to_local_storage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "storage" / "dev" / "mnist" / "trained" / "abc"
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", target.as_uri())
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a b c")
    extra_dir = model_dir(tmp_path / "assets")

    uri = ModelExportUtil().upload_model(str(model), extra_files=[str(vocab), str(extra_dir)])

    assert uri == target.as_uri()
    assert (target / "model.pt").read_bytes() == b"weights"
    assert (target / "vocab.txt").read_text() == "a b c"
    assert (target / "assets" / "0001" / "saved_model.pb").read_bytes() == b"pb"


def test_upload_directory_keeps_relative_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", target.as_uri())
    ModelExportUtil().upload_model(str(model_dir(tmp_path / "export")))
    assert sorted(LocalObjectStore(target).list()) == [
        "0001/saved_model.pb",
        "0001/variables/v.data",
    ]


def test_upload_to_s3_with_process_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_env: dict[str, str], bucket: str
) -> None:
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    uri = f"s3://{bucket}/models/dev/mnist/trained/abc"
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", uri)
    monkeypatch.setenv("RANK", "0")
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")

    assert ModelExportUtil().upload_model(str(model), [str(model_dir(tmp_path / "extra"))]) == uri

    store = S3ObjectStore(bucket, client_from_env(s3_env))
    assert store.list("models/") == [
        "models/dev/mnist/trained/abc/extra/0001/saved_model.pb",
        "models/dev/mnist/trained/abc/extra/0001/variables/v.data",
        "models/dev/mnist/trained/abc/model.pt",
    ]
    assert store.get_bytes("models/dev/mnist/trained/abc/model.pt") == b"weights"


def test_upload_with_an_injected_environment(
    tmp_path: Path, s3_env: dict[str, str], bucket: str
) -> None:
    model = tmp_path / "model.joblib"
    model.write_bytes(b"sk")
    env = {**s3_env, "TRAINED_MODEL_UPLOAD_PATH": f"s3://{bucket}/m"}
    assert ModelExportUtil(env).upload_model(str(model)) == f"s3://{bucket}/m"
    assert S3ObjectStore(bucket, client_from_env(s3_env)).list() == ["m/model.joblib"]


def test_without_upload_path_warns_and_returns_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"w")
    with caplog.at_level(logging.WARNING, logger="kaptain.platform.model_export_util"):
        assert ModelExportUtil().upload_model(str(model)) == ""
    assert "TRAINED_MODEL_UPLOAD_PATH" in caplog.text


@pytest.mark.parametrize("rank", ["1", "3"])
def test_only_rank_zero_uploads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rank: str) -> None:
    target = tmp_path / "out"
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", target.as_uri())
    monkeypatch.setenv("RANK", rank)
    model = tmp_path / "model.pt"
    model.write_bytes(b"w")
    assert ModelExportUtil().upload_model(str(model)) == ""
    assert not target.exists()


def test_missing_model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", (tmp_path / "out").as_uri())
    with pytest.raises(ModelValidationException, match=r"missing\.pt"):
        ModelExportUtil().upload_model(str(tmp_path / "missing.pt"))
    model = tmp_path / "model.pt"
    model.write_bytes(b"w")
    with pytest.raises(ModelValidationException, match=r"nope\.txt"):
        ModelExportUtil().upload_model(str(model), [str(tmp_path / "nope.txt")])
    assert not (tmp_path / "out").exists()


def test_extra_files_must_be_a_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", (tmp_path / "out").as_uri())
    with pytest.raises(ModelValidationException, match="list"):
        ModelExportUtil().upload_model(__file__, extra_files="vocab.txt")  # type: ignore[arg-type]


def test_unsupported_upload_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINED_MODEL_UPLOAD_PATH", "gs://bucket/x")
    with pytest.raises(InvalidConfigurationException, match="gs://bucket/x"):
        ModelExportUtil().upload_model(__file__)


# -- MetadataUtil -------------------------------------------------------------------------


def test_record_metrics_prints_katib_lines(capsys: pytest.CaptureFixture[str]) -> None:
    MetadataUtil.record_metrics({"accuracy": 0.97, "loss": 1e-05, "epoch": 3, "val-loss|x": -2.5})
    out = capsys.readouterr().out
    assert out == "accuracy=0.97\nloss=1e-05\nepoch=3\nval-loss|x=-2.5\n"
    parsed = {match[1]: float(match[2]) for match in KATIB_METRIC.finditer(out)}
    assert parsed == {"accuracy": 0.97, "loss": 1e-05, "epoch": 3.0, "val-loss|x": -2.5}


def test_record_metrics_empty(capsys: pytest.CaptureFixture[str]) -> None:
    MetadataUtil.record_metrics({})
    assert capsys.readouterr().out == ""


def test_record_metrics_on_an_instance(capsys: pytest.CaptureFixture[str]) -> None:
    MetadataUtil().record_metrics({"f1": 0.5})
    assert capsys.readouterr().out == "f1=0.5\n"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"acc uracy": 0.5}, "name"),
        ({"": 0.5}, "name"),
        ({"acc=": 0.5}, "name"),
        ({"a.b": 0.5}, "name"),
        ({1: 0.5}, "name"),
        ({"accuracy": "0.5"}, "number"),
        ({"accuracy": None}, "number"),
        ({"accuracy": True}, "number"),
        ({"accuracy": math.nan}, "finite"),
        ({"accuracy": -math.inf}, "finite"),
    ],
)
def test_record_metrics_rejects_invalid(
    capsys: pytest.CaptureFixture[str], metrics: dict[object, object], message: str
) -> None:
    with pytest.raises(ModelValidationException, match=message):
        MetadataUtil.record_metrics({"ok": 1.0, **metrics})  # type: ignore[dict-item]
    assert capsys.readouterr().out == ""


def test_record_metrics_requires_a_mapping() -> None:
    with pytest.raises(ModelValidationException, match="dict"):
        MetadataUtil.record_metrics([("accuracy", 0.5)])  # type: ignore[arg-type]
