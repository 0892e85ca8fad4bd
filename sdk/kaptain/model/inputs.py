"""Workflow inputs from a model: build context upload and credential staging.

Everything here runs only after the arguments were validated and Temporal answered, so bad
input or an unreachable Temporal leaves nothing behind; a failure half-way removes the
secrets it staged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kaptain.client.settings import platform_name
from kaptain.config import Config
from kaptain.contracts import BuildInput, ResourceSpec, StorageRef
from kaptain.envs import get_env_str
from kaptain.exceptions import ModelValidationException
from kaptain.model.build_context import BuildContext
from kaptain.secrets import LocalStager, SecretStager, StagedCredentials, stage_credentials
from kaptain.storage import open_location


def check_platform(config: Config) -> None:
    """Reject a storage the platform cannot reach, before anything is created.

    Raises:
        ModelValidationException: ``file://`` storage on the Kubernetes platform.
    """
    if platform_name() == "kubernetes" and config.base_model_storage_uri.startswith("file://"):
        raise ModelValidationException(
            f"base_model_storage_uri {config.base_model_storage_uri!r} is a local directory; "
            "the kubernetes platform needs S3 or MinIO storage (s3://...)"
        )


def stager(config: Config) -> SecretStager:
    """Where this platform's credentials are staged."""
    if platform_name() == "kubernetes":
        from kaptain.cluster.secrets import KubernetesSecretStore

        return KubernetesSecretStore(config.namespace)
    return LocalStager()


def stage(config: Config, model_id: str, *, storage_only: bool = False) -> StagedCredentials:
    """Stage the storage credentials (and, on Kubernetes, the registry's) for one call."""
    kube = platform_name() == "kubernetes" and not storage_only
    s3 = not config.base_model_storage_uri.startswith("file://")
    return stage_credentials(
        stager(config),
        model_id,
        storage=config.storage_config_provider if s3 else None,
        docker_config=config.docker_config_provider if kube else None,
        registry_ca=config.docker_registry_certificate_provider if kube else None,
    )


T = TypeVar("T")


def with_credentials(config: Config, model_id: str, make: Callable[[StagedCredentials], T]) -> T:
    """Stage credentials and make an input that refers to them; unstage if that fails."""
    staged = stage(config, model_id)
    try:
        return make(staged)
    except BaseException:
        discard(config, staged)
        raise


def staged_of(build: BuildInput) -> StagedCredentials:
    """The secrets a build input refers to (its storage's, its registry's)."""
    return StagedCredentials(
        storage=build.storage.credentials_ref,
        docker_config=build.docker_config_ref,
        registry_ca=build.registry_ca_ref,
    )


def discard(config: Config, staged: StagedCredentials) -> None:
    """Delete staged secrets (a call that did not start its run)."""
    target = stager(config)
    for name in staged.names:
        target.delete(name)


def storage_ref(config: Config, staged: StagedCredentials) -> StorageRef:
    """The model storage, with the reference to its staged credentials."""
    return StorageRef(
        base_uri=config.base_model_storage_uri,
        credentials_ref=staged.storage,
        credentials_namespace=config.namespace,
    )


def builder_resources() -> ResourceSpec:
    """Builder resources from ``DOCKER_BUILDER_*``."""
    return ResourceSpec(
        cpu_limit=get_env_str("DOCKER_BUILDER_CPU_LIMIT", "1"),
        memory_limit=get_env_str("DOCKER_BUILDER_MEM_LIMIT", "1G"),
        cpu_request=get_env_str("DOCKER_BUILDER_CPU_REQUEST", "500m"),
        memory_request=get_env_str("DOCKER_BUILDER_MEM_REQUEST", "500M"),
    )


def upload_context(config: Config, model_id: str, context: BuildContext) -> str:
    """Upload the context tarball (once per checksum); returns its URI."""
    uri = f"{config.base_model_storage_uri}/{model_id}/build/{context.checksum}.tar.gz"
    store, key = open_location(uri, config.storage_credentials() or None)
    if not store.exists(key):
        store.put_bytes(key, context.tarball())
    return uri


def build_input(
    config: Config,
    model_id: str,
    image: str,
    context: BuildContext,
    staged: StagedCredentials,
    *,
    owns_secrets: bool,
) -> BuildInput:
    """Everything the BuildImage workflow needs; uploads the context."""
    return BuildInput(
        model_id=model_id,
        image=image,
        checksum=context.checksum,
        context_uri=upload_context(config, model_id, context),
        dockerfile=context.dockerfile(context.checksum),
        main_file=context.main_file,
        base_image=context.base_image,
        requirements=context.requirements,
        storage=storage_ref(config, staged),
        docker_config_ref=staged.docker_config,
        registry_ca_ref=staged.registry_ca,
        registry_url=config.docker_registry_url,
        namespace=config.namespace,
        resources=builder_resources(),
        owns_secrets=owns_secrets,
    )
