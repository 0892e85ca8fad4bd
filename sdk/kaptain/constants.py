"""Constants shared by the SDK: defaults, labels and builder resources.

Nothing here reads the environment; :mod:`kaptain.envs` does that at access time.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_BASE_MODEL_STORAGE_URI",
    "DEFAULT_DOCKER_BUILDER_CPU_LIMIT",
    "DEFAULT_DOCKER_BUILDER_CPU_REQUEST",
    "DEFAULT_DOCKER_BUILDER_MEM_LIMIT",
    "DEFAULT_DOCKER_BUILDER_MEM_REQUEST",
    "DEFAULT_TIMEOUT_SECONDS",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "MODEL_ID_LABEL",
]

DEFAULT_TIMEOUT_SECONDS: Final = 3600
"""Default seconds ``train``/``tune`` wait for completion before timing out."""

DEFAULT_BASE_MODEL_STORAGE_URI: Final = "s3://kaptain/models"
"""Default root under which models, revisions and ``model.json`` files are stored."""

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
"""Label key every resource created by Kaptain carries."""

MANAGED_BY_VALUE: Final = "kaptain"
"""Value of :data:`MANAGED_BY_LABEL` on resources created by Kaptain."""

MODEL_ID_LABEL: Final = "kaptain.d2iq.io/model-id"
"""Label key holding the (slugified) model id of a managed resource."""

DEFAULT_DOCKER_BUILDER_CPU_LIMIT: Final = "1"
"""Default CPU limit of the image builder (``DOCKER_BUILDER_CPU_LIMIT``)."""

DEFAULT_DOCKER_BUILDER_MEM_LIMIT: Final = "1G"
"""Default memory limit of the image builder (``DOCKER_BUILDER_MEM_LIMIT``)."""

DEFAULT_DOCKER_BUILDER_CPU_REQUEST: Final = "500m"
"""Default CPU request of the image builder (``DOCKER_BUILDER_CPU_REQUEST``)."""

DEFAULT_DOCKER_BUILDER_MEM_REQUEST: Final = "500M"
"""Default memory request of the image builder (``DOCKER_BUILDER_MEM_REQUEST``)."""
