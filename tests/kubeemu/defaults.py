"""Defaulting, as the API server applies it before validation (pure functions)."""

from __future__ import annotations

import base64
from typing import Any

from kubeemu.resources import ResourceType
from kubeemu.util import JSON, meta


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_pod_spec(spec: JSON, *, restart_policy: str | None = "Always") -> None:
    """``SetDefaults_PodSpec`` and the container defaults that matter to clients."""
    if restart_policy is not None:
        spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for kind in ("initContainers", "containers"):
        for container in spec.get(kind) or []:
            if not isinstance(container, dict):
                continue
            if isinstance(container.get("image"), str):
                container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            resources = container.setdefault("resources", {})
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                # Requests default to limits (always for extended resources such as GPUs).
                requests = resources.setdefault("requests", {})
                for key, value in resources["limits"].items():
                    requests.setdefault(key, value)
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _default_pod(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account
    spec.setdefault("priority", 0)


def _default_job(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    default_pod_spec(template.setdefault("spec", {}), restart_policy="Always")
    uid = meta(obj).get("uid")
    name = meta(obj).get("name")
    if uid and not spec.get("manualSelector") and "selector" not in spec:
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
        )


def _default_secret(obj: JSON) -> None:
    obj.setdefault("type", "Opaque")
    string_data: Any = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {}) or {}
        obj["data"] = data
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _default_namespace(obj: JSON) -> None:
    name = meta(obj).get("name")
    if name:
        meta(obj).setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


_DEFAULTERS = {
    "Pod": _default_pod,
    "Job": _default_job,
    "Secret": _default_secret,
    "Namespace": _default_namespace,
}


def apply_defaults(rt: ResourceType, obj: JSON) -> None:
    """Fills the defaults of the object's type in place (custom resources: see CRD schema)."""
    defaulter = _DEFAULTERS.get(rt.kind)
    if defaulter is not None and not rt.custom:
        defaulter(obj)


def initial_status(rt: ResourceType, obj: JSON) -> JSON | None:
    """The status a freshly created object starts with (``None``: none)."""
    if rt.kind == "Pod":
        return {"phase": "Pending", "qosClass": _qos_class(obj)}
    if rt.kind == "Namespace":
        return {"phase": "Active"}
    return None


def _qos_class(pod: JSON) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    requests = [((c.get("resources") or {}).get("requests") or {}) for c in containers]
    limits = [((c.get("resources") or {}).get("limits") or {}) for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        all(lim.get(k) and str(req.get(k, lim[k])) == str(lim[k]) for k in ("cpu", "memory"))
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"
