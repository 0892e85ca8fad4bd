"""The resource types the emulator serves, and the discovery documents that list them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One REST resource: where it is served, its kind and what it supports."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    custom: bool = False
    """Served from a CustomResourceDefinition (schema validation, no strategic merge)."""
    crd_file: str | None = None
    """The CRD file in ``crds_dir`` that holds the schema."""
    model: str | None = None
    """The ``kubernetes.client.models`` class of a built-in type (field checks)."""
    verbs: tuple[str, ...] = ALL_VERBS
    categories: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        """``v1`` or ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """``pods`` or ``pytorchjobs.kubeflow.org``: how the store names this type."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def has_status(self) -> bool:
        """Whether a ``status`` subresource exists (then the main endpoint ignores status)."""
        return "status" in self.subresources


_CORE = "v1"

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        _CORE,
        "namespaces",
        "Namespace",
        "namespace",
        namespaced=False,
        short_names=("ns",),
        subresources=("status",),
        model="V1Namespace",
    ),
    ResourceType(
        "",
        _CORE,
        "nodes",
        "Node",
        "node",
        namespaced=False,
        short_names=("no",),
        subresources=("status",),
        model="V1Node",
    ),
    ResourceType(
        "",
        _CORE,
        "pods",
        "Pod",
        "pod",
        short_names=("po",),
        subresources=("status", "log"),
        model="V1Pod",
        categories=("all",),
    ),
    ResourceType("", _CORE, "secrets", "Secret", "secret", model="V1Secret"),
    ResourceType(
        "",
        _CORE,
        "services",
        "Service",
        "service",
        short_names=("svc",),
        subresources=("status", "proxy"),
        model="V1Service",
        categories=("all",),
    ),
    ResourceType(
        "",
        _CORE,
        "serviceaccounts",
        "ServiceAccount",
        "serviceaccount",
        short_names=("sa",),
        model="V1ServiceAccount",
    ),
    ResourceType(
        "", _CORE, "configmaps", "ConfigMap", "configmap", short_names=("cm",), model="V1ConfigMap"
    ),
    ResourceType("", _CORE, "events", "Event", "event", short_names=("ev",), model="CoreV1Event"),
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "Job",
        "job",
        subresources=("status",),
        model="V1Job",
        categories=("all",),
    ),
    ResourceType(
        "kubeflow.org",
        "v1",
        "pytorchjobs",
        "PyTorchJob",
        "pytorchjob",
        subresources=("status",),
        custom=True,
        crd_file="kubeflow.org_pytorchjobs.yaml",
    ),
    ResourceType(
        "kubeflow.org",
        "v1",
        "tfjobs",
        "TFJob",
        "tfjob",
        subresources=("status",),
        custom=True,
        crd_file="kubeflow.org_tfjobs.yaml",
    ),
    ResourceType(
        "serving.kserve.io",
        "v1beta1",
        "inferenceservices",
        "InferenceService",
        "inferenceservice",
        short_names=("isvc",),
        subresources=("status",),
        custom=True,
        crd_file="serving.kserve.io_inferenceservices.yaml",
    ),
)


def find(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at ``/<group>/<version>/<plural>``."""
    for rt in RESOURCES:
        if (rt.group, rt.version, rt.plural) == (group, version, plural):
            return rt
    return None


def resolve(name: str) -> ResourceType:
    """A type by plural (``pods``), ``plural.group``, kind (``Pod``) or short name."""
    for rt in RESOURCES:
        if name in (rt.plural, rt.key, rt.kind, rt.singular, *rt.short_names):
            return rt
    raise KeyError(f"unknown resource {name!r}")


def for_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type of objects with this apiVersion and kind."""
    for rt in RESOURCES:
        if rt.api_version == api_version and rt.kind == kind:
            return rt
    return None


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    for sub in rt.subresources:
        verbs = {
            "log": ["get"],
            "proxy": ["create", "delete", "get", "patch", "update"],
        }.get(sub, ["get", "patch", "update"])
        entries.append(
            {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": verbs,
            }
        )
    return entries


def core_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": [_CORE],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``GET /apis/<group>/<version>``; ``None`` when not served."""
    served = [rt for rt in RESOURCES if (rt.group, rt.version) == (group, version)]
    if not served:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for rt in served for entry in _resource_entries(rt)],
    }


def _group(name: str) -> dict[str, Any]:
    versions = sorted({rt.version for rt in RESOURCES if rt.group == name})
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list() -> dict[str, Any]:
    """``GET /apis``."""
    names = sorted({rt.group for rt in RESOURCES if rt.group})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(n) for n in names]}


def group(name: str) -> dict[str, Any] | None:
    """``GET /apis/<group>``; ``None`` when not served."""
    if not any(rt.group == name for rt in RESOURCES if rt.group):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def version_info() -> dict[str, str]:
    """``GET /version``."""
    return {
        "major": "1",
        "minor": "31",
        "gitVersion": "v1.31.0-kubeemu",
        "gitCommit": "kubeemu",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
