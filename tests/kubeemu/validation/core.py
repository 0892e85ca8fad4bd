"""Semantic rules of built-in types and object metadata (names, labels), as the API server
words them. Each check returns ``(field, message)`` causes for a ``422 Invalid``."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from kubeemu.util import JSON

Causes = list[tuple[str, str]]

_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"
_ENV_NAME = r"[-._a-zA-Z][-._a-zA-Z0-9]*"

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN}')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL}')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035}')"
)


def _q(value: Any) -> str:
    return json.dumps(value)


def check_subdomain(field: str, value: str) -> Causes:
    """An RFC 1123 subdomain (most object names)."""
    if len(value) > 253:
        return [(field, f"Invalid value: {_q(value)}: must be no more than 253 characters")]
    if not re.fullmatch(_SUBDOMAIN, value):
        return [(field, f"Invalid value: {_q(value)}: {SUBDOMAIN_MSG}")]
    return []


def check_label(field: str, value: str) -> Causes:
    """An RFC 1123 label (namespaces, container names)."""
    if len(value) > 63:
        return [(field, f"Invalid value: {_q(value)}: must be no more than 63 characters")]
    if not re.fullmatch(_LABEL, value):
        return [(field, f"Invalid value: {_q(value)}: {LABEL_MSG}")]
    return []


def check_dns1035(field: str, value: str) -> Causes:
    """An RFC 1035 label (the training operator's job names)."""
    if len(value) > 63 or not re.fullmatch(_DNS1035, value):
        return [(field, f"Invalid value: {_q(value)}: {DNS1035_MSG}")]
    return []


def _qualified_name(field: str, key: str) -> Causes:
    prefix, _, name = key.rpartition("/")
    causes: Causes = []
    if prefix and check_subdomain(field, prefix):
        causes.append((field, f"Invalid value: {_q(key)}: prefix part {SUBDOMAIN_MSG}"))
    if not name or len(name) > 63 or not re.fullmatch(_QUALIFIED_NAME, name):
        causes.append(
            (
                field,
                f"Invalid value: {_q(key)}: name part must consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                f"'{_QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')",
            )
        )
    return causes


def check_labels(field: str, labels: Any) -> Causes:
    """Label keys are qualified names; values at most 63 characters of ``[-A-Za-z0-9_.]``."""
    causes: Causes = []
    for key, value in (labels or {}).items():
        causes += _qualified_name(field, key)
        text = str(value)
        if len(text) > 63:
            causes.append((field, f"Invalid value: {_q(text)}: must be no more than 63 characters"))
        elif not re.fullmatch(_LABEL_VALUE, text):
            causes.append(
                (
                    field,
                    f"Invalid value: {_q(text)}: a valid label must be an empty string or "
                    "consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
                    f"used for validation is '{_LABEL_VALUE}')",
                )
            )
    return causes


def check_metadata(obj: JSON, *, name_rule: str = "subdomain") -> Causes:
    """Name (required), labels and annotation keys and size."""
    metadata = obj.get("metadata") or {}
    causes: Causes = []
    name = metadata.get("name")
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif name_rule == "label":
        causes += check_label("metadata.name", name)
    elif name_rule == "dns1035":
        causes += check_dns1035("metadata.name", name)
    else:
        causes += check_subdomain("metadata.name", name)
    causes += check_labels("metadata.labels", metadata.get("labels"))
    annotations = metadata.get("annotations") or {}
    for key in annotations:
        causes += _qualified_name("metadata.annotations", key)
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > 256 * 1024:
        causes.append(("metadata.annotations", "Too long: must have at most 262144 bytes"))
    return causes


def _check_container(prefix: str, container: JSON, volumes: set[str], seen: set[str]) -> Causes:
    causes: Causes = []
    name = container.get("name")
    if not name:
        causes.append((f"{prefix}.name", "Required value"))
    else:
        causes += check_label(f"{prefix}.name", name)
        if name in seen:
            causes.append((f"{prefix}.name", f"Duplicate value: {_q(name)}"))
        seen.add(name)
    if not container.get("image"):
        causes.append((f"{prefix}.image", "Required value"))
    for i, env in enumerate(container.get("env") or []):
        env_name = env.get("name", "")
        if not env_name:
            causes.append((f"{prefix}.env[{i}].name", "Required value"))
        elif not re.fullmatch(_ENV_NAME, env_name):
            causes.append(
                (
                    f"{prefix}.env[{i}].name",
                    f"Invalid value: {_q(env_name)}: a valid environment variable name must "
                    "consist "
                    "of alphabetic characters, digits, '_', '-', or '.', and must not start with a "
                    f"digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used "
                    f"for validation is '{_ENV_NAME}')",
                )
            )
    for i, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("name") not in volumes:
            causes.append(
                (f"{prefix}.volumeMounts[{i}].name", f"Not found: {_q(mount.get('name'))}")
            )
        if not mount.get("mountPath"):
            causes.append((f"{prefix}.volumeMounts[{i}].mountPath", "Required value"))
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for key, value in requests.items():
        extended = "/" in key and not key.startswith(("kubernetes.io/", "requests."))
        if extended and key in limits and str(limits[key]) != str(value):
            causes.append(
                (
                    f"{prefix}.resources.requests[{key}]",
                    f"Invalid value: {_q(str(value))}: must be equal to {key} limit of "
                    f"{limits[key]}",
                )
            )
    return causes


