"""A small OCI distribution API client: read an image's labels for the build skip check.

Reads Docker v2 and OCI image manifests and image indexes (``linux/amd64``, else the first
real platform), then the image config blob's ``config.Labels``. Authenticates with Basic
credentials or the Bearer token flow (``WWW-Authenticate: Bearer realm=...``) that most
registries (Docker Hub, Harbor, GitLab, ECR) use, and verifies TLS against the public
CAs plus, when given, the registry's own CA. Failures are typed by whether a retry can
help (:mod:`.registry_errors`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import ssl
import tempfile
import weakref
from typing import Any, Final
from urllib.parse import urlsplit

import certifi
import requests

from kaptain.activities.kubernetes.registry_errors import (
    PermanentRegistryError,
    RegistryAuthError,
    RegistryError,
    RegistryTLSError,
    TemporaryRegistryError,
    error_codes,
    error_for_exception,
    error_for_status,
    registry_error,
)
from kaptain.platform.config.docker import DockerConfigurationProvider

__all__ = [
    "DOCKER_HUB_REGISTRY",
    "MANIFEST_MEDIA_TYPES",
    "PermanentRegistryError",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RegistryTLSError",
    "TemporaryRegistryError",
    "credentials_for",
    "split_image",
]

DOCKER_HUB_REGISTRY: Final = "registry-1.docker.io"
"""The API host of Docker Hub (images without a registry host live there)."""

MANIFEST_MEDIA_TYPES: Final = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""Manifest kinds the client asks for, in the ``Accept`` header."""

_DOCKER_HUB_NAMES: Final = frozenset({"docker.io", "index.docker.io", DOCKER_HUB_REGISTRY})
_NOT_FOUND_CODES: Final = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"})
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_REFERENCE = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|[a-z0-9+._-]+:[A-Za-z0-9=_-]+)$")
_CHALLENGE_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
_MAX_INDEX_DEPTH: Final = 2


def split_image(image: str) -> tuple[str, str, str]:
    """Split an image reference into registry host, repository and tag or digest.

    Args:
        image: E.g. ``registry.local:5000/dev/mnist:abc``, ``python:3.11`` or
            ``ghcr.io/org/app@sha256:...``.

    Returns:
        ``(registry_host, repository, reference)``; Docker Hub images get
        ``registry-1.docker.io`` and the ``library/`` prefix, and the reference defaults to
        ``latest`` (a digest wins over a tag).

    Raises:
        ValueError: The reference has no repository.
    """
    name, _, digest = image.strip().partition("@")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", name
    tag = ""
    colon = path.rfind(":")
    if colon > path.rfind("/"):
        path, tag = path[:colon], path[colon + 1 :]
    if host.lower() in _DOCKER_HUB_NAMES:
        host = DOCKER_HUB_REGISTRY
        if path and "/" not in path:
            path = f"library/{path}"
    if not path:
        raise ValueError(f"image reference {image!r} has no repository")
    return host, path, digest or tag or "latest"


def credentials_for(docker_config_json: str, host: str) -> tuple[str, str] | None:
    """The credentials a Docker ``config.json`` holds for a registry host.

    Args:
        docker_config_json: The configuration (``{"auths": {...}}``).
        host: The registry's ``host[:port]``; Docker Hub's names match each other.

    Returns:
        ``(username, password)``, or None when the configuration has no entry for ``host``.

    Raises:
        InvalidConfigurationException: The configuration is malformed.
    """
    return DockerConfigurationProvider(docker_config_json).credentials_for(host)


