"""The kind names ``kaptain.utils`` accepts, checked before anything is looked up."""

from __future__ import annotations

from kaptain.contracts.inventory import ResourceKind
from kaptain.exceptions import ModelValidationException

JOB_KIND_NAMES: tuple[ResourceKind, ...] = (
    ResourceKind.TFJOB,
    ResourceKind.PYTORCHJOB,
    ResourceKind.JOB,
)
"""Kinds ``delete_job`` takes (the seed's "tfjob", "pytorchjob" or "job")."""

RESOURCE_KIND_NAMES: tuple[ResourceKind, ...] = (
    ResourceKind.TFJOB,
    ResourceKind.PYTORCHJOB,
    ResourceKind.EXPERIMENT,
    ResourceKind.INFERENCESERVICE,
)
"""Kinds ``delete_resource`` takes (the seed's four)."""


def parse_kind(kind: str, allowed: tuple[ResourceKind, ...], what: str) -> ResourceKind:
    """Read a kind as users spell it: case-insensitive, singular or plural.

    Args:
        kind: e.g. ``"PyTorchJob"``, ``"tfjobs"``, ``"inferenceservice"``.
        allowed: The kinds accepted here.
        what: The function, for the message (``"delete_job"``).

    Returns:
        The kind.

    Raises:
        ModelValidationException: ``kind`` is not one of ``allowed``.
    """
    cleaned = str(kind).strip().lower().replace("-", "").replace("_", "")
    for candidate in allowed:
        if cleaned in (candidate.value, f"{candidate.value}s"):
            return candidate
    names = ", ".join(repr(k.value) for k in allowed)
    raise ModelValidationException(f"{what}: unknown kind {kind!r}; use one of {names}")
