"""A thin adapter over the official client: any resource by path, JSON dicts, mapped errors.

Blocking calls run in threads (``asyncio.to_thread``); a watch is a generator of events read
from the streamed response, used from a thread by :mod:`.watching`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from kaptain.activities.kubernetes.errors import KubeError, from_status
from kaptain.activities.kubernetes.tracing import traced_request


@dataclass(frozen=True)
class Resource:
    """A namespaced API resource.

    Attributes:
        group: API group ("" for core).
        version: API version.
        plural: Resource name (``pods``, ``pytorchjobs``).
    """

    group: str
    version: str
    plural: str

    @property
    def name(self) -> str:
        """``plural.group`` as RBAC and error messages spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str, name: str | None = None, sub: str | None = None) -> str:
        """The URL path of the collection, an object, or an object's subresource."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        path = f"{root}/namespaces/{namespace}/{self.plural}"
        if name:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path


SECRETS = Resource("", "v1", "secrets")
PODS = Resource("", "v1", "pods")
EVENTS = Resource("", "v1", "events")
JOBS = Resource("batch", "v1", "jobs")
PYTORCHJOBS = Resource("kubeflow.org", "v1", "pytorchjobs")
TFJOBS = Resource("kubeflow.org", "v1", "tfjobs")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
INFERENCE_SERVICES = Resource("serving.kserve.io", "v1beta1", "inferenceservices")

_TIMEOUT = (10.0, 60.0)


@dataclass
class Listing:
    """Items of a list call and the collection's resourceVersion."""

    items: list[dict[str, Any]]
    resource_version: str


class KubeApi:
    """JSON access to the Kubernetes API with errors mapped by status.

    Args:
        client: A configured ``kubernetes.client.ApiClient``.
    """

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    @traced_request
    def _request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        resource: str,
        namespace: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Any = _TIMEOUT,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        serialized = self._client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response: Any = self._client.call_api(*serialized, _request_timeout=timeout)
        except ApiException as err:
            raise from_status(
                err.status or 0, err.reason, verb=verb, resource=resource, namespace=namespace
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise from_status(
                0, repr(err), verb=verb, resource=resource, namespace=namespace
            ) from None
        if not 200 <= response.status <= 299:
            data = response.read()
            raise from_status(
                response.status,
                data,
                verb=verb,
                resource=resource,
                namespace=namespace,
                retry_after=response.getheader("Retry-After"),
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data: dict[str, Any] = json.loads(response.read())
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise from_status(
                0,
                repr(err),
                verb=kwargs["verb"],
                resource=kwargs["resource"],
                namespace=kwargs["namespace"],
            ) from None
        return data

    # -- verbs (blocking; call through :meth:`run`) ---------------------------------------

    def create(self, res: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST an object."""
        return self._json(
            "POST", res.path(namespace), verb="create", resource=res.name,
            namespace=namespace, body=body,
        )  # fmt: skip

    def get(self, res: Resource, namespace: str, name: str) -> dict[str, Any]:
        """GET an object."""
        return self._json(
            "GET", res.path(namespace, name), verb="get", resource=res.name, namespace=namespace
        )

    def list(
        self,
        res: Resource,
        namespace: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        """List objects (with selectors)."""
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        data = self._json(
            "GET", res.path(namespace), verb="list", resource=res.name,
            namespace=namespace, query=query,
        )  # fmt: skip
        return Listing(
            items=list(data.get("items") or []),
            resource_version=str(data.get("metadata", {}).get("resourceVersion", "")),
        )

    def delete(self, res: Resource, namespace: str, name: str) -> bool:
        """DELETE an object (dependents in the background); False when it was gone."""
        from kaptain.activities.kubernetes.errors import NotFound

        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            self._json(
                "DELETE", res.path(namespace, name), verb="delete", resource=res.name,
                namespace=namespace, body=body,
            )  # fmt: skip
        except NotFound:
            return False
        return True

    def replace(
        self, res: Resource, namespace: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT an object (409 when ``metadata.resourceVersion`` is stale)."""
        return self._json(
            "PUT", res.path(namespace, name), verb="update", resource=res.name,
            namespace=namespace, body=body,
        )  # fmt: skip

    def merge_patch(
        self, res: Resource, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """PATCH an object with a JSON merge patch (``null`` removes a field)."""
        return self._json(
            "PATCH", res.path(namespace, name), verb="patch", resource=res.name,
            namespace=namespace, body=patch, content_type="application/merge-patch+json",
        )  # fmt: skip

    def service_proxy_get(self, namespace: str, service: str, path: str) -> str:
        """GET ``path`` from a Service through the API server's proxy (``name:port``)."""
        response = self._request(
            "GET", f"/api/v1/namespaces/{namespace}/services/{service}/proxy/{path.lstrip('/')}",
            verb="get", resource="services/proxy", namespace=namespace,
        )  # fmt: skip
        return bytes(response.read()).decode(errors="replace")

    def read_log(
        self, namespace: str, pod: str, *, container: str | None = None, tail_lines: int = 200
    ) -> str:
        """The last lines of a pod's (container's) log."""
        query = [("tailLines", str(tail_lines))]
        if container:
            query.append(("container", container))
        response = self._request(
            "GET", PODS.path(namespace, pod, "log"), verb="get", resource="pods/log",
            namespace=namespace, query=query,
        )  # fmt: skip
        return bytes(response.read()).decode(errors="replace")

    def watch(
        self,
        res: Resource,
        namespace: str,
        *,
        resource_version: str,
        field_selector: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 30,
    ) -> Iterator[dict[str, Any]]:
        """Watch events from ``resource_version`` until the server ends the watch.

        Raises:
            Gone: The resourceVersion expired (relist and watch again).
        """
        query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(timeout_seconds)),
            ("allowWatchBookmarks", "true"),
        ]
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if label_selector:
            query.append(("labelSelector", label_selector))
        response = self._request(
            "GET", res.path(namespace), verb="watch", resource=res.name, namespace=namespace,
            query=query, timeout=(10.0, timeout_seconds + 15.0),
        )  # fmt: skip
        raw = response.response
        buffer = b""
        try:
            for chunk in raw.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(json.loads(line), res, namespace)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise from_status(
                0, repr(err), verb="watch", resource=res.name, namespace=namespace
            ) from None
        finally:
            raw.release_conn()

    @staticmethod
    def _event(event: dict[str, Any], res: Resource, namespace: str) -> dict[str, Any]:
        if event.get("type") == "ERROR":
            status = event.get("object") or {}
            raise from_status(
                int(status.get("code") or 500),
                json.dumps(status),
                verb="watch",
                resource=res.name,
                namespace=namespace,
            )
        return event

    async def run(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking verb in a thread."""
        return await asyncio.to_thread(call, *args, **kwargs)


__all__ = [
    "EVENTS",
    "INFERENCE_SERVICES",
    "JOBS",
    "PODS",
    "PYTORCHJOBS",
    "SECRETS",
    "SERVICE_ACCOUNTS",
    "TFJOBS",
    "KubeApi",
    "KubeError",
    "Listing",
    "Resource",
]
