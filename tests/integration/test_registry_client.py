"""The registry client against a real registry (``docker-registry``) over TLS, with Basic
(htpasswd) and Bearer (token service) authentication."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaptain.activities.kubernetes.registry import (
    DOCKER_HUB_REGISTRY,
    PermanentRegistryError,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RegistryTLSError,
    TemporaryRegistryError,
    credentials_for,
    split_image,
)
from kaptain.stack.temporal_server import free_port
from registry import DOCKER_MANIFEST, LocalRegistry, new_ca_pem

CHECKSUM = "0f" * 32


def _started(root: Path, auth: str) -> LocalRegistry:
    registry = LocalRegistry(root, auth="token" if auth == "token" else "htpasswd")
    try:
        return registry.start()
    except RuntimeError as error:
        pytest.fail(f"cannot run the real registry ({error})")


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRegistry]:
    """A real registry with Basic (htpasswd) or Bearer (token service) authentication."""
    registry = _started(tmp_path_factory.mktemp(f"registry-{request.param}"), request.param)
    registry.push_image("dev/mnist", "oci", {"checksum": CHECKSUM, "maintainer": "kaptain"})
    registry.push_image("dev/mnist", "docker", {"checksum": "docker"}, media_type=DOCKER_MANIFEST)
    registry.push_image("dev/mnist", "plain", {})
    registry.push_index(
        "dev/mnist",
        "multi",
        {
            ("unknown", "unknown"): {"role": "attestation"},
            ("linux", "arm64"): {"checksum": "arm64"},
            ("linux", "amd64"): {"checksum": "amd64"},
        },
    )
    yield registry
    registry.stop()


_SAME = "same"


def client(
    registry: LocalRegistry,
    *,
    username: str | None = _SAME,
    password: str | None = _SAME,
    ca_pem: str | None = _SAME,
) -> RegistryClient:
    """A client of ``registry`` with its credentials and CA, unless told otherwise."""
    return RegistryClient(
        registry.url,
        username=registry.username if username == _SAME else username,
        password=registry.password if password == _SAME else password,
        ca_pem=registry.ca_pem if ca_pem == _SAME else ca_pem,
    )


@pytest.mark.parametrize(
    ("tag", "labels"),
    [
        ("oci", {"checksum": CHECKSUM, "maintainer": "kaptain"}),
        ("docker", {"checksum": "docker"}),
        ("plain", {}),
        ("multi", {"checksum": "amd64"}),
    ],
)
def test_labels_are_found_after_push(
    registry: LocalRegistry, tag: str, labels: dict[str, str]
) -> None:
    with client(registry) as registry_client:
        assert registry_client.image_labels("dev/mnist", tag) == labels


def test_a_digest_reference_works(registry: LocalRegistry) -> None:
    digest = registry.push_image("dev/by-digest", "", {"checksum": "by-digest"})
    with client(registry) as registry_client:
        assert registry_client.image_labels("dev/by-digest", digest) == {"checksum": "by-digest"}


@pytest.mark.parametrize(("repository", "tag"), [("dev/mnist", "missing"), ("dev/nothing", "v1")])
def test_a_missing_tag_or_repository_is_none(
    registry: LocalRegistry, repository: str, tag: str
) -> None:
    with client(registry) as registry_client:
        assert registry_client.image_labels(repository, tag) is None


def test_a_wrong_password_is_a_permanent_error_naming_registry_and_repository(
    registry: LocalRegistry,
) -> None:
    with (
        client(registry, password="wrong") as registry_client,
        pytest.raises(RegistryAuthError) as raised,
    ):
        registry_client.image_labels("dev/mnist", "oci")
    error = raised.value
    assert isinstance(error, PermanentRegistryError)
    assert not error.retryable
    assert (error.registry, error.repository, error.status) == (registry.host, "dev/mnist", 401)
    assert registry.host in str(error)
    assert "dev/mnist" in str(error)
    assert registry.password not in str(error)


def test_no_credentials_is_an_auth_error(registry: LocalRegistry) -> None:
    with (
        client(registry, username=None, password=None) as registry_client,
        pytest.raises(RegistryAuthError, match=registry.host),
    ):
        registry_client.image_labels("dev/mnist", "oci")


def test_credentials_come_from_the_docker_config(registry: LocalRegistry) -> None:
    found = credentials_for(registry.docker_config_json, registry.host)
    assert found == (registry.username, registry.password)
    assert credentials_for(registry.docker_config_json, "other.registry:5000") is None
    user, password = found
    with client(registry, username=user, password=password) as registry_client:
        assert registry_client.image_labels("dev/mnist", "oci") is not None


def test_an_untrusted_ca_is_a_permanent_tls_error(registry: LocalRegistry) -> None:
    for ca_pem in (new_ca_pem(), None):  # another CA; only the public CAs
        with (
            client(registry, ca_pem=ca_pem) as registry_client,
            pytest.raises(RegistryTLSError) as raised,
        ):
            registry_client.image_labels("dev/mnist", "oci")
        assert not raised.value.retryable
        assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
        assert registry.host in str(raised.value)


def test_an_invalid_ca_is_rejected_at_once() -> None:
    with pytest.raises(RegistryTLSError, match="invalid CA certificate"):
        RegistryClient("https://127.0.0.1:1", ca_pem="-----BEGIN CERTIFICATE-----\nnope\n")


def test_a_registry_that_is_down_is_a_temporary_error() -> None:
    host = f"127.0.0.1:{free_port()}"
    with (
        RegistryClient(host, username="u", password="p", timeout=2) as registry_client,
        pytest.raises(TemporaryRegistryError) as raised,
    ):
        registry_client.image_labels("dev/mnist", "oci")
    assert raised.value.retryable
    assert (raised.value.registry, raised.value.repository) == (host, "dev/mnist")
    assert "Connection refused" in str(raised.value)


def test_the_bearer_flow_asks_for_pull_scope_and_maps_token_service_failures(
    tmp_path: Path,
) -> None:
    registry = _started(tmp_path / "registry", "token")
    try:
        registry.push_image("dev/mnist", "v1", {"checksum": CHECKSUM})
        token_service = registry.token_service
        assert token_service is not None
        with client(registry) as registry_client:
            assert registry_client.image_labels("dev/mnist", "v1") == {"checksum": CHECKSUM}
            assert token_service.requests[-1]["scope"] == ["repository:dev/mnist:pull"]
            assert token_service.requests[-1]["service"] == ["kaptain-test-registry"]
        token_service.fail_with = 503
        with (
            client(registry) as registry_client,
            pytest.raises(TemporaryRegistryError, match="token service"),
        ):
            registry_client.image_labels("dev/mnist", "v1")
    finally:
        registry.stop()


def test_the_temporary_ca_bundle_is_removed_on_close(registry: LocalRegistry) -> None:
    registry_client = client(registry)
    bundle = registry_client._verify
    assert isinstance(bundle, str)
    assert os.path.isfile(bundle)
    registry_client.close()
    assert not os.path.exists(bundle)


@pytest.mark.parametrize(
    ("repository", "reference"), [("Dev/Mnist", "v1"), ("../etc", "v1"), ("dev/mnist", "a b")]
)
def test_malformed_names_are_rejected_before_any_request(repository: str, reference: str) -> None:
    with (
        RegistryClient("https://127.0.0.1:1") as registry_client,
        pytest.raises(ValueError, match="invalid"),
    ):
        registry_client.image_labels(repository, reference)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("python:3.11", (DOCKER_HUB_REGISTRY, "library/python", "3.11")),
        ("python", (DOCKER_HUB_REGISTRY, "library/python", "latest")),
        ("docker.io/pytorch/pytorch:2.3", (DOCKER_HUB_REGISTRY, "pytorch/pytorch", "2.3")),
        ("index.docker.io/library/busybox", (DOCKER_HUB_REGISTRY, "library/busybox", "latest")),
        ("kaptain/trainer:v1", (DOCKER_HUB_REGISTRY, "kaptain/trainer", "v1")),
        ("registry.local:5000/dev/mnist:abc", ("registry.local:5000", "dev/mnist", "abc")),
        ("127.0.0.1:5000/dev/mnist", ("127.0.0.1:5000", "dev/mnist", "latest")),
        ("localhost/app:1", ("localhost", "app", "1")),
        ("ghcr.io/org/app:1@sha256:" + "a" * 64, ("ghcr.io", "org/app", "sha256:" + "a" * 64)),
        ("registry.local:5000/dev/mnist", ("registry.local:5000", "dev/mnist", "latest")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str, str]) -> None:
    assert split_image(image) == expected


def test_split_image_needs_a_repository() -> None:
    with pytest.raises(ValueError, match="no repository"):
        split_image("registry.local:5000/")


def test_every_error_is_a_registry_error() -> None:
    for kind in (PermanentRegistryError, RegistryAuthError, RegistryTLSError):
        assert issubclass(kind, RegistryError)
        assert not kind.retryable
    assert issubclass(TemporaryRegistryError, RegistryError)
    assert TemporaryRegistryError.retryable
