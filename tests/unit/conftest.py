"""Fixtures of the unit tests: a clean environment and a real S3 (moto) server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from kaptain.platform.config.s3 import S3ConfigurationProvider

_PREFIXES = ("KAPTAIN_SDK_", "DOCKER_BUILDER_", "AWS_", "S3_")
_NAMES = ("TRAINED_MODEL_UPLOAD_PATH", "RANK", "DOCKER_CONFIG")


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Removes the variables the SDK reads and points HOME at an empty directory."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _NAMES:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3 API (moto server) on a free loopback port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_provider(moto_endpoint: str) -> S3ConfigurationProvider:
    """Credentials and endpoint of the moto server."""
    return S3ConfigurationProvider(
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="moto-secret-value",
        region_name="us-east-1",
        s3_endpoint=moto_endpoint,
        s3_force_path_style=True,
    )


@pytest.fixture
def s3_env(s3_provider: S3ConfigurationProvider) -> dict[str, str]:
    """The Secret body of :func:`s3_provider`: what trainers get as environment variables."""
    return s3_provider.get_secret_body()


@pytest.fixture
def bucket() -> str:
    """A bucket name no other test uses."""
    return f"kaptain-{uuid.uuid4().hex[:16]}"
