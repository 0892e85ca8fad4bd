"""URL paths and HTTP methods to Kubernetes requests (verb, group, resource, namespace, name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeemu import resources
from kubeemu.errors import ApiError
from kubeemu.resources import ResourceType


@dataclass
class Route:
    """A parsed request. ``rt is None`` for non-resource paths (then ``document`` is set)."""

    verb: str
    group: str = ""
    rt: ResourceType | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    document: Any = None

    @property
    def resource(self) -> str:
        """``pods`` or ``pods/log``: the resource as RBAC names it (``""`` for non-resource)."""
        if self.rt is None:
            return ""
        return f"{self.rt.plural}/{self.subresource}" if self.subresource else self.rt.plural


def _not_found() -> ApiError:
    return ApiError(404, "the server could not find the requested resource")


def _discovery(parts: list[str], address: str) -> Any:
    if parts == ["api"]:
        return resources.core_versions(address)
    if len(parts) == 2 and parts[0] == "api":
        return resources.resource_list("", parts[1])
    if parts == ["apis"]:
        return resources.group_list()
    if len(parts) == 2 and parts[0] == "apis":
        return resources.group(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return resources.resource_list(parts[1], parts[2])
    if parts == ["version"]:
        return resources.version_info()
    if parts and parts[0] in ("healthz", "livez", "readyz"):
        return "ok"
    return None


def route(method: str, path: str, watch: bool, address: str) -> Route:
    """Parses a request path; raises a 404/405 :class:`ApiError` for what is not served."""
    parts = [p for p in path.split("?", maxsplit=1)[0].split("/") if p]
    if method == "GET":
        document = _discovery(parts, address)
        if document is not None:
            return Route(verb="get", document=document)
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _not_found()
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and resources.find(group, version, rest[2]):
        namespace, rest = rest[1], rest[2:]
    if not rest:
        raise _not_found()
    rt = resources.find(group, version, rest[0])
    if rt is not None and len(rest) >= 3 and rest[2] == "proxy" and "proxy" in rt.subresources:
        return _proxy_route(method, group, rt, namespace, rest)
    if rt is None or len(rest) > 3:
        raise _not_found()
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in rt.subresources:
        raise _not_found()
    if rt.namespaced and namespace is None and name is not None:
        raise _not_found()
    collection = name is None
    verbs = {
        ("GET", True): "watch" if watch else "list",
        ("GET", False): "watch" if watch else "get",
        ("POST", True): "create",
        ("PUT", False): "update",
        ("PATCH", False): "patch",
        ("DELETE", False): "delete",
        ("DELETE", True): "deletecollection",
    }
    verb = verbs.get((method, collection))
    if (
        verb is None
        or (sub == "log" and method != "GET")
        or (
            collection
            and rt.namespaced
            and namespace is None
            and verb != "list"
            and verb != "watch"
        )
    ):
        raise ApiError(405, "the server does not allow this method on the requested resource")
    return Route(verb=verb, group=group, rt=rt, namespace=namespace, name=name, subresource=sub)


_PROXY_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete"}  # fmt: skip


def _proxy_route(
    method: str, group: str, rt: ResourceType, namespace: str | None, rest: list[str]
) -> Route:
    """``.../services/<name[:port]>/proxy/<path>``: ``document`` is the path to forward."""
    verb = _PROXY_VERBS.get(method)
    if verb is None or namespace is None:
        raise ApiError(405, "the server does not allow this method on the requested resource")
    path = "/" + "/".join(rest[3:])
    return Route(
        verb=verb, group=group, rt=rt, namespace=namespace, name=rest[1], subresource="proxy",
        document=path,
    )  # fmt: skip
