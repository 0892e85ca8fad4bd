"""KServe objects of a deployment: InferenceService, storage Secret and ServiceAccount.

``serving.kserve.io/v1beta1`` in Serverless mode (Knative revisions), which supports canaries.

The InferenceService describes one predictor spec: the *latest* revision. KServe keeps the
revision that last had all the traffic (``latestRolledoutRevision``) and, with
``canaryTrafficPercent``, splits the traffic between the two (tags ``latest`` and ``prev``).

KServe copies every annotation and label of the InferenceService into the Knative revision
template, so changing one creates a new revision. Kaptain's own annotations therefore change
only together with the predictor spec: :data:`REVISION_ANNOTATION` (the Kaptain revision of
the spec), :data:`PREVIOUS_REVISION_ANNOTATION` (the Kaptain revision that was rolled out
when the spec was written: what the ``prev`` tag serves) and :data:`SPEC_HASH_ANNOTATION`.
Which revision is the baseline and which the canary follows from these and the traffic
block of the status (:mod:`kaptain.activities.kubernetes.serving_status`).

PyTorch models are TorchScript ``model.pt`` files, which KServe's stock ``pytorch`` runtime
(TorchServe, ``.mar`` archives) cannot load: the ``pytorch`` format selects the
:data:`PYTORCH_RUNTIME` ClusterServingRuntime (``deploy/kserve/``), which runs
``python -m kaptain.serving.server`` from the Kaptain worker image.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from kaptain.activities.kubernetes.manifests.labels import (
    LABEL_PREFIX,
    managed_annotations,
    managed_labels,
    require_dns1123_label,
)
from kaptain.activities.kubernetes.manifests.resources import resource_requirements
from kaptain.activities.kubernetes.manifests.secrets import storage_secret
from kaptain.contracts.common import ModelFramework
from kaptain.contracts.serve import DeploymentRef, RevisionSpec, TransformerSpec

__all__ = [
    "DEPLOYMENT_MODE",
    "DEPLOYMENT_MODE_ANNOTATION",
    "PREVIOUS_REVISION_ANNOTATION",
    "PYTORCH_RUNTIME",
    "REVISION_ANNOTATION",
    "SPEC_HASH_ANNOTATION",
    "TAG_ROUTING_ANNOTATION",
    "canary_patch",
    "inference_service",
    "model_format",
    "serving_account_name",
    "serving_secret",
    "serving_service_account",
    "spec_hash",
]

DEPLOYMENT_MODE_ANNOTATION: Final = "serving.kserve.io/deploymentMode"
"""KServe's deployment mode annotation."""

DEPLOYMENT_MODE: Final = "Serverless"
"""Knative revisions: the mode that supports ``canaryTrafficPercent``."""

TAG_ROUTING_ANNOTATION: Final = "serving.kserve.io/enable-tag-routing"
"""Gives the ``latest`` and ``prev`` revisions their own URLs (the test inference's target)."""

REVISION_ANNOTATION: Final = f"{LABEL_PREFIX}revision"
"""The Kaptain revision of the predictor spec (the latest Knative revision)."""

PREVIOUS_REVISION_ANNOTATION: Final = f"{LABEL_PREFIX}previous-revision"
"""The Kaptain revision rolled out when the spec was written (KServe's ``prev`` tag)."""

SPEC_HASH_ANNOTATION: Final = f"{LABEL_PREFIX}spec-hash"
"""Hash of the predictor (and transformer) spec Kaptain wrote, to recognise it again."""

PYTORCH_RUNTIME: Final = "kaptain-pytorch"
"""ClusterServingRuntime serving TorchScript ``model.pt`` with ``kaptain.serving.server``."""

_S3_ENDPOINT: Final = "serving.kserve.io/s3-endpoint"
_S3_USE_HTTPS: Final = "serving.kserve.io/s3-usehttps"
_S3_REGION: Final = "serving.kserve.io/s3-region"
_S3_VERIFY_SSL: Final = "serving.kserve.io/s3-verifyssl"
_S3_VIRTUAL_BUCKET: Final = "serving.kserve.io/s3-usevirtualbucket"
_S3_KEYS: Final = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_FALSE: Final = frozenset({"0", "false", "no", "off"})

_FORMATS: Final[dict[ModelFramework, tuple[str, str | None]]] = {
    ModelFramework.PYTORCH: ("pytorch", PYTORCH_RUNTIME),
    ModelFramework.SKLEARN: ("sklearn", None),
    ModelFramework.TENSORFLOW: ("tensorflow", None),
    ModelFramework.XGBOOST: ("xgboost", None),
    ModelFramework.ONNX: ("onnx", None),
}
"""Framework -> KServe ``modelFormat.name`` and the runtime to pin (None: KServe picks)."""


