"""What the kubelet prepares before a container starts: its environment (``env``,
``valueFrom``, ``envFrom``) and its volumes as local directories (Secrets, ConfigMaps,
emptyDirs), with the errors a kubelet reports when a referenced object is missing."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

from kubeemu import resources
from kubeemu.store import ObjectStore
from kubeemu.util import JSON, get_path

SECRETS = resources.resolve("secrets")
CONFIG_MAPS = resources.resolve("configmaps")


class MissingReference(Exception):
    """A Secret/ConfigMap (or key) the pod needs does not exist (yet)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _source(store: ObjectStore, namespace: str, kind: str, name: str) -> dict[str, bytes] | None:
    if kind == "secret":
        secret = store.get(SECRETS, namespace, name)
        if secret is None:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    config_map = store.get(CONFIG_MAPS, namespace, name)
    if config_map is None:
        return None
    data = {k: str(v).encode() for k, v in (config_map.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (config_map.get("binaryData") or {}).items()})
    return data


def _field_ref(pod: JSON, path: str) -> str:
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((pod["metadata"].get(match.group(1)) or {}).get(match.group(2), ""))
    if path in ("status.podIP", "status.hostIP"):
        return "127.0.0.1"
    if path == "status.podIPs":
        return "127.0.0.1"
    value: Any = get_path(pod, path)
    return "" if value is None else str(value)


def _expand(value: str, env: dict[str, str]) -> str:
    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", lambda m: env.get(m.group(1), m.group(0)), value
    )


def resolve_env(store: ObjectStore, pod: JSON, container: JSON) -> dict[str, str]:
    """The container's environment; raises :class:`MissingReference`
    (``CreateContainerConfigError``) when a required reference is missing."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        for kind, key in (("secret", "secretRef"), ("configmap", "configMapRef")):
            ref = source.get(key)
            if not ref:
                continue
            data = _source(store, namespace, kind, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                label = "secret" if kind == "secret" else "configmap"
                raise MissingReference(
                    "CreateContainerConfigError", f'{label} "{ref.get("name")}" not found'
                )
            prefix = source.get("prefix") or ""
            env.update({f"{prefix}{k}": v.decode(errors="replace") for k, v in data.items()})
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = _expand(str(item.get("value", "")), env)
            continue
        value_from = item["valueFrom"]
        for kind, key in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
            ref = value_from.get(key)
            if not ref:
                continue
            data = _source(store, namespace, kind, ref.get("name", ""))
            label = "Secret" if kind == "secret" else "ConfigMap"
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    break
                if data is None:
                    raise MissingReference(
                        "CreateContainerConfigError",
                        f'{label.lower()} "{ref.get("name")}" not found',
                    )
                raise MissingReference(
                    "CreateContainerConfigError",
                    f"couldn't find key {ref.get('key')} in {label} {namespace}/{ref.get('name')}",
                )
            env[name] = data[ref["key"]].decode(errors="replace")
        if "fieldRef" in value_from:
            env[name] = _field_ref(pod, value_from["fieldRef"].get("fieldPath", ""))
        if "resourceFieldRef" in value_from:
            resource = value_from["resourceFieldRef"].get("resource", "")
            kind, _, res = resource.partition(".")
            env[name] = str(((container.get("resources") or {}).get(kind) or {}).get(res, "0"))
    return env


def _write_items(
    target: Path, data: dict[str, bytes], items: list[JSON] | None, mode: int | None
) -> None:
    target.mkdir(parents=True, exist_ok=True)
    chosen = (
        [(i["key"], i.get("path") or i["key"], i.get("mode")) for i in items]
        if items
        else [(key, key, None) for key in data]
    )
    for key, path, item_mode in chosen:
        if key not in data:
            continue
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data[key])
        os.chmod(file, item_mode or mode or 0o644)


def materialize_volumes(store: ObjectStore, pod: JSON, pod_dir: Path) -> dict[str, Path]:
    """Writes each volume's files under ``pod_dir/volumes``; raises :class:`MissingReference`
    (``FailedMount``) for a missing Secret/ConfigMap that is not optional."""
    namespace = pod["metadata"]["namespace"]
    volumes: dict[str, Path] = {}
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        target = pod_dir / "volumes" / name
        sources: list[tuple[str, JSON]] = []
        if "secret" in volume:
            sources.append(("secret", volume["secret"]))
        if "configMap" in volume:
            sources.append(("configmap", volume["configMap"]))
        for projected in (volume.get("projected") or {}).get("sources") or []:
            if "secret" in projected:
                sources.append(("secret", projected["secret"]))
            if "configMap" in projected:
                sources.append(("configmap", projected["configMap"]))
        target.mkdir(parents=True, exist_ok=True)
        for kind, ref in sources:
            ref_name = (
                ref.get("secretName")
                if kind == "secret" and "secretName" in ref
                else ref.get("name", "")
            )
            data = _source(store, namespace, kind, str(ref_name))
            if data is None:
                if ref.get("optional"):
                    continue
                label = "secret" if kind == "secret" else "configmap"
                raise MissingReference(
                    "FailedMount",
                    f'MountVolume.SetUp failed for volume "{name}" : {label} "{ref_name}" not '
                    "found",
                )
            _write_items(target, data, ref.get("items"), ref.get("defaultMode"))
        volumes[name] = target
    return volumes


def container_mounts(container: JSON, volumes: dict[str, Path]) -> dict[str, Path]:
    """Mount path → local directory for one container (``subPath`` honoured)."""
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or []:
        local = volumes.get(mount.get("name", ""))
        if local is None:
            continue
        if mount.get("subPath"):
            local = local / mount["subPath"]
        mounts[mount["mountPath"]] = local
    return mounts
