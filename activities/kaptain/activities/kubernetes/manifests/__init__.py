"""Pure manifest builders: contracts in, plain dicts out (no I/O, no ``kubernetes`` import).

Every builder's output is validated in the tests: custom resources against the real CRD
schemas, core objects by a lossless round trip through the ``kubernetes`` client's models.
"""

from kaptain.activities.kubernetes.manifests.kaniko import KANIKO_IMAGE, kaniko_args, kaniko_job
from kaptain.activities.kubernetes.manifests.labels import (
    ACTION_LABEL,
    CHECKSUM_LABEL,
    MODEL_ID_ANNOTATION,
    REVISION_LABEL,
    WORKFLOW_ID_ANNOTATION,
    is_dns1123_label,
    is_label_value,
    label_value,
    managed_annotations,
    managed_labels,
    selector_for,
)
from kaptain.activities.kubernetes.manifests.resources import GPU_RESOURCE, resource_requirements
from kaptain.activities.kubernetes.manifests.secrets import (
    CA_CERT_KEY,
    DOCKER_CONFIG_KEY,
    ca_secret,
    docker_config_secret,
    storage_secret,
)
from kaptain.activities.kubernetes.manifests.training import KINDS, JobKindInfo, training_job

__all__ = [
    "ACTION_LABEL",
    "CA_CERT_KEY",
    "CHECKSUM_LABEL",
    "DOCKER_CONFIG_KEY",
    "GPU_RESOURCE",
    "KANIKO_IMAGE",
    "KINDS",
    "MODEL_ID_ANNOTATION",
    "REVISION_LABEL",
    "WORKFLOW_ID_ANNOTATION",
    "JobKindInfo",
    "ca_secret",
    "docker_config_secret",
    "is_dns1123_label",
    "is_label_value",
    "kaniko_args",
    "kaniko_job",
    "label_value",
    "managed_annotations",
    "managed_labels",
    "resource_requirements",
    "selector_for",
    "storage_secret",
    "training_job",
]
