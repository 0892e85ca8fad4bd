"""A real OCI registry for tests: Debian's ``docker-registry`` (CNCF distribution) on loopback.

:class:`LocalRegistry` serves HTTPS with a fresh self-signed CA and authenticates either with
an htpasswd file (bcrypt, Basic auth) or, with ``auth="token"``, with the Bearer token flow
against a small token service started here (JWTs signed by a key the registry trusts), the
way Docker Hub, Harbor and GitLab work. Install the binary with
``apt-get install docker-registry``.
"""

from __future__ import annotations

import base64
import ctypes
import datetime
import gzip
import hashlib
import io
import json
import secrets
import shutil
import ssl
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kaptain.stack.temporal_server import free_port

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_CONFIG_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
    DOCKER_MANIFEST: "application/vnd.docker.container.image.v1+json",
}
_LAYER_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
_SERVICE = "kaptain-test-registry"
_ISSUER = "kaptain-test-token-issuer"


# --- certificates -------------------------------------------------------------------------

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _certificate(
    subject: str, key: PrivateKey, issuer: tuple[x509.Certificate, PrivateKey] | None, ca: bool
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A fresh self-signed CA (certificate and key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _certificate(f"kaptain test CA {uuid.uuid4().hex[:8]}", key, None, ca=True), key


def new_ca_pem() -> str:
    """The PEM of a fresh CA that signed nothing (an untrusted CA for tests)."""
    return _pem(new_ca()[0])


# --- htpasswd -----------------------------------------------------------------------------


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for an htpasswd file (the registry accepts bcrypt only).

    Uses the ``bcrypt`` module when installed, else libxcrypt's ``crypt(3)`` (in every
    Debian, as ``libcrypt.so.1``), else ``htpasswd`` from apache2-utils.

    Raises:
        RuntimeError: None of them is available.
    """
    try:
        import bcrypt  # type: ignore[import-not-found,unused-ignore]

        hashed: bytes = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5))
        return hashed.decode("ascii")
    except ImportError:
        pass
    try:
        libcrypt = ctypes.CDLL("libcrypt.so.1")
        libcrypt.crypt_gensalt.restype = libcrypt.crypt.restype = ctypes.c_char_p
        libcrypt.crypt_gensalt.argtypes = [
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        salt = libcrypt.crypt_gensalt(b"$2b$", 5, None, 0)
        result = libcrypt.crypt(password.encode(), salt) if salt else None
        if isinstance(result, bytes) and result.startswith(b"$2b$"):
            return result.decode("ascii")
    except (OSError, AttributeError):
        pass
    if shutil.which("htpasswd"):
        out = subprocess.run(
            ["htpasswd", "-nbBC", "5", "u", password], check=True, capture_output=True, text=True
        ).stdout
        return out.strip().split(":", 1)[1]
    raise RuntimeError("no bcrypt: pip install bcrypt, or apt-get install apache2-utils")


# --- token service ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenService:
    """Issues registry JWTs (RS256, ``x5c`` header) to clients with the right password."""

    def __init__(self, credentials: tuple[str, str], tls: ssl.SSLContext, cert_dir: Path) -> None:
        self.credentials = credentials
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = _certificate("kaptain test token signer", self.key, None, ca=False)
        self.bundle = cert_dir / "token-signer.crt"
        self.bundle.write_text(_pem(self.certificate))
        self.requests: list[dict[str, list[str]]] = []
        self.fail_with: int | None = None
        """Answer every token request with this HTTP status (fault injection)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.realm = f"https://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mint(self, subject: str, scopes: list[str]) -> str:
        """A token granting ``scopes`` (``repository:<name>:<actions>``) to ``subject``."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": _ISSUER,
            "sub": subject,
            "aud": _SERVICE,
            "exp": now + 300,
            "nbf": now - 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode("ascii")]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def answer(self, query: dict[str, list[str]], authorization: str) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for a token request."""
        self.requests.append(query)
        if self.fail_with is not None:
            return self.fail_with, {"errors": [{"code": "UNAVAILABLE", "message": "injected"}]}
        subject = ""
        if authorization.startswith("Basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            if (user, password) != self.credentials:
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong credentials"}]}
            subject = user
        scopes = query.get("scope", []) if subject else []  # anonymous: a token for nothing
        return 200, {"token": self.mint(subject, scopes)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                status, body = service.answer(query, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# --- the registry -------------------------------------------------------------------------


class LocalRegistry:
    """``docker-registry serve`` on a free loopback port, with TLS and authentication.

    Attributes:
        host: ``127.0.0.1:<port>``.
        url: ``https://127.0.0.1:<port>``.
        username: The user the registry accepts.
        password: Its password.
        ca_pem: The CA that signed the registry's certificate.
        token_service: The Bearer token service (``auth="token"`` only).
    """

    def __init__(
        self,
        tmp_dir: Path,
        *,
        auth: Literal["htpasswd", "token"] = "htpasswd",
        username: str = "kaptain",
        password: str | None = None,
    ) -> None:
        self.root = Path(tmp_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"https://{self.host}"
        ca, ca_key = new_ca()
        self.ca_pem = _pem(ca)
        server_key = ec.generate_private_key(ec.SECP256R1())
        (self.root / "ca.crt").write_text(self.ca_pem)
        (self.root / "server.crt").write_text(
            _pem(_certificate("127.0.0.1", server_key, (ca, ca_key), ca=False))
        )
        (self.root / "server.key").write_bytes(_key_pem(server_key))
        self.token_service: TokenService | None = None
        self.log = self.root / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()

    @property
    def docker_config_json(self) -> str:
        """A Docker ``config.json`` with this registry's credentials."""
        auth = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return json.dumps({"auths": {self.host: {"auth": auth}}})

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> LocalRegistry:
        """Write the configuration, start the binary and wait until ``/v2/`` answers 401.

        Raises:
            RuntimeError: The binary is missing, exits, or does not answer in time.
        """
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            raise RuntimeError("docker-registry is not installed: apt-get install docker-registry")
        config = self.root / "config.yml"
        config.write_text(yaml.safe_dump(self._config()))
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                if self._request("GET", f"{self.url}/v2/", timeout=1).status_code == 401:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the registry (and the token service); the storage stays on disk."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self.token_service is not None:
            self.token_service.stop()
            self.token_service = None
        self._session.close()

    def push_image(
        self,
        repository: str,
        tag: str,
        labels: Mapping[str, str],
        *,
        media_type: str = OCI_MANIFEST,
        platform: tuple[str, str] = ("linux", "amd64"),
    ) -> str:
        """Push a minimal image (config with ``labels``, one empty layer) and tag it.

        Args:
            repository: E.g. ``dev/mnist``.
            tag: The tag (``""`` pushes by digest only).
            labels: The image config's labels.
            media_type: :data:`OCI_MANIFEST` or :data:`DOCKER_MANIFEST`.
            platform: ``(os, architecture)`` in the config.

        Returns:
            The manifest's digest.
        """
        manifest = self._image_manifest(repository, labels, media_type, platform)
        return str(self._put_manifest(repository, tag, manifest, media_type)["digest"])

    def push_index(
        self, repository: str, tag: str, images: Mapping[tuple[str, str], Mapping[str, str]]
    ) -> str:
        """Push one image per platform, then an OCI image index of them under ``tag``.

        Args:
            repository: E.g. ``dev/mnist``.
            tag: The index's tag.
            images: ``{(os, architecture): labels}``, in index order.

        Returns:
            The index's digest.
        """
        entries = []
        for platform, labels in images.items():
            manifest = self._image_manifest(repository, labels, OCI_MANIFEST, platform)
            entry = self._put_manifest(repository, "", manifest, OCI_MANIFEST)
            entries.append({**entry, "platform": {"os": platform[0], "architecture": platform[1]}})
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return str(self._put_manifest(repository, tag, index, OCI_INDEX)["digest"])

    def _image_manifest(
        self,
        repository: str,
        labels: Mapping[str, str],
        media_type: str,
        platform: tuple[str, str],
    ) -> dict[str, Any]:
        raw_layer = _empty_tar()
        image_config = {
            "architecture": platform[1],
            "os": platform[0],
            "config": {"Labels": dict(labels)},
            "rootfs": {"type": "layers", "diff_ids": [_digest(raw_layer)]},
        }
        config = json.dumps(image_config).encode()
        layer = gzip.compress(raw_layer, mtime=0)
        return {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": self._blob(repository, config, _CONFIG_TYPES[media_type]),
            "layers": [self._blob(repository, layer, _LAYER_TYPES[media_type])],
        }

    def _config(self) -> dict[str, Any]:
        auth: dict[str, Any]
        if self.auth == "token":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.root / "server.crt", self.root / "server.key")
            self.token_service = TokenService((self.username, self.password), context, self.root)
            self.token_service.start()
            auth = {
                "token": {
                    "realm": self.token_service.realm,
                    "service": _SERVICE,
                    "issuer": _ISSUER,
                    "rootcertbundle": str(self.token_service.bundle),
                }
            }
        else:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(f"{self.username}:{bcrypt_hash(self.password)}\n")
            auth = {"htpasswd": {"realm": "kaptain-test", "path": str(htpasswd)}}
        return {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": self.host,
                "secret": secrets.token_hex(16),
                "tls": {
                    "certificate": str(self.root / "server.crt"),
                    "key": str(self.root / "server.key"),
                },
            },
            "auth": auth,
        }

    def _request(self, method: str, url: str, **options: Any) -> requests.Response:
        # verify per request: a session's verify loses to REQUESTS_CA_BUNDLE (requests#3829)
        options.setdefault("timeout", 10)
        return self._session.request(method, url, verify=str(self.root / "ca.crt"), **options)

    def _headers(self, repository: str) -> dict[str, str]:
        if self.token_service is not None:
            token = self.token_service.mint(self.username, [f"repository:{repository}:pull,push"])
            return {"Authorization": f"Bearer {token}"}
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {basic}"}

    def _blob(self, repository: str, data: bytes, media_type: str) -> dict[str, Any]:
        digest = _digest(data)
        headers = self._headers(repository)
        started = self._request(
            "POST", f"{self.url}/v2/{repository}/blobs/uploads/", headers=headers
        )
        _expect(started, 202)
        location = urljoin(self.url + "/", started.headers["Location"])
        done = self._request(
            "PUT",
            location,
            params={"digest": digest},
            data=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        _expect(done, 201)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def _put_manifest(
        self, repository: str, tag: str, manifest: dict[str, Any], media_type: str
    ) -> dict[str, Any]:
        """PUT a manifest under ``tag`` (by digest when empty); returns its descriptor."""
        body = json.dumps(manifest).encode()
        reference = tag or _digest(body)
        response = self._request(
            "PUT",
            f"{self.url}/v2/{repository}/manifests/{reference}",
            data=body,
            headers={**self._headers(repository), "Content-Type": media_type},
        )
        _expect(response, 201)
        return {"mediaType": media_type, "digest": _digest(body), "size": len(body)}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _empty_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT):
        pass
    return buffer.getvalue()


def _expect(response: requests.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url}: HTTP {response.status_code} "
            f"(expected {status}): {response.text[:500]}"
        )