def model_format(framework: ModelFramework) -> tuple[str, str | None]:
    """KServe's model format name for a framework, and the runtime Kaptain pins for it.

    Args:
        framework: The model's framework.

    Returns:
        ``(format name, ClusterServingRuntime name or None)``.

    Raises:
        ValueError: KServe has no runtime for the framework (MXNet).
    """
    found = _FORMATS.get(framework)
    if found is None:
        supported = ", ".join(f.value for f in _FORMATS)
        raise ValueError(f"KServe cannot serve {framework.value} models (supported: {supported})")
    return found


def serving_account_name(ref: DeploymentRef) -> str:
    """Name of the deployment's ServiceAccount and storage Secret."""
    return f"kaptain-serving-{ref.name}"


def _labels(ref: DeploymentRef) -> dict[str, str]:
    return {**ref.labels, **managed_labels(ref.model_id)}


def serving_secret(ref: DeploymentRef, credentials: Mapping[str, str]) -> dict[str, Any]:
    """The S3 credentials Secret KServe's storage initializer reads (via the ServiceAccount).

    The keys are the access key pair; the endpoint, scheme, region and TLS verification go
    into KServe's ``serving.kserve.io/s3-*`` annotations, taken from the environment-style
    credentials (``S3_ENDPOINT``, ``S3_USE_HTTPS``, ``AWS_REGION``, ``S3_VERIFY_SSL``,
    ``S3_FORCE_PATH_STYLE``) that the SDK staged.

    Args:
        ref: The deployment.
        credentials: The deployment's storage credentials as environment variables.

    Returns:
        An Opaque Secret named :func:`serving_account_name`.

    Raises:
        ValueError: The credentials hold no access key pair.
    """
    missing = [key for key in _S3_KEYS if not credentials.get(key)]
    if missing:
        raise ValueError(f"the storage credentials lack {', '.join(missing)}")
    name = serving_account_name(ref)
    secret = storage_secret(
        name, ref.namespace, ref.model_id, {k: credentials[k] for k in _S3_KEYS}
    )
    secret["metadata"]["labels"] = _labels(ref)
    secret["metadata"]["annotations"].update(s3_annotations(credentials))
    return secret


def s3_annotations(credentials: Mapping[str, str]) -> dict[str, str]:
    """KServe's S3 annotations for environment-style credentials.

    Args:
        credentials: ``S3_ENDPOINT`` (``http(s)://host:port`` or ``host:port``),
            ``S3_USE_HTTPS``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``S3_VERIFY_SSL``,
            ``S3_FORCE_PATH_STYLE``.

    Returns:
        The ``serving.kserve.io/s3-*`` annotations (the endpoint without its scheme).
    """
    annotations: dict[str, str] = {}
    endpoint = (
        credentials.get("S3_ENDPOINT") or credentials.get("AWS_ENDPOINT_URL_S3") or ""
    ).strip()
    use_https = (credentials.get("S3_USE_HTTPS") or "1").strip().lower() not in _FALSE
    if endpoint:
        if "://" in endpoint:
            parts = urlsplit(endpoint)
            use_https = parts.scheme == "https"
            endpoint = parts.netloc
        annotations[_S3_ENDPOINT] = endpoint
    annotations[_S3_USE_HTTPS] = "1" if use_https else "0"
    region = credentials.get("AWS_REGION") or credentials.get("AWS_DEFAULT_REGION")
    if region:
        annotations[_S3_REGION] = region
    verify = (credentials.get("S3_VERIFY_SSL") or "1").strip().lower() not in _FALSE
    annotations[_S3_VERIFY_SSL] = "1" if verify else "0"
    path_style = (credentials.get("S3_FORCE_PATH_STYLE") or "").strip().lower()
    if path_style:
        annotations[_S3_VIRTUAL_BUCKET] = "false" if path_style not in _FALSE else "true"
    return annotations


def serving_service_account(ref: DeploymentRef) -> dict[str, Any]:
    """The ServiceAccount the predictor runs as; it carries the storage Secret.

    Args:
        ref: The deployment.

    Returns:
        A ServiceAccount named :func:`serving_account_name` listing the Secret.
    """
    name = serving_account_name(ref)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": ref.namespace,
            "labels": _labels(ref),
            "annotations": managed_annotations(ref.model_id),
        },
        "secrets": [{"name": name}],
    }


def _predictor(spec: RevisionSpec, service_account: str) -> dict[str, Any]:
    format_name, runtime = model_format(spec.framework)
    model: dict[str, Any] = {
        "modelFormat": {"name": format_name},
        "protocolVersion": spec.protocol.value,
        "storageUri": spec.model_uri,
    }
    if runtime:
        model["runtime"] = runtime
    resources = resource_requirements(spec.resources)
    if resources:
        model["resources"] = resources
    return {
        "serviceAccountName": service_account,
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        "scaleMetric": "concurrency",
        "scaleTarget": spec.target_concurrency,
        "model": model,
    }