class RegistryClient:
    """Reads manifests and config blobs from one registry (the OCI distribution API v2).

    Use it as a context manager, or call :meth:`close`, to release its connections and the
    temporary CA bundle.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_pem: str | None = None,
        timeout: float = 10,
    ) -> None:
        """Creates a client.

        Args:
            base_url: ``https://host[:port]`` (``https://`` is assumed without a scheme).
            username: Username for Basic auth and token requests.
            password: Its password.
            ca_pem: The registry's CA certificate(s), trusted besides the public CAs.
            timeout: Seconds to wait to connect and for each read.

        Raises:
            RegistryTLSError: ``ca_pem`` holds no valid certificate.
        """
        url = base_url.strip().rstrip("/")
        self._base = url if "://" in url else f"https://{url}"
        self.registry: str = urlsplit(self._base).netloc
        """The registry's ``host[:port]``, named in every error."""
        self._basic = (username, password or "") if username else None
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "kaptain-registry-client"
        self._authorization: dict[str, str] = {}
        self._verify: bool | str = True
        if ca_pem:
            self._verify = self._ca_bundle(ca_pem)
            self._cleanup = weakref.finalize(self, _remove, self._verify)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes connections and removes the temporary CA bundle."""
        self._session.close()
        if isinstance(self._verify, str):
            self._cleanup()

    def image_labels(self, repository: str, reference: str) -> dict[str, str] | None:
        """The labels of an image, as ``docker inspect`` shows them.

        Args:
            repository: E.g. ``dev/mnist`` (``library/python`` on Docker Hub).
            reference: A tag or a digest.

        Returns:
            The image config's ``Labels`` (``{}`` when it has none), or None when the
            repository, tag, platform manifest or config blob does not exist.

        Raises:
            ValueError: ``repository`` or ``reference`` is malformed.
            RegistryAuthError: The credentials are missing, wrong or insufficient.
            RegistryTLSError: The registry's certificate is not trusted.
            TemporaryRegistryError: The registry is unreachable or failing (5xx, 429).
            PermanentRegistryError: Any other refusal or an unreadable answer.
        """
        if not _REPOSITORY.match(repository):
            raise ValueError(f"invalid repository name {repository!r}")
        if not _REFERENCE.match(reference):
            raise ValueError(f"invalid tag or digest {reference!r}")
        manifest = self._manifest(repository, reference)
        for _ in range(_MAX_INDEX_DEPTH):
            if manifest is None or "manifests" not in manifest:
                break
            chosen = _pick_platform(manifest["manifests"])
            manifest = self._manifest(repository, chosen["digest"]) if chosen else None
        if manifest is None:
            return None
        if "history" in manifest and "config" not in manifest:
            return _schema1_labels(manifest)
        config = self._config(repository, manifest.get("config"))
        if config is None:
            return None
        labels = (config.get("config") or {}).get("Labels") or {}
        return {str(key): str(value) for key, value in labels.items()}

    def _manifest(self, repository: str, reference: str) -> dict[str, Any] | None:
        accept = ", ".join(MANIFEST_MEDIA_TYPES)
        response = self._get(f"/v2/{repository}/manifests/{reference}", repository, accept)
        return None if response is None else self._json(response, repository)

    def _config(self, repository: str, descriptor: Any) -> dict[str, Any] | None:
        digest = str(descriptor.get("digest", "")) if isinstance(descriptor, dict) else ""
        if not digest:
            raise self._error(PermanentRegistryError, repository, "sent a manifest without config")
        response = self._get(f"/v2/{repository}/blobs/{digest}", repository, "*/*")
        if response is None:
            return None
        algorithm, _, expected = digest.partition(":")
        if algorithm == "sha256" and hashlib.sha256(response.content).hexdigest() != expected:
            raise self._error(PermanentRegistryError, repository, f"sent a corrupt blob {digest}")
        return self._json(response, repository)

    def _get(self, path: str, repository: str, accept: str) -> requests.Response | None:
        """GET with authentication; None on a 404 or a not-found error code."""
        url = self._base + path
        response = self._send(url, repository, accept, self._authorization.get(repository))
        if response.status_code == 401:
            authorization = self._authorize(response, repository)
            self._authorization[repository] = authorization
            response = self._send(url, repository, accept, authorization)
        if response.status_code == 404 or error_codes(response) & _NOT_FOUND_CODES:
            return None
        self._raise_for_status(response, repository)
        return response

    def _authorize(self, challenged: requests.Response, repository: str) -> str:
        """The ``Authorization`` header answering a 401's challenge."""
        scheme, _, text = challenged.headers.get("WWW-Authenticate", "").strip().partition(" ")
        if scheme.lower() == "basic" and self._basic is not None:
            user_pass = f"{self._basic[0]}:{self._basic[1]}".encode()
            return "Basic " + base64.b64encode(user_pass).decode("ascii")
        if scheme.lower() == "basic":
            raise self._error(RegistryAuthError, repository, "needs credentials; none given", 401)
        params = {key: quoted or bare for key, quoted, bare in _CHALLENGE_PARAM.findall(text)}
        realm = params.get("realm")
        if scheme.lower() != "bearer" or not realm:
            what = f"sent an unsupported challenge {scheme or '(none)'!r} (HTTP 401)"
            raise self._error(RegistryAuthError, repository, what, 401)
        query = {"scope": params.get("scope") or f"repository:{repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        response = self._send(realm, repository, "application/json", None, query=query, basic=True)
        self._raise_for_status(response, repository, via=f"token service {realm}")
        body = self._json(response, repository)
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._error(PermanentRegistryError, repository, f"got no token from {realm}")
        return f"Bearer {token}"

    def _send(
        self,
        url: str,
        repository: str,
        accept: str,
        authorization: str | None,
        *,
        query: dict[str, str] | None = None,
        basic: bool = False,
    ) -> requests.Response:
        """One GET; ``basic`` sends the credentials (to a token service), never to blobs."""
        headers = {"Accept": accept}
        if authorization:
            headers["Authorization"] = authorization
        try:
            return self._session.get(
                url,
                headers=headers,
                params=query,
                auth=self._basic if basic else None,
                verify=self._verify,
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            raise error_for_exception(error, self.registry, repository) from None

    def _raise_for_status(
        self, response: requests.Response, repository: str, *, via: str = ""
    ) -> None:
        error = error_for_status(response, self.registry, repository, via=via)
        if error is not None:
            raise error

    def _json(self, response: requests.Response, repository: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            what = f"sent an unreadable answer to {response.url}"
            raise self._error(PermanentRegistryError, repository, what)
        return body

    def _error(
        self, kind: type[RegistryError], repository: str, what: str, status: int | None = None
    ) -> RegistryError:
        return registry_error(kind, self.registry, repository, what, status)

    def _ca_bundle(self, ca_pem: str) -> str:
        """A temporary file with the public CAs and ``ca_pem``, for ``requests``' ``verify``."""
        try:
            ssl.create_default_context(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as error:
            what = f"has an invalid CA certificate ({error})"
            raise self._error(RegistryTLSError, "", what) from None
        with open(_public_bundle(), encoding="utf-8") as public:
            bundle = public.read().rstrip() + "\n" + ca_pem.strip() + "\n"
        handle, path = tempfile.mkstemp(prefix="kaptain-registry-ca-", suffix=".pem")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(bundle)
        return path


def _pick_platform(manifests: list[Any]) -> dict[str, Any] | None:
    entries = [entry for entry in manifests if isinstance(entry, dict) and entry.get("digest")]
    for entry in entries:
        platform = entry.get("platform") or {}
        if (platform.get("os"), platform.get("architecture")) == ("linux", "amd64"):
            return entry
    real = [entry for entry in entries if (entry.get("platform") or {}).get("os") != "unknown"]
    candidates = real or entries
    return candidates[0] if candidates else None


def _schema1_labels(manifest: dict[str, Any]) -> dict[str, str]:
    """Labels of a legacy schema 1 manifest (its newest history entry holds the config)."""
    history = manifest.get("history") or [{}]
    try:
        config = json.loads(history[0].get("v1Compatibility") or "{}").get("config") or {}
    except (ValueError, AttributeError):
        config = {}
    return {str(key): str(value) for key, value in (config.get("Labels") or {}).items()}


def _public_bundle() -> str:
    """The CA bundle ``requests`` would use: ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, certifi."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = os.environ.get(name)
        if path and os.path.isfile(path):
            return path
    return certifi.where()


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
