"""Validation of objects on create and update, and :func:`validate_manifest` for tests.

Order, as in the API server: decode (wrong JSON types → 400; unknown fields dropped with a
warning, or 400 under ``fieldValidation=Strict``), defaults, then semantic validation and
admission webhooks (→ 422 Invalid).
"""

from __future__ import annotations

from pathlib import Path

from kubeemu import resources
from kubeemu.defaults import apply_defaults
from kubeemu.errors import ApiError, bad_request, invalid
from kubeemu.resources import ResourceType
from kubeemu.util import JSON, clone
from kubeemu.validation import builtin, core, crd
from kubeemu.validation import webhooks as training

__all__ = ["DEFAULT_CRDS_DIR", "Validator", "validate_manifest"]

DEFAULT_CRDS_DIR = crd.DEFAULT_CRDS_DIR

_SEMANTIC = {
    "Pod": core.check_pod,
    "Job": core.check_job,
    "Secret": core.check_secret,
    "ConfigMap": core.check_configmap,
}
_NAME_RULES = {"Namespace": "label"}


class Validator:
    """Checks writes against the built-in models and the CRD schemas in ``crds_dir``."""

    def __init__(self, crds_dir: Path = DEFAULT_CRDS_DIR, *, webhooks: bool = True) -> None:
        self.crds_dir = Path(crds_dir)
        if not self.crds_dir.is_dir():
            # Fail the test at once: an emulator without the real schemas would answer
            # every custom-resource write with 500 and the run would retry until it times out.
            raise FileNotFoundError(
                f"CRD schemas not found at {self.crds_dir}: the emulator validates against the "
                "real CRDs in shared/crds beside the repository"
            )
        self.webhooks = webhooks

    def decode(
        self, rt: ResourceType, obj: JSON, field_validation: str = "Warn"
    ) -> tuple[JSON, list[str]]:
        """Structural checks; returns the pruned object and warnings. Raises 400 ApiErrors."""
        errors: list[str] = []
        unknown: list[str] = []
        if rt.custom:
            metadata, found = builtin.decode_metadata(obj.get("metadata") or {})
            obj["metadata"] = metadata
            unknown += found.unknown
            errors += found.errors
            assert rt.crd_file is not None
            schema = crd.schema_for(self.crds_dir / rt.crd_file, rt.version)
            crd.prune_and_default(schema, obj, "", unknown)
        elif rt.model:
            obj, found = builtin.decode(rt.model, obj)
            unknown += found.unknown
            errors += found.errors
        if errors:
            raise bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                + "; ".join(errors)
            )
        if unknown and field_validation == "Strict":
            raise bad_request(
                "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown)
            )
        warnings = [f'unknown field "{u}"' for u in unknown] if field_validation != "Ignore" else []
        return obj, warnings

    def causes(self, rt: ResourceType, obj: JSON, old: JSON | None = None) -> core.Causes:
        """Semantic problems (``(field, message)``) of a decoded, defaulted object."""
        causes = core.check_metadata(obj, name_rule=_NAME_RULES.get(rt.kind, "subdomain"))
        if rt.custom:
            assert rt.crd_file is not None
            causes += crd.schema_errors(self.crds_dir / rt.crd_file, rt.version, obj)
        semantic = _SEMANTIC.get(rt.kind)
        if semantic is not None:
            causes += semantic(obj)
        if old is not None:
            causes += core.check_update(rt.kind, old, obj)
        return causes

    def check(self, rt: ResourceType, obj: JSON, old: JSON | None = None) -> None:
        """Raises the 422 Invalid (or webhook denial) the API server would answer."""
        name = (obj.get("metadata") or {}).get("name") or ""
        causes = self.causes(rt, obj, old)
        if causes:
            raise invalid(rt, name, causes)
        if self.webhooks and rt.kind in training.REPLICA_FIELDS:
            denied = training.check_training_job(obj)
            if denied:
                error = invalid(rt, name, denied)
                raise ApiError(
                    422,
                    f'admission webhook "{training.WEBHOOK_NAMES[rt.kind]}" denied the request: '
                    + error.message,
                    reason="Invalid",
                    details=error.details,
                )


def validate_manifest(
    obj: JSON, *, strict: bool = True, crds_dir: Path | None = None, webhooks: bool = True
) -> list[str]:
    """Every reason the API server would refuse (or, when ``strict``, silently prune) ``obj``.

    Example:
        >>> validate_manifest({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        ...                    "spec": {"containers": [{"name": "c"}]}})
        ['spec.containers[0].image: Required value']
    """
    rt = resources.for_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
    if rt is None:
        return [f"no resource serves apiVersion={obj.get('apiVersion')!r} kind={obj.get('kind')!r}"]
    validator = Validator(crds_dir or DEFAULT_CRDS_DIR, webhooks=webhooks)
    candidate = clone(obj)
    if not (candidate.get("metadata") or {}).get("name") and (candidate.get("metadata") or {}).get(
        "generateName"
    ):
        candidate["metadata"]["name"] = candidate["metadata"]["generateName"] + "xxxxx"
    try:
        candidate, warnings = validator.decode(rt, candidate)
    except ApiError as error:
        return [error.message]
    problems = [w for w in warnings if strict]
    apply_defaults(rt, candidate)
    problems += [
        f"{field}: {message}" if field else message
        for field, message in validator.causes(rt, candidate)
    ]
    if webhooks:
        problems += [f"{f}: {m}" for f, m in training.check_training_job(candidate)]
    return problems
