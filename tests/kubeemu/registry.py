"""A minimal OCI distribution registry on loopback, for tests that have no ``docker-registry``:
blobs (HEAD/GET, monolithic and chunked uploads), manifests (HEAD/GET/PUT/DELETE), tag
lists, optional HTTP basic auth and optional TLS (with a throwaway CA made here).

Example:
    >>> with MiniRegistry(users={"ci": "secret"}, tls=True) as registry:
    ...     registry.host                # "127.0.0.1:PORT"
    ...     registry.ca_pem              # the CA a client must trust
    ...     registry.labels("team/app", "v1")   # config Labels of a pushed image
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


def make_tls(host: str = "127.0.0.1") -> tuple[bytes, bytes, bytes]:
    """``(ca_pem, cert_pem, key_pem)``: a CA and a server certificate for ``host``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeemu test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        """No Nagle delay."""
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _reply(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(
        self, code: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps({"errors": [{"code": error, "message": message}]}).encode()
        self._reply(code, body, {"Content-Type": "application/json", **(headers or {})})

    def _authorized(self) -> bool:
        users = self.server.users
        if not users:
            return True
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if users.get(user) == password:
                return True
        self._error(
            401,
            "UNAUTHORIZED",
            "authentication required",
            {"WWW-Authenticate": 'Basic realm="kubeemu-registry"'},
        )
        return False

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        """Reads."""
        self._handle()

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._body() if self.command in ("POST", "PUT", "PATCH") else b""
        if not self._authorized():
            return
        store = self.server
        path = url.path
        if path in ("/v2", "/v2/"):
            self._reply(200, b"{}", {"Content-Type": "application/json"})
            return
        if not path.startswith("/v2/"):
            self._error(404, "NOT_FOUND", "not found")
            return
        rest = path[4:]
        for marker in ("/blobs/uploads/", "/blobs/", "/manifests/", "/tags/list"):
            if marker in rest:
                repo, _, ref = rest.partition(marker)
                break
        else:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with store.lock:
            if marker == "/blobs/uploads/":
                self._upload(repo, ref, query, body)
            elif marker == "/blobs/":
                data = store.blobs.get(ref)
                if data is None:
                    self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
                else:
                    self._reply(
                        200,
                        data,
                        {"Docker-Content-Digest": ref, "Content-Type": "application/octet-stream"},
                    )
            elif marker == "/manifests/":
                self._manifest(repo, ref, body)
            else:
                tags = sorted(store.tags.get(repo, {}))
                if repo not in store.tags:
                    self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
                else:
                    self._reply(
                        200,
                        json.dumps({"name": repo, "tags": tags}).encode(),
                        {"Content-Type": "application/json"},
                    )

    def _upload(self, repo: str, session: str, query: dict[str, str], body: bytes) -> None:
        store = self.server
        if self.command == "POST":
            upload = uuid.uuid4().hex
            store.uploads[upload] = b""
            self._reply(
                202,
                b"",
                {
                    "Location": f"/v2/{repo}/blobs/uploads/{upload}",
                    "Docker-Upload-UUID": upload,
                    "Range": "0-0",
                },
            )
            return
        if session not in store.uploads:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        store.uploads[session] += body
        if self.command == "PATCH":
            size = len(store.uploads[session])
            self._reply(
                202,
                b"",
                {"Location": f"/v2/{repo}/blobs/uploads/{session}", "Range": f"0-{size - 1}"},
            )
            return
        data = store.uploads.pop(session)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if query.get("digest") != digest:
            self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            return
        store.blobs[digest] = data
        self._reply(
            201, b"", {"Location": f"/v2/{repo}/blobs/{digest}", "Docker-Content-Digest": digest}
        )

    def _manifest(self, repo: str, ref: str, body: bytes) -> None:
        store = self.server
        tags = (
            store.tags.setdefault(repo, {}) if self.command == "PUT" else store.tags.get(repo, {})
        )
        if self.command == "PUT":
            manifest = json.loads(body)
            for blob in [manifest.get("config", {}), *manifest.get("layers", [])]:
                if blob.get("digest") not in store.blobs:
                    self._error(
                        400,
                        "MANIFEST_BLOB_UNKNOWN",
                        f"blob unknown to registry: {blob.get('digest')}",
                    )
                    return
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            store.manifests[digest] = (self.headers.get("Content-Type", ""), body)
            if not ref.startswith("sha256:"):
                tags[ref] = digest
            self._reply(
                201,
                b"",
                {"Location": f"/v2/{repo}/manifests/{digest}", "Docker-Content-Digest": digest},
            )
            return
        digest = ref if ref.startswith("sha256:") else tags.get(ref, "")
        found = store.manifests.get(digest)
        if found is None:
            self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return
        if self.command == "DELETE":
            for tag in [t for t, d in tags.items() if d == digest]:
                del tags[tag]
            self._reply(202)
            return
        self._reply(200, found[1], {"Content-Type": found[0], "Docker-Content-Digest": digest})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, users: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.users = users
        self.lock = threading.Lock()
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[str, bytes]] = {}
        self.tags: dict[str, dict[str, str]] = {}


class MiniRegistry:
    """An OCI registry on ``127.0.0.1:<free port>`` (see the module docstring)."""

    def __init__(self, *, users: dict[str, str] | None = None, tls: bool = True) -> None:
        self._server = _Server(users or {})
        self.ca_pem = b""
        self._dir = tempfile.TemporaryDirectory(prefix="kubeemu-registry-")
        if tls:
            ca, cert, key = make_tls("127.0.0.1")
            self.ca_pem = ca
            cert_file, key_file = (
                Path(self._dir.name) / "cert.pem",
                Path(self._dir.name) / "key.pem",
            )
            cert_file.write_bytes(cert)
            key_file.write_bytes(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>`` (or http)."""
        return f"{self.scheme}://{self.host}"

    def start(self) -> MiniRegistry:
        """Starts serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and removes the certificate files."""
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    def __enter__(self) -> MiniRegistry:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def manifest(self, repository: str, tag: str) -> dict[str, Any] | None:
        """A pushed manifest (parsed), or ``None``."""
        with self._server.lock:
            digest = self._server.tags.get(repository, {}).get(tag)
            found = self._server.manifests.get(digest or "")
            return json.loads(found[1]) if found else None

    def labels(self, repository: str, tag: str) -> dict[str, str] | None:
        """``config.Labels`` of a pushed image, or ``None`` when there is no such image."""
        manifest = self.manifest(repository, tag)
        if manifest is None:
            return None
        with self._server.lock:
            config = json.loads(self._server.blobs[manifest["config"]["digest"]])
        labels: dict[str, str] = (config.get("config") or {}).get("Labels") or {}
        return labels
