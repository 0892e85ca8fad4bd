"""Built-in types: decode checks against the official client's model classes.

The API server decodes built-in objects into Go structs, so a wrong JSON type is a
``400 BadRequest`` ("cannot unmarshal ...") and an unknown field is dropped (with a warning,
or refused under ``fieldValidation=Strict``). The ``kubernetes.client.models`` classes carry
the same field lists (``attribute_map``) and types (``openapi_types``), so they stand in for
the Go structs here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

_QUANTITY_MAPS = frozenset(
    {"limits", "requests", "capacity", "allocatable", "overhead", "hard", "used"}
)
_QUANTITY_FIELDS = frozenset({"sizeLimit"})
_QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")
_GO_TYPES = {
    "str": "string",
    "int": "int32",
    "bool": "bool",
    "float": "float64",
    "datetime": "Time",
}


@dataclass
class DecodeResult:
    """What decoding found: unknown field paths and type errors (messages)."""

    unknown: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@functools.cache
def _fields(model: str) -> dict[str, str] | None:
    cls = getattr(client, model, None)
    types = getattr(cls, "openapi_types", None)
    names = getattr(cls, "attribute_map", None)
    if not isinstance(types, dict) or not isinstance(names, dict):
        return None
    return {names[attr]: kind for attr, kind in types.items()}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(kind: str, value: Any, path: str, parent_key: str, out: DecodeResult) -> Any:
    """Returns the decoded value (unknown fields and nulls dropped)."""
    if kind == "object":
        return value
    if kind.startswith("List["):
        if not isinstance(value, list):
            out.errors.append(_mismatch(value, path, "[]" + kind[5:-1]))
            return value
        return [
            _check(kind[5:-1], item, f"{path}[{i}]", parent_key, out)
            for i, item in enumerate(value)
        ]
    if kind.startswith("Dict[str, "):
        if not isinstance(value, dict):
            out.errors.append(_mismatch(value, path, "map[string]" + kind[10:-1]))
            return value
        inner = kind[10:-1]
        return {
            k: _check(inner, v, f"{path}[{k}]", parent_key, out)
            for k, v in value.items()
            if v is not None
        }
    if kind in ("str", "datetime", "date"):
        if parent_key in _QUANTITY_MAPS or parent_key in _QUANTITY_FIELDS:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                out.errors.append(_mismatch(value, path, "Quantity"))
            elif not _QUANTITY.match(str(value)):
                out.errors.append(
                    f"quantities must match the regular expression "
                    f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' ({path}: {value!r})"
                )
            return value
        if not isinstance(value, str):
            out.errors.append(_mismatch(value, path, _GO_TYPES[kind if kind != "date" else "str"]))
        return value
    if kind == "bytes":
        if not isinstance(value, str):
            out.errors.append(_mismatch(value, path, "[]uint8"))
        else:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                out.errors.append(f"illegal base64 data at {path}")
        return value
    if kind in ("int", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "int" and ok and float(value) != int(value):
            ok = False
        if not ok:
            out.errors.append(_mismatch(value, path, _GO_TYPES[kind]))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            out.errors.append(_mismatch(value, path, "bool"))
        return value
    fields = _fields(kind)
    if fields is None:
        return value
    if not isinstance(value, dict):
        out.errors.append(_mismatch(value, path, kind))
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        sub = fields.get(key)
        if sub is None:
            out.unknown.append(_join(path, key))
        elif item is not None:
            result[key] = _check(sub, item, _join(path, key), key, out)
    return result


def _mismatch(value: Any, path: str, go_type: str) -> str:
    return (
        f"json: cannot unmarshal {_json_type(value)} into Go struct field {path} of type {go_type}"
    )


def decode(model: str, obj: dict[str, Any]) -> tuple[dict[str, Any], DecodeResult]:
    """Checks ``obj`` against a client model; returns the pruned object and the findings."""
    out = DecodeResult()
    decoded = _check(model, obj, "", "", out)
    return (decoded if isinstance(decoded, dict) else obj), out


def decode_metadata(metadata: Any) -> tuple[Any, DecodeResult]:
    """Decodes an ``ObjectMeta`` (also used for custom resources)."""
    out = DecodeResult()
    return _check("V1ObjectMeta", metadata, "metadata", "metadata", out), out