def _env_from(source: str) -> dict[str, Any]:
    kind, _, name = source.partition(":")
    if kind == "configmap" and name:
        return {"configMapRef": {"name": name}}
    if kind == "secret" and name:
        return {"secretRef": {"name": name}}
    return {"secretRef": {"name": source}}


def _volume(entry: Mapping[str, str]) -> dict[str, Any]:
    name = entry["name"]
    if "secret" in entry:
        return {"name": name, "secret": {"secretName": entry["secret"]}}
    if "config_map" in entry:
        return {"name": name, "configMap": {"name": entry["config_map"]}}
    if "pvc" in entry:
        return {"name": name, "persistentVolumeClaim": {"claimName": entry["pvc"]}}
    return {"name": name, "emptyDir": {}}


def _transformer(transformer: TransformerSpec) -> dict[str, Any]:
    """KServe's custom transformer: one ``kserve-container``.

    KServe adds the model name and the predictor host to its arguments.

    Volumes are ``{"name", "mount_path"}`` plus one of ``secret``, ``config_map``, ``pvc``
    (else an emptyDir); ``env_from`` entries are Secret names, or ``configmap:NAME`` /
    ``secret:NAME``.
    """
    bad = [v for v in transformer.volumes if not v.get("name") or not v.get("mount_path")]
    if bad:
        raise ValueError(f"transformer volumes need a name and a mount_path: {bad}")
    container: dict[str, Any] = {"name": "kserve-container", "image": transformer.image}
    if transformer.args:
        container["args"] = list(transformer.args)
    if transformer.env_from:
        container["envFrom"] = [_env_from(source) for source in transformer.env_from]
    if transformer.volumes:
        container["volumeMounts"] = [
            {"name": v["name"], "mountPath": v["mount_path"], "readOnly": True}
            for v in transformer.volumes
        ]
    spec: dict[str, Any] = {"containers": [container]}
    if transformer.volumes:
        spec["volumes"] = [_volume(v) for v in transformer.volumes]
    return spec


def _component_specs(spec: RevisionSpec, service_account: str) -> dict[str, Any]:
    components: dict[str, Any] = {"predictor": _predictor(spec, service_account)}
    if spec.transformer is not None:
        components["transformer"] = _transformer(spec.transformer)
    return components


def spec_hash(spec: RevisionSpec, service_account: str) -> str:
    """A short hash of what the InferenceService's spec says about ``spec``."""
    text = json.dumps(_component_specs(spec, service_account), sort_keys=True)
    return hashlib.sha256(f"{spec.revision}\n{text}".encode()).hexdigest()[:16]


def inference_service(
    ref: DeploymentRef,
    spec: RevisionSpec,
    *,
    previous_revision: str | None = None,
    canary_percent: int | None = None,
) -> dict[str, Any]:
    """The InferenceService whose latest revision serves ``spec``.

    Args:
        ref: The deployment (name, namespace, model id, labels).
        spec: The revision the predictor serves.
        previous_revision: The Kaptain revision rolled out now (served by the ``prev`` tag
            while this spec is a canary), if any.
        canary_percent: ``canaryTrafficPercent``: the latest revision's share (0 while it is
            tested, the split during a canary); None gives it all the traffic once ready.

    Returns:
        The ``serving.kserve.io/v1beta1`` InferenceService.

    Raises:
        ValueError: The name is not a DNS-1123 label, the framework cannot be served or a
            transformer volume is incomplete.
    """
    require_dns1123_label(ref.name, "InferenceService")
    account = serving_account_name(ref)
    components = _component_specs(spec, account)
    if canary_percent is not None:
        if not 0 <= canary_percent <= 100:
            raise ValueError(f"canary percent must be in 0..100, got {canary_percent}")
        components["predictor"]["canaryTrafficPercent"] = canary_percent
    annotations = managed_annotations(ref.model_id)
    annotations.update(
        {
            DEPLOYMENT_MODE_ANNOTATION: DEPLOYMENT_MODE,
            TAG_ROUTING_ANNOTATION: "true",
            REVISION_ANNOTATION: spec.revision,
            SPEC_HASH_ANNOTATION: spec_hash(spec, account),
        }
    )
    if previous_revision:
        annotations[PREVIOUS_REVISION_ANNOTATION] = previous_revision
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": ref.name,
            "namespace": ref.namespace,
            "labels": _labels(ref),
            "annotations": annotations,
        },
        "spec": components,
    }


def canary_patch(percent: int | None) -> dict[str, Any]:
    """A JSON merge patch setting (or, with None, removing) ``canaryTrafficPercent``.

    Args:
        percent: The latest revision's share; None: all traffic once it is ready
            (promote); 0: all traffic to the rolled-out revision (rollback).

    Returns:
        The merge patch.
    """
    return {"spec": {"predictor": {"canaryTrafficPercent": percent}}}
