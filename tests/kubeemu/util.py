"""Small helpers shared by the emulator's modules: JSON copies, clocks, names, ports."""

from __future__ import annotations

import json
import secrets
import socket
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

JSON = dict[str, Any]
"""A Kubernetes object or any JSON object, as decoded by :mod:`json`."""

# The alphabet of apimachinery's ``rand.String`` (no vowels, no confusable characters).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


_T = TypeVar("_T")


def clone(value: _T) -> _T:
    """A deep copy of a JSON value (faster than :func:`copy.deepcopy` for plain data)."""
    return cast(_T, json.loads(json.dumps(value)))


def now_iso() -> str:
    """The current time as Kubernetes writes it: RFC 3339, seconds, UTC (``...Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Seconds since the epoch of a Kubernetes timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def new_uid() -> str:
    """A fresh object UID."""
    return str(uuid.uuid4())


def random_suffix(length: int = 5) -> str:
    """Random characters as the API server appends them to ``generateName``."""
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def meta(obj: JSON) -> JSON:
    """The object's ``metadata`` mapping (created when missing)."""
    value = obj.get("metadata")
    if not isinstance(value, dict):
        value = {}
        obj["metadata"] = value
    return value


def labels_of(obj: JSON) -> dict[str, str]:
    """The object's labels (empty when none)."""
    value = meta(obj).get("labels")
    return dict(value) if isinstance(value, dict) else {}


def get_path(obj: Any, dotted: str) -> Any:
    """The value at a dotted path (``involvedObject.name``), or ``None``."""
    current = obj
    for part in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def owner_reference(owner: JSON, *, controller: bool = True) -> JSON:
    """An ownerReference pointing at ``owner``, as controllers write it."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def is_owned_by(obj: JSON, owner_uid: str) -> bool:
    """Whether one of the object's ownerReferences names ``owner_uid``."""
    refs = meta(obj).get("ownerReferences") or []
    return any(isinstance(ref, dict) and ref.get("uid") == owner_uid for ref in refs)


def condition(
    type_: str, status: str, reason: str, message: str, *, now: str | None = None
) -> JSON:
    """A status condition with both timestamps set to ``now``."""
    stamp = now or now_iso()
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": stamp,
        "lastUpdateTime": stamp,
    }
