"""A small OCI distribution API client (push only): blobs, then the manifest.

Authentication follows the registry's ``WWW-Authenticate`` challenge: ``Basic`` sends the
Docker-config credentials; ``Bearer`` fetches a token from the realm with them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import re
import ssl
import tarfile
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class RegistryError(RuntimeError):
    """A registry answered with an error (message like go-containerregistry's)."""


@dataclass(frozen=True)
class Reference:
    """``host[:port]/repository[:tag]``."""

    host: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parses a destination (Docker Hub names are not supported: a host is required)."""
        host, _, rest = text.partition("/")
        if not rest or ("." not in host and ":" not in host and host != "localhost"):
            raise RegistryError(f"destination {text!r} has no registry host")
        repository, tag = rest, "latest"
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            repository, tag = rest.rsplit(":", 1)
        return cls(host, repository, tag)

    def __str__(self) -> str:
        return f"{self.host}/{self.repository}:{self.tag}"


def digest_of(data: bytes) -> str:
    """``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def empty_layer() -> tuple[bytes, str]:
    """A gzipped empty tar and its uncompressed digest (the ``diff_id``)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w"):
        pass
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), digest_of(tar)


def docker_credentials(config: dict[str, object], host: str) -> tuple[str, str] | None:
    """The user and password for ``host`` in a Docker ``config.json``."""
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        key_host = urlsplit(key if "://" in key else f"//{key}").netloc or key
        if key_host != host or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            user, _, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
            return user, password
        if entry.get("username"):
            return str(entry["username"]), str(entry.get("password", ""))
    return None


class RegistryClient:
    """Talks to one registry over HTTPS (or HTTP when ``insecure``)."""

    def __init__(
        self,
        host: str,
        *,
        credentials: tuple[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.credentials = credentials
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.insecure = insecure
        self.timeout = timeout
        self._authorization: str | None = None

    def _connection(self, host: str, scheme: str) -> http.client.HTTPConnection:
        if scheme == "http":
            return http.client.HTTPConnection(host, timeout=self.timeout)
        return http.client.HTTPSConnection(host, timeout=self.timeout, context=self.ssl_context)

    def _raw(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        conn = self._connection(parts.netloc, parts.scheme)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except ssl.SSLCertVerificationError as error:
            raise RegistryError(
                f"{method} {url}: tls: failed to verify certificate: x509: certificate signed by "
                f"unknown authority ({error.verify_message})"
            ) from error
        finally:
            conn.close()

    def _authenticate(self, challenge: str) -> None:
        scheme, _, params = challenge.partition(" ")
        if self.credentials is None:
            raise RegistryError("UNAUTHORIZED: authentication required")
        user, password = self.credentials
        basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if scheme.lower() == "basic":
            self._authorization = basic
            return
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        query = urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
        status, _, data = self._raw(
            "GET", f"{fields['realm']}?{query}", None, {"Authorization": basic}
        )
        if status != 200:
            raise RegistryError(f"UNAUTHORIZED: token request failed with {status}")
        token = json.loads(data)
        self._authorization = "Bearer " + str(token.get("token") or token.get("access_token"))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; answers a 401 challenge once and retries."""
        scheme = "http" if self.insecure else "https"
        url = path if "://" in path else f"{scheme}://{self.host}{path}"
        for attempt in range(2):
            sent = dict(headers or {})
            if self._authorization:
                sent["Authorization"] = self._authorization
            status, response_headers, data = self._raw(method, url, body, sent)
            if status == 401 and attempt == 0:
                self._authenticate(response_headers.get("www-authenticate", "Basic"))
                continue
            return status, response_headers, data
        raise RegistryError("UNAUTHORIZED: authentication required")

    def _fail(self, what: str, status: int, data: bytes) -> RegistryError:
        try:
            errors = json.loads(data).get("errors") or []
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        except (ValueError, AttributeError):
            text = data.decode(errors="replace")[:200]
        return RegistryError(f"{what}: unexpected status code {status}: {text}")

    def start_upload(self, repository: str) -> str:
        """Opens a blob upload session (this is also kaniko's push-permission check)."""
        status, headers, data = self.request("POST", f"/v2/{repository}/blobs/uploads/")
        if status != 202:
            raise self._fail(
                f"POST https://{self.host}/v2/{repository}/blobs/uploads/", status, data
            )
        return headers.get("location", "")

    def push_blob(self, repository: str, data: bytes) -> str:
        """Uploads a blob unless present; returns its digest."""
        digest = digest_of(data)
        status, _, _ = self.request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if status == 200:
            return digest
        location = self.start_upload(repository)
        scheme = "http" if self.insecure else "https"
        url = urljoin(f"{scheme}://{self.host}/", location)
        url += ("&" if "?" in url else "?") + urlencode({"digest": digest})
        status, _, body = self.request(
            "PUT",
            url,
            data,
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        )
        if status not in (201, 204):
            raise self._fail(f"PUT {url}", status, body)
        return digest

    def push_manifest(
        self, repository: str, tag: str, manifest: bytes, media_type: str = OCI_MANIFEST
    ) -> str:
        """Puts a manifest under a tag; returns its digest."""
        status, _, body = self.request(
            "PUT", f"/v2/{repository}/manifests/{tag}", manifest, {"Content-Type": media_type}
        )
        if status not in (200, 201):
            raise self._fail(
                f"PUT https://{self.host}/v2/{repository}/manifests/{tag}", status, body
            )
        return digest_of(manifest)


def image_blobs(config: dict[str, object]) -> tuple[bytes, bytes, bytes]:
    """(config blob, layer blob, manifest) of a one-empty-layer OCI image."""
    layer, diff_id = empty_layer()
    config = {**config, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    config_blob = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": digest_of(config_blob),
            "size": len(config_blob),
        },
        "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(layer), "size": len(layer)}],
    }
    return config_blob, layer, json.dumps(manifest, sort_keys=True).encode()
