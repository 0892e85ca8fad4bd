"""Custom resources: the served version's ``openAPIV3Schema`` from the real CRD files.

As the API server does for structural schemas: unknown fields are pruned (reported so the
caller can warn or, with ``fieldValidation=Strict``, refuse), ``null`` is dropped where the
schema is not ``nullable``, ``default`` values are applied, then the object is validated
with :mod:`jsonschema` (``x-kubernetes-*`` keys are unknown keywords to it; CEL rules in
``x-kubernetes-validations`` are not evaluated).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kubeemu.util import JSON, clone

DEFAULT_CRDS_DIR = (Path(__file__).resolve().parents[3] / ".." / "shared" / "crds").resolve()
"""``<repo>/../shared/crds``: the real CRDs the design points at."""

_FORMATS = jsonschema.FormatChecker()


def _int_or_string(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


_FORMATS.checks("int-or-string")(_int_or_string)
_FORMATS.checks("date-time", raises=ValueError)(_date_time)


@functools.cache
def load_crd(path: Path) -> JSON:
    """One CRD file, parsed once per process (the files are megabytes of YAML)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        crd: JSON = yaml.load(handle, Loader=loader)
    return crd


@functools.cache
def _schema_and_validator(path: Path, version: str) -> tuple[JSON, Any]:
    crd = load_crd(path)
    for served in crd["spec"]["versions"]:
        if served["name"] == version and served.get("served", True):
            schema: JSON = served["schema"]["openAPIV3Schema"]
            validator = jsonschema.Draft7Validator(schema, format_checker=_FORMATS)
            return schema, validator
    raise KeyError(f"{path.name} serves no version {version!r}")


def schema_for(path: Path, version: str) -> JSON:
    """The ``openAPIV3Schema`` of a served version."""
    return _schema_and_validator(path, version)[0]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def prune_and_default(
    schema: JSON, value: Any, path: str = "", unknown: list[str] | None = None
) -> Any:
    """Drops unknown fields (appending their paths to ``unknown``), nulls and applies defaults."""
    found = unknown if unknown is not None else []
    if schema.get("x-kubernetes-int-or-string"):
        return value
    if isinstance(value, dict):
        properties: JSON = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or additional is True
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            if path == "" and key in ("apiVersion", "kind", "metadata"):
                continue
            if embedded and key in ("apiVersion", "kind", "metadata"):
                continue
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                if not preserve:
                    found.append(_join(path, key))
                    del value[key]
            elif value[key] is None and not sub.get("nullable"):
                del value[key]
            else:
                value[key] = prune_and_default(sub, value[key], _join(path, key), found)
        for key, sub in properties.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = clone(sub["default"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items: JSON = schema["items"]
        return [
            prune_and_default(items, item, _join(path, i), found) for i, item in enumerate(value)
        ]
    return value


def _field(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path = _join(path, part)
    return path


def _describe(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, dict | list) else json.dumps(value)[:80]


def schema_errors(path: Path, version: str, obj: JSON) -> list[tuple[str, str]]:
    """``(field, message)`` for each violation, worded like the API server's."""
    _, validator = _schema_and_validator(path, version)
    causes: list[tuple[str, str]] = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        field = _field(error)
        if error.validator == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else ""
            causes.append((_join(field, missing), "Required value"))
        elif error.validator == "type":
            wanted = error.validator_value
            causes.append(
                (
                    field,
                    f"Invalid value: {_describe(error.instance)}: {field} in body must be of type "
                    f"{wanted}: {_describe(error.instance)}",
                )
            )
        elif error.validator == "enum":
            supported = ", ".join(json.dumps(v) for v in error.validator_value)
            causes.append(
                (
                    field,
                    f"Unsupported value: {_describe(error.instance)}: supported values: "
                    f"{supported}",
                )
            )
        else:
            causes.append((field, f"Invalid value: {_describe(error.instance)}: {error.message}"))
    return causes


def check_custom(path: Path, version: str, obj: JSON) -> tuple[list[str], list[tuple[str, str]]]:
    """Prunes/defaults ``obj`` in place; returns (unknown fields, schema violations)."""
    schema = schema_for(path, version)
    unknown: list[str] = []
    prune_and_default(schema, obj, "", unknown)
    return unknown, schema_errors(path, version, obj)
