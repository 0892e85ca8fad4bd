"""The API server's service proxy: ``/api/v1/namespaces/<ns>/services/<name[:port]>/proxy/...``.

The Service must exist and have the named (or, without a name, its first) port. What answers
is a *backend* a simulated controller registered for ``(namespace, service, port name)``: a
callable ``(method, path, body) -> (status, content type, body)``. A Service without a
backend answers 503 ``no endpoints available``, as a real one without ready endpoints does.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from kubeemu import resources
from kubeemu.errors import ApiError, not_found
from kubeemu.store import ObjectStore

SERVICES = resources.resolve("services")

Answer = tuple[int, str, bytes]
"""HTTP status, content type, body."""
Backend = Callable[[str, str, bytes], Answer]
"""``(method, path with query, body) -> answer``."""


def forward_to(base_url: str, timeout: float = 10.0) -> Backend:
    """A backend that forwards to ``base_url`` over HTTP."""

    def forward(method: str, path: str, body: bytes) -> Answer:
        request = urllib.request.Request(
            base_url.rstrip("/") + path, data=body or None, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                kind = answer.headers.get("Content-Type", "text/plain")
                return answer.status, kind, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", "text/plain"), error.read()
        except OSError as error:
            raise ApiError(503, f"error trying to reach service: {error}") from error

    return forward


class ServiceProxy:
    """Backends of Service ports, and the proxy requests to them."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._backends: dict[tuple[str, str, str], Backend] = {}

    def register(self, namespace: str, service: str, port: str, backend: Backend) -> None:
        """Makes ``backend`` answer for one port of a Service."""
        with self._lock:
            self._backends[(namespace, service, port)] = backend

    def unregister(self, namespace: str, service: str) -> None:
        """Forgets every backend of a Service."""
        with self._lock:
            for key in [k for k in self._backends if k[:2] == (namespace, service)]:
                del self._backends[key]

    def request(self, namespace: str, target: str, method: str, path: str, body: bytes) -> Answer:
        """Proxies one request to ``target`` (``name``, ``name:port`` or ``scheme:name:port``)."""
        parts = target.split(":")
        if len(parts) == 3:
            parts = parts[1:]
        name, port = parts[0], parts[1] if len(parts) > 1 else ""
        service = self.store.get(SERVICES, namespace, name)
        if service is None:
            raise not_found(SERVICES, name)
        ports = (service.get("spec") or {}).get("ports") or []
        names = [str(p.get("name") or p.get("port")) for p in ports]
        if not names:
            raise ApiError(503, f'no endpoints available for service "{name}"')
        port_name = port or names[0]
        if port_name not in names and port_name not in [str(p.get("port")) for p in ports]:
            raise ApiError(503, f'no endpoints available for service "{target}"')
        with self._lock:
            backend = self._backends.get((namespace, name, port_name))
        if backend is None:
            raise ApiError(503, f'no endpoints available for service "{name}"')
        return backend(method, path, body)