def check_pod_spec(prefix: str, spec: JSON, *, restart_policies: tuple[str, ...]) -> Causes:
    """Containers need a unique DNS-label name and an image; volumes and mounts must agree."""
    causes: Causes = []
    volumes: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name", "")
        if name in volumes:
            causes.append((f"{prefix}.volumes[{i}].name", f"Duplicate value: {_q(name)}"))
        causes += (
            check_label(f"{prefix}.volumes[{i}].name", name)
            if name
            else [(f"{prefix}.volumes[{i}].name", "Required value")]
        )
        volumes.add(name)
    containers = spec.get("containers") or []
    if not containers:
        causes.append((f"{prefix}.containers", "Required value"))
    seen: set[str] = set()
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(kind) or []):
            causes += _check_container(f"{prefix}.{kind}[{i}]", container, volumes, seen)
    policy = spec.get("restartPolicy")
    if policy is None:
        supported = ", ".join(_q(p) for p in restart_policies)
        causes.append((f"{prefix}.restartPolicy", f"Required value: valid values: {supported}"))
    elif policy not in restart_policies:
        supported = ", ".join(_q(p) for p in restart_policies)
        causes.append(
            (
                f"{prefix}.restartPolicy",
                f"Unsupported value: {_q(policy)}: supported values: {supported}",
            )
        )
    return causes


_POD_POLICIES = ("Always", "OnFailure", "Never")


def check_pod(obj: JSON) -> Causes:
    """A Pod."""
    return check_pod_spec("spec", obj.get("spec") or {}, restart_policies=_POD_POLICIES)


def check_job(obj: JSON) -> Causes:
    """A batch/v1 Job: a pod template that never restarts in place, sane counts."""
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    causes = check_labels(
        "spec.template.metadata.labels", (template.get("metadata") or {}).get("labels")
    )
    causes += check_pod_spec(
        "spec.template.spec", template.get("spec") or {}, restart_policies=("OnFailure", "Never")
    )
    for key in (
        "backoffLimit",
        "completions",
        "parallelism",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        value = spec.get(key)
        if isinstance(value, int) and value < 0:
            causes.append(
                (f"spec.{key}", f"Invalid value: {value}: must be greater than or equal to 0")
            )
    return causes


def check_data_keys(field: str, data: Any) -> Causes:
    """Secret and ConfigMap keys."""
    causes: Causes = []
    for key in data or {}:
        if not re.fullmatch(_CONFIG_KEY, key) or key in (".", ".."):
            causes.append(
                (
                    field,
                    f"Invalid value: {_q(key)}: a valid config key must consist of alphanumeric "
                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
                    f"regex used for validation is '{_CONFIG_KEY}')",
                )
            )
    return causes


def check_secret(obj: JSON) -> Causes:
    """A Secret: keys, size, and the shape its ``type`` promises."""
    data = obj.get("data") or {}
    causes = check_data_keys("data", data)
    if sum(len(str(v)) for v in data.values()) > 4 * 1024 * 1024 // 3 + 4:
        causes.append(("data", "Too long: must have at most 1048576 bytes"))
    kind = obj.get("type")
    if kind == "kubernetes.io/dockerconfigjson":
        if ".dockerconfigjson" not in data:
            causes.append(("data[.dockerconfigjson]", "Required value"))
        else:
            try:
                json.loads(base64.b64decode(data[".dockerconfigjson"]))
            except (ValueError, binascii.Error) as error:
                causes.append(
                    (
                        "data[.dockerconfigjson]",
                        f'Invalid value: "<secret contents redacted>": {error}',
                    )
                )
    return causes


def check_configmap(obj: JSON) -> Causes:
    """A ConfigMap: keys."""
    return check_data_keys("data", obj.get("data")) + check_data_keys(
        "binaryData", obj.get("binaryData")
    )


def check_update(kind: str, old: JSON, new: JSON) -> Causes:
    """Fields that cannot change after create."""
    causes: Causes = []
    if kind == "Pod":
        old_spec, new_spec = (
            json.loads(json.dumps(old.get("spec") or {})),
            json.loads(json.dumps(new.get("spec") or {})),
        )
        for spec in (old_spec, new_spec):
            for key in ("activeDeadlineSeconds", "tolerations", "nodeName"):
                spec.pop(key, None)
            for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
                container.pop("image", None)
        if old_spec != new_spec:
            causes.append(
                (
                    "spec",
                    "Forbidden: pod updates may not change fields other than "
                    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                    "`spec.activeDeadlineSeconds`,`spec.tolerations` "
                    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                    "(allow it to be set to 1 if it was previously negative)",
                )
            )
    elif kind == "Job":
        if (old.get("spec") or {}).get("template") != (new.get("spec") or {}).get("template"):
            causes.append(("spec.template", "Invalid value: ...: field is immutable"))
    elif kind in ("Secret", "ConfigMap") and old.get("immutable"):
        for key in ("data", "stringData", "binaryData"):
            if old.get(key) != new.get(key):
                causes.append((key, "Forbidden: field is immutable when `immutable` is set"))
    return causes
