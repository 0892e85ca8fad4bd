"""Checks of ``deploy`` / ``deploy_canary`` arguments and the revision they describe.

Everything is validated before anything is created; the only side effects here are the
uploads of a transformer module and the staging of credentials, which run once Temporal
answered (see :mod:`kaptain.model.serving`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from kaptain.config import Config
from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
from kaptain.contracts import ModelFramework, ResourceSpec, StorageRef, model_slug
from kaptain.contracts.serve import (
    DeploymentRef,
    InferenceProtocol,
    RevisionSpec,
    ServeInput,
    TransformerSpec,
)
from kaptain.exceptions import (
    ModelDeploymentException,
    ModelValidationException,
    UnsupportedModelDeploymentException,
)
from kaptain.model import inputs, requests
from kaptain.model.transformer import Transformer
from kaptain.secrets import StagedCredentials
from kaptain.storage import open_location

SERVABLE: tuple[ModelFramework, ...] = (
    ModelFramework.PYTORCH,
    ModelFramework.SKLEARN,
    ModelFramework.TENSORFLOW,
)
"""Frameworks Kaptain serves (PyTorch as TorchScript, scikit-learn joblib, SavedModel)."""

_PROTOCOLS = {"v1": InferenceProtocol.V1, "v2": InferenceProtocol.V2}
_REPLICA_KWARGS = ("min_replicas", "max_replicas")


def check_servable(framework: ModelFramework) -> None:
    """Refuse a framework Kaptain cannot serve, before anything is created.

    Raises:
        UnsupportedModelDeploymentException: Not PyTorch, scikit-learn or TensorFlow.
    """
    if framework not in SERVABLE:
        names = ", ".join(f.value for f in SERVABLE)
        raise UnsupportedModelDeploymentException(
            f"Kaptain cannot serve {framework.value} models; it serves {names}"
        )


def protocol(serving_config: Mapping[str, str]) -> InferenceProtocol:
    """``serving_config["protocol_version"]`` (default v1).

    Raises:
        ModelValidationException: Neither ``v1`` nor ``v2``.
    """
    value = serving_config.get("protocol_version", "v1").strip().lower()
    if value not in _PROTOCOLS:
        raise ModelValidationException(
            f"serving_config['protocol_version'] must be 'v1' or 'v2', got {value!r}"
        )
    return _PROTOCOLS[value]


def replicas(kwargs: Mapping[str, str]) -> tuple[int, int]:
    """``min_replicas`` / ``max_replicas`` from deploy's keyword arguments (default 1, 3).

    Raises:
        ModelValidationException: An unknown keyword, or a count that is not a positive
            integer, or max below min.
    """
    unknown = sorted(set(kwargs) - set(_REPLICA_KWARGS))
    if unknown:
        raise ModelValidationException(
            f"unknown deployment argument(s) {', '.join(unknown)}; "
            f"supported: {', '.join(_REPLICA_KWARGS)}"
        )
    counts = []
    for key, default in zip(_REPLICA_KWARGS, (1, 3), strict=True):
        raw = kwargs.get(key, default)
        try:
            counts.append(requests.positive_int(int(raw), key))
        except (TypeError, ValueError):
            raise ModelValidationException(f"{key} must be an integer, got {raw!r}") from None
    low, high = counts
    if high < low:
        raise ModelValidationException(f"max_replicas ({high}) is below min_replicas ({low})")
    return low, high


def module_path(config: Config, transformer: Transformer) -> str | None:
    """The transformer module's file, checked to exist.

    Raises:
        ModelValidationException: The module file does not exist.
    """
    if transformer.module is None:
        return None
    path = transformer.module
    if not os.path.isabs(path):
        path = os.path.join(config.base_dir, path)
    if not os.path.isfile(path):
        raise ModelValidationException(f"Transformer module {transformer.module!r} not found")
    return path


@dataclass(frozen=True)
class Plan:
    """A checked revision to serve, before its artifacts exist.

    Attributes:
        spec: The revision.
        transformer_module: Local file of the transformer module, uploaded on ``stage``.
    """

    spec: RevisionSpec
    transformer_module: str | None

    def upload(self, config: Config) -> None:
        """Upload the transformer module to the revision's deploy location."""
        transformer = self.spec.transformer
        if self.transformer_module is None or transformer is None or not transformer.module_uri:
            return
        store, key = open_location(transformer.module_uri, config.storage_credentials() or None)
        with open(self.transformer_module, "rb") as source:
            store.put_bytes(key, source.read())


def plan_revision(
    config: Config,
    model_id: str,
    framework: ModelFramework,
    *,
    source_uri: str,
    serving_config: Mapping[str, str],
    autoscale: int,
    resources: ResourceSpec,
    transformer: Transformer | None,
    kwargs: Mapping[str, str],
) -> Plan:
    """Check every argument and name the new revision's artifacts.

    Raises:
        ModelValidationException: An argument is invalid.
        UnsupportedModelDeploymentException: The framework cannot be served.
    """
    check_servable(framework)
    concurrency = requests.positive_int(autoscale, "autoscale")
    low, high = replicas(kwargs)
    revision = uuid.uuid4().hex
    base = f"{config.base_model_storage_uri}/{model_id}/deploy/{revision}"
    module = None
    spec_transformer = None
    if transformer is not None:
        if not isinstance(transformer, Transformer):
            raise ModelValidationException("transformer must be a Transformer")
        module = module_path(config, transformer)
        spec_transformer = TransformerSpec(
            image=transformer.image_name,
            args=list(transformer.args),
            env_from=list(transformer.env_from),
            volumes=[dict(v) for v in transformer.volumes],
            module_uri=f"{base}/transformer/{os.path.basename(module)}" if module else None,
        )
    spec = RevisionSpec(
        revision=revision,
        source_uri=source_uri.rstrip("/"),
        model_uri=f"{base}/model",
        framework=framework,
        protocol=protocol(serving_config),
        target_concurrency=concurrency,
        min_replicas=low,
        max_replicas=high,
        resources=resources,
        transformer=spec_transformer,
        serving_config=dict(serving_config),
    )
    return Plan(spec=spec, transformer_module=module)


def source_uri(model_id: str, explicit: str | None, latest: str | None) -> str:
    """The model to serve: the given URI, else the latest trained or tuned one.

    Raises:
        ModelDeploymentException: Nothing given and nothing trained or tuned.
        ModelValidationException: A blank or non-string URI.
    """
    if explicit is not None:
        return requests.require_text(explicit, "model_uri")
    if latest is None:
        raise ModelDeploymentException(
            f"{model_id} has no trained or tuned revision to deploy; train it first or pass "
            "model_uri"
        )
    return latest


def deployment_ref(config: Config, model_id: str, storage: StorageRef) -> DeploymentRef:
    """The deployment of a model, labelled as Kaptain's."""
    return DeploymentRef(
        namespace=config.namespace,
        model_id=model_id,
        name=model_slug(model_id),
        storage=storage,
        labels={MANAGED_BY_LABEL: MANAGED_BY_VALUE, MODEL_ID_LABEL: model_slug(model_id)},
    )


def stage_storage(config: Config, model_id: str) -> tuple[StorageRef, StagedCredentials]:
    """Stage the storage credentials the deployment will read its models with."""
    staged = inputs.stage(config, model_id, storage_only=True)
    return inputs.storage_ref(config, staged), staged


def serve_input(config: Config, model_id: str, storage: StorageRef) -> ServeInput:
    """The ServeModel workflow's input when it starts with this deploy."""
    return ServeInput(deployment=deployment_ref(config, model_id, storage))
