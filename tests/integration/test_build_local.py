"""``Model.build()`` on the local platform: SDK -> Temporal -> worker -> checksum-keyed env."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey

from harness import TRAINERS, WorkerProcess, make_model
from kaptain.config import Config
from kaptain.contracts import SearchAttribute, build_workflow_id
from kaptain.exceptions import ImageBuildException
from kaptain.model.build_context import collect
from kaptain.model.models import Model

BUILT = "built and published."
SKIPPED = "Skipping the build: image "


def checksum_of(model: Model) -> str:
    """The content checksum, computed the way the SDK does (public ``collect``)."""
    return collect(
        model.config.base_dir,
        model.main_file,
        model.extra_files,
        model.requirements,
        model.base_image,
    ).checksum


def env_dirs(home: Path) -> list[Path]:
    return sorted(p for p in (home / "envs").iterdir() if p.is_dir())


def describe(address: str, workflow_id: str) -> WorkflowExecutionDescription:
    async def _describe() -> WorkflowExecutionDescription:
        client = await Client.connect(address)
        return await client.get_workflow_handle(workflow_id).describe()

    return asyncio.run(_describe())


def copy_trainers(tmp_path: Path) -> Path:
    target = tmp_path / "trainers"
    shutil.copytree(TRAINERS, target)
    return target


def test_first_build_creates_the_environment(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    checksum = checksum_of(model)
    assert model.build() is True
    out = capsys.readouterr().out
    assert f"Image {model.image} {BUILT}" in out, out
    assert SKIPPED not in out

    env = kaptain_home / "envs" / checksum
    assert env_dirs(kaptain_home) == [env]
    assert (env / "READY").is_file()
    code = env / "code"
    assert (code / "tiny_trainer.py").read_bytes() == (TRAINERS / "tiny_trainer.py").read_bytes()
    assert (code / "tiny_helper.py").read_bytes() == (TRAINERS / "tiny_helper.py").read_bytes()
    assert (code / "requirements.txt").is_file()
    dockerfile = (code / "Dockerfile").read_text().splitlines()
    assert dockerfile[0] == "FROM python:3.11"
    assert f"LABEL checksum={checksum}" in dockerfile
    assert "RUN pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert dockerfile[-1] == 'ENTRYPOINT ["python", "-u", "tiny_trainer.py"]'

    # the worker's environment is the base layer: kaptain and scikit-learn come from it
    python = env / "venv" / "bin" / "python"
    assert python.exists()
    probe = subprocess.run(
        [str(python), "-c", "import kaptain.platform.metadata_util, sklearn"],
        check=False,
        capture_output=True,
        text=True,
        cwd=env / "code",
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr


def test_second_build_of_the_same_contents_is_skipped(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_model()
    checksum = checksum_of(model)
    assert model.build()
    capsys.readouterr()
    ready = kaptain_home / "envs" / checksum / "READY"
    before = ready.stat().st_mtime_ns

    again = make_model()  # a fresh object with the same contents
    assert again.build() is True
    out = capsys.readouterr().out
    assert (
        f"Skipping the build: image {model.image} with the same contents "
        f"(checksum {checksum[:12]}) is already published."
    ) in out, out
    assert BUILT not in out
    assert ready.stat().st_mtime_ns == before
    assert env_dirs(kaptain_home) == [ready.parent]


def test_changed_contents_give_a_new_checksum_and_environment(
    worker: WorkerProcess, kaptain_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = copy_trainers(tmp_path)
    first = make_model(config=Config.default(base_dir=str(base)))
    first_checksum = checksum_of(first)
    assert first.build()
    capsys.readouterr()

    helper = base / "tiny_helper.py"
    helper.write_text(helper.read_text() + "\n# a change\n")
    second = make_model(config=first.config)
    second_checksum = checksum_of(second)
    assert second_checksum != first_checksum
    assert second.build()
    out = capsys.readouterr().out
    assert f"Image {second.image} {BUILT}" in out, out
    assert SKIPPED not in out

    envs = kaptain_home / "envs"
    assert env_dirs(kaptain_home) == sorted([envs / first_checksum, envs / second_checksum])
    assert (envs / second_checksum / "READY").is_file()
    assert (envs / second_checksum / "code" / "tiny_helper.py").read_text().endswith("# a change\n")
    assert "# a change" not in (envs / first_checksum / "code" / "tiny_helper.py").read_text()
    dockerfile = (envs / second_checksum / "code" / "Dockerfile").read_text()
    assert f"LABEL checksum={second_checksum}\n" in dockerfile


@pytest.mark.parametrize(
    ("image_name", "expected"),
    [
        ("registry.local/kaptain/tiny", "registry.local/kaptain/tiny:dev-tiny-pytorch-2.13.0"),
        ("localhost:5000/tiny", "localhost:5000/tiny:dev-tiny-pytorch-2.13.0"),
        ("registry.local/kaptain/tiny:v7", "registry.local/kaptain/tiny:v7"),
    ],
)
def test_image_tag(
    worker: WorkerProcess,
    capsys: pytest.CaptureFixture[str],
    image_name: str,
    expected: str,
) -> None:
    model = make_model(image_name=image_name)
    assert model.image == expected
    assert model.build()
    out = capsys.readouterr().out
    assert f"Image {expected} {BUILT}" in out, out


def test_build_workflow_carries_search_attributes(
    worker: WorkerProcess, temporal_address: str
) -> None:
    model = make_model()
    assert model.build()
    description = describe(temporal_address, build_workflow_id(model.image, checksum_of(model)))
    assert description.status == WorkflowExecutionStatus.COMPLETED
    attributes = description.typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword(SearchAttribute.MODEL_ID)) == "dev/tiny"
    assert attributes.get(SearchAttributeKey.for_keyword(SearchAttribute.ACTION)) == "build"


BAD_REQUIREMENT = "./no-such-local-package-dir"


def test_failed_build_raises_with_the_pip_log(
    worker: WorkerProcess,
    kaptain_home: Path,
    tmp_path: Path,
    temporal_address: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = copy_trainers(tmp_path)
    (base / "requirements.txt").write_text(f"{BAD_REQUIREMENT}\n")
    model = make_model(config=Config.default(base_dir=str(base)))
    checksum = checksum_of(model)

    with pytest.raises(ImageBuildException) as caught:
        model.build()
    message = str(caught.value)
    assert BAD_REQUIREMENT in message, message  # the tail of pip's log
    assert BUILT not in capsys.readouterr().out

    description = describe(temporal_address, build_workflow_id(model.image, checksum))
    assert description.status == WorkflowExecutionStatus.FAILED
    assert list((kaptain_home / "envs").glob("*/READY")) == []

    # training with the same requirements fails the same way: an exception, not False
    with pytest.raises(ImageBuildException) as caught_train:
        model.train(workers=1, hyperparameters={"--epochs": 1})
    assert BAD_REQUIREMENT in str(caught_train.value)
    assert model.state.value == "untrained"
    assert list((kaptain_home / "envs").glob("*/READY")) == []
    assert not list((kaptain_home / "jobs").glob("*/*"))


def test_same_contents_under_a_new_image_name_is_published_not_rebuilt(
    worker: WorkerProcess, kaptain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kaptain skips only when an image *of that name* has the checksum."""
    assert make_model(image_name="registry.local/kaptain/tiny").build()
    envs_before = sorted(p.name for p in (kaptain_home / "envs").iterdir() if p.is_dir())
    capsys.readouterr()
    assert make_model(image_name="registry.local/other/tiny").build()
    out = capsys.readouterr().out
    assert "Skipping the build" not in out
    assert "registry.local/other/tiny:dev-tiny-pytorch-2.13.0 built and published" in out
    assert sorted(p.name for p in (kaptain_home / "envs").iterdir() if p.is_dir()) == envs_before
    assert make_model(image_name="registry.local/other/tiny").build()
    assert "Skipping the build" in capsys.readouterr().out
