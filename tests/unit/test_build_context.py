"""The build context: checksum, generated Dockerfile, reproducible tarball, image tag."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kaptain.model.build_context import BuildContext, collect, image_reference

BASE = "pytorch/pytorch:2.13.0"
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""A valid Docker tag (the distribution spec's grammar)."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "trainer.py").write_text("import helper\nprint('accuracy=0.9')\n")
    (root / "helper.py").write_text("VALUE = 1\n")
    (root / "requirements.txt").write_text("numpy==1.26.4\n")
    return root


def context(
    project: Path,
    *,
    main: str = "trainer.py",
    extra: tuple[str, ...] = ("helper.py",),
    requirements: str | None = "requirements.txt",
    base: str = BASE,
) -> BuildContext:
    return collect(str(project), main, list(extra), requirements, base)


# -- checksum ----------------------------------------------------------------------------------


def test_checksum_is_a_sha256_hex_digest(project: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", context(project).checksum)


def test_checksum_is_stable_for_the_same_inputs(project: Path, tmp_path: Path) -> None:
    first = context(project).checksum
    assert context(project).checksum == first
    # Same bytes elsewhere, with other modification times: same checksum.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("trainer.py", "helper.py", "requirements.txt"):
        (copy / name).write_bytes((project / name).read_bytes())
        os.utime(copy / name, (1_000_000, 1_000_000))
    assert context(copy).checksum == first
    # Extra files given in another order: same image, same checksum.
    (project / "data.py").write_text("DATA = []\n")
    assert (
        context(project, extra=("helper.py", "data.py")).checksum
        == context(project, extra=("data.py", "helper.py")).checksum
    )


def _change_helper_bytes(project: Path) -> dict[str, Any]:
    (project / "helper.py").write_text("VALUE = 2\n")
    return {}


def _rename_helper(project: Path) -> dict[str, Any]:
    (project / "helper.py").rename(project / "helpers.py")
    return {"extra": ("helpers.py",)}


def _change_main_bytes(project: Path) -> dict[str, Any]:
    (project / "trainer.py").write_text("print('accuracy=0.8')\n")
    return {}


def _change_requirements(project: Path) -> dict[str, Any]:
    (project / "requirements.txt").write_text("numpy==2.0.0\n")
    return {}


def _drop_requirements(project: Path) -> dict[str, Any]:
    return {"requirements": None}


def _other_base_image(project: Path) -> dict[str, Any]:
    return {"base": "pytorch/pytorch:2.13.0-cuda12"}


def _other_main_file(project: Path) -> dict[str, Any]:
    # Same files, another entry point: only the Dockerfile differs.
    return {"main": "helper.py", "extra": ("trainer.py",)}


def _add_extra_file(project: Path) -> dict[str, Any]:
    (project / "data.py").write_text("DATA = []\n")
    return {"extra": ("helper.py", "data.py")}


CHANGES = [
    _change_helper_bytes,
    _rename_helper,
    _change_main_bytes,
    _change_requirements,
    _drop_requirements,
    _other_base_image,
    _other_main_file,
    _add_extra_file,
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.lstrip("_") for c in CHANGES])
def test_checksum_changes_with_any_input(
    project: Path, change: Callable[[Path], dict[str, Any]]
) -> None:
    before = context(project).checksum
    overrides = change(project)
    after = context(project, **overrides).checksum
    assert after != before


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_with_requirements(project: Path) -> None:
    ctx = context(project)
    lines = ctx.dockerfile(ctx.checksum).splitlines()
    assert lines[0] == f"FROM {BASE}"
    assert lines[1] == f"LABEL checksum={ctx.checksum}"
    assert lines[2] == "WORKDIR /kaptain"
    assert lines[3] == "COPY . /kaptain"
    assert lines[4].startswith("RUN ")
    assert "pip install" in lines[4]
    assert lines[4].endswith("-r requirements.txt")
    assert lines[5] == 'ENTRYPOINT ["python", "-u", "trainer.py"]'
    assert json.loads(lines[5].removeprefix("ENTRYPOINT ")) == ["python", "-u", "trainer.py"]
    assert len(lines) == 6


def test_dockerfile_without_requirements(project: Path) -> None:
    ctx = context(project, requirements=None)
    lines = ctx.dockerfile(ctx.checksum).splitlines()
    assert lines == [
        f"FROM {BASE}",
        f"LABEL checksum={ctx.checksum}",
        "WORKDIR /kaptain",
        "COPY . /kaptain",
        'ENTRYPOINT ["python", "-u", "trainer.py"]',
    ]
    assert "requirements.txt" not in ctx.files


def test_dockerfile_without_checksum_has_no_label(project: Path) -> None:
    assert "LABEL" not in context(project).dockerfile()


def test_main_file_in_a_subfolder(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "train.py").write_text("print('hi')\n")
    ctx = context(project, main=str(project / "src" / "train.py"), requirements=None)
    assert ctx.main_file == "src/train.py"
    assert set(ctx.files) == {"src/train.py", "helper.py"}
    assert ctx.dockerfile().splitlines()[-1] == 'ENTRYPOINT ["python", "-u", "src/train.py"]'


# -- tarball -----------------------------------------------------------------------------------


def _members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def _read(blob: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def test_tarball_is_byte_identical(project: Path) -> None:
    first = context(project).tarball()
    assert context(project).tarball() == first
    for name in ("trainer.py", "helper.py", "requirements.txt"):
        os.utime(project / name, (2_000_000, 2_000_000))
    assert context(project).tarball() == first


def test_tarball_holds_the_files_and_the_dockerfile(project: Path) -> None:
    ctx = context(project)
    blob = ctx.tarball()
    members = _members(blob)
    assert set(members) == {"trainer.py", "helper.py", "requirements.txt", "Dockerfile"}
    for name in ("trainer.py", "helper.py", "requirements.txt"):
        assert _read(blob, name) == (project / name).read_bytes()
        assert members[name].isfile()
    assert _read(blob, "Dockerfile").decode() == ctx.dockerfile(ctx.checksum)
    assert f"LABEL checksum={ctx.checksum}" in _read(blob, "Dockerfile").decode()


def test_tarball_changes_with_the_contents(project: Path) -> None:
    before = context(project).tarball()
    (project / "helper.py").write_text("VALUE = 3\n")
    assert context(project).tarball() != before


# -- image reference -----------------------------------------------------------------------------

REFERENCES = [
    (
        "registry.local/kaptain/mnist",
        "registry.local/kaptain/mnist:dev-mnist-pytorch-2.13.0",
    ),
    ("mnist", "mnist:dev-mnist-pytorch-2.13.0"),
    ("host:5000/repo", "host:5000/repo:dev-mnist-pytorch-2.13.0"),
    ("host:5000/team/repo", "host:5000/team/repo:dev-mnist-pytorch-2.13.0"),
    ("kaptain/mnist:0.0.1", "kaptain/mnist:0.0.1"),
    ("host:5000/repo:v1", "host:5000/repo:v1"),
    ("repo@sha256:" + "a" * 64, "repo@sha256:" + "a" * 64),
]


@pytest.mark.parametrize(("image_name", "expected"), REFERENCES)
def test_image_reference(image_name: str, expected: str) -> None:
    assert image_reference(image_name, "dev/mnist", "pytorch", "2.13.0") == expected


def test_image_tag_is_a_valid_docker_tag() -> None:
    reference = image_reference("host:5000/repo", "Dev/MNIST_v2", "pytorch", "2.13.0+cu121")
    repository, _, tag = reference.rpartition(":")
    assert repository == "host:5000/repo"
    assert TAG.fullmatch(tag), tag
    assert tag.startswith("dev-mnist-v2-pytorch-2.13.0")


def test_image_tag_is_at_most_128_characters() -> None:
    reference = image_reference("repo", "dev/" + "m" * 200, "tensorflow", "2.3.2")
    tag = reference.rpartition(":")[2]
    assert TAG.fullmatch(tag), tag
