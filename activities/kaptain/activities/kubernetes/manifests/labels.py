"""Labels, annotations and names every managed Kubernetes object carries.

Label values must be at most 63 characters of letters, digits, ``-``, ``_`` and ``.``,
starting and ending with a letter or digit; object names that become pod or service names
must be DNS-1123 labels. Values that may not fit (model ids, checksums) go through
:func:`label_value`, and the full text is kept in an annotation.
"""

from __future__ import annotations

import re
from typing import Final

from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
from kaptain.contracts.names import model_slug

__all__ = [
    "ACTION_LABEL",
    "CHECKSUM_LABEL",
    "LABEL_PREFIX",
    "MODEL_ID_ANNOTATION",
    "REVISION_LABEL",
    "WORKFLOW_ID_ANNOTATION",
    "is_dns1123_label",
    "is_label_value",
    "label_value",
    "managed_annotations",
    "managed_labels",
    "require_dns1123_label",
    "selector_for",
]

LABEL_PREFIX: Final = "kaptain.d2iq.io/"
"""Prefix of Kaptain's own label and annotation keys."""

MODEL_ID_ANNOTATION: Final = MODEL_ID_LABEL
"""Annotation key holding the full (unslugified) model id."""

ACTION_LABEL: Final = f"{LABEL_PREFIX}action"
"""Label key of the action that created the object (``build``, ``train``)."""

REVISION_LABEL: Final = f"{LABEL_PREFIX}revision"
"""Label key of the model revision a training job produces."""

CHECKSUM_LABEL: Final = f"{LABEL_PREFIX}checksum"
"""Label key of the build context checksum (truncated to 63 characters)."""

WORKFLOW_ID_ANNOTATION: Final = f"{LABEL_PREFIX}workflow-id"
"""Annotation key of the Temporal workflow id that owns the object."""

_MAX_LABEL: Final = 63
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_INVALID = re.compile(r"[^-A-Za-z0-9_.]+")
_LABEL_EDGES = "-_."


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes label value (empty included)."""
    return bool(_LABEL_VALUE.match(value))


def is_dns1123_label(name: str) -> bool:
    """Whether ``name`` is a DNS-1123 label (lower-case alphanumerics and ``-``, <= 63)."""
    return bool(_DNS1123_LABEL.match(name))


def require_dns1123_label(name: str, what: str) -> str:
    """Return ``name`` unchanged, or fail when it cannot name pods and services.

    Args:
        name: The object name.
        what: What is being named, for the message (``"Job"``).

    Returns:
        ``name``.

    Raises:
        ValueError: ``name`` is not a DNS-1123 label.
    """
    if not is_dns1123_label(name):
        raise ValueError(
            f"{what} name {name!r} is not a DNS-1123 label (at most 63 lower-case letters, "
            "digits and '-', starting and ending with a letter or digit)"
        )
    return name


def label_value(text: str) -> str:
    """Turn any text into a valid label value (invalid runs become ``-``, at most 63).

    Args:
        text: The value, e.g. a checksum or a revision.

    Returns:
        A valid label value; empty when nothing valid remains.
    """
    cleaned = _LABEL_INVALID.sub("-", text).strip(_LABEL_EDGES)
    return cleaned[:_MAX_LABEL].rstrip(_LABEL_EDGES)


def managed_labels(model_id: str, **extra: str) -> dict[str, str]:
    """Labels of an object Kaptain creates for a model.

    Args:
        model_id: The model's id (slugified into the label; the full id goes into
            :func:`managed_annotations`).
        **extra: More ``kaptain.d2iq.io/<key>`` labels; ``_`` in a key becomes ``-``
            and each value goes through :func:`label_value`, e.g. ``action="train"``.

    Returns:
        ``app.kubernetes.io/managed-by: kaptain``, ``kaptain.d2iq.io/model-id`` and the extras.
    """
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, MODEL_ID_LABEL: model_slug(model_id)}
    for key, value in extra.items():
        labels[_key(key)] = label_value(value)
    return labels


def managed_annotations(model_id: str, **extra: str) -> dict[str, str]:
    """Annotations of an object Kaptain creates: the full model id and the extras.

    Args:
        model_id: The model's id, unchanged.
        **extra: More ``kaptain.d2iq.io/<key>`` annotations (``_`` in a key becomes ``-``),
            e.g. ``workflow_id="kaptain/default/dev/mnist/train"``.

    Returns:
        The annotations.
    """
    annotations = {MODEL_ID_ANNOTATION: model_id}
    annotations.update({_key(key): value for key, value in extra.items()})
    return annotations


def selector_for(model_id: str | None = None) -> str:
    """Label selector of the objects Kaptain manages, optionally of one model.

    Args:
        model_id: Narrow to this model's objects; None selects every managed object.

    Returns:
        A selector such as
        ``app.kubernetes.io/managed-by=kaptain,kaptain.d2iq.io/model-id=dev-mnist``.
    """
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
    if model_id is not None:
        selector += f",{MODEL_ID_LABEL}={model_slug(model_id)}"
    return selector


def _key(name: str) -> str:
    return LABEL_PREFIX + name.replace("_", "-")
