"""Platform configuration: registry and storage credentials, storage location, namespace."""

from __future__ import annotations

import os
from pathlib import Path

from kaptain.constants import DEFAULT_BASE_MODEL_STORAGE_URI
from kaptain.exceptions import InvalidConfigurationException
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.local import LocalStorageConfigurationProvider
from kaptain.platform.config.provider import ConfigurationProvider
from kaptain.platform.config.s3 import S3ConfigurationProvider
from kaptain.stack.paths import state_paths

_SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_SCHEMES = ("s3://", "file://")


class Config:
    """Encapsulates platform-specific configuration such as access credentials.

    Config is provided as an argument to the Model and is used to instantiate concrete
    implementations of lower-level components based on its properties.

    Args:
        docker_config_provider: The configuration provider for the Docker registry.
        storage_config_provider: The configuration provider for blob storage access
            (S3 and MinIO, or :class:`LocalStorageConfigurationProvider` for ``file://``).
        docker_registry_url: Private Docker registry URL to use with the given certificate.
        docker_registry_certificate_provider: Provider of the registry's CA certificate.
        base_dir: Base directory of the model's relative file paths (default: the
            current working directory at the time of the call).
        base_model_storage_uri: Where models are stored (``s3://bucket/prefix`` or
            ``file:///path``). Defaults to ``s3://kaptain/models``.

    Raises:
        InvalidConfigurationException: The storage URI has an unsupported scheme.
    """

    def __init__(
        self,
        docker_config_provider: ConfigurationProvider,
        storage_config_provider: ConfigurationProvider,
        docker_registry_url: str | None = None,
        docker_registry_certificate_provider: ConfigurationProvider | None = None,
        base_dir: str | None = None,
        base_model_storage_uri: str = DEFAULT_BASE_MODEL_STORAGE_URI,
    ) -> None:
        if not base_model_storage_uri.startswith(_SCHEMES):
            raise InvalidConfigurationException(
                f"base_model_storage_uri {base_model_storage_uri!r} must start with "
                "s3:// or file://"
            )
        self.docker_config_provider = docker_config_provider
        self.storage_config_provider = storage_config_provider
        self.docker_registry_url = docker_registry_url
        self.docker_registry_certificate_provider = docker_registry_certificate_provider
        self.base_dir = os.path.abspath(base_dir or os.getcwd())
        self.base_model_storage_uri = base_model_storage_uri.rstrip("/")

    @classmethod
    def default(cls, base_dir: str | None = None) -> Config:
        """The configuration of this environment.

        Storage is S3 (``s3://kaptain/models`` or ``KAPTAIN_SDK_BASE_MODEL_STORAGE_URI``)
        when ``AWS_ACCESS_KEY_ID`` is set, else a local directory under the Kaptain state
        directory (``file://~/.kaptain/storage/models``). The Docker configuration is
        ``~/.docker/config.json`` when it exists, else empty.

        Args:
            base_dir: Base directory of relative model paths (default: the cwd).

        Returns:
            A new Config.
        """
        docker = (
            DockerConfigurationProvider.from_file()
            if (Path.home() / ".docker" / "config.json").exists()
            else DockerConfigurationProvider.empty()
        )
        storage_uri = os.environ.get("KAPTAIN_SDK_BASE_MODEL_STORAGE_URI")
        storage: ConfigurationProvider
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            storage = S3ConfigurationProvider.from_env()
            storage_uri = storage_uri or DEFAULT_BASE_MODEL_STORAGE_URI
        else:
            root = state_paths().storage
            storage = LocalStorageConfigurationProvider(str(root))
            storage_uri = storage_uri or f"file://{root}/models"
        return cls(docker, storage, base_dir=base_dir, base_model_storage_uri=storage_uri)

    @property
    def namespace(self) -> str:
        """Kubernetes namespace of the workloads.

        ``KAPTAIN_SDK_NAMESPACE``, else the in-cluster service account's namespace, else
        ``default``.
        """
        return current_namespace()

    def storage_credentials(self) -> dict[str, str]:
        """Environment-style storage credentials (empty for ``file://`` storage)."""
        if self.base_model_storage_uri.startswith("file://"):
            return {}
        return self.storage_config_provider.get_secret_body()

    def __repr__(self) -> str:
        return (
            f"Config(base_model_storage_uri={self.base_model_storage_uri!r}, "
            f"base_dir={self.base_dir!r}, docker_registry_url={self.docker_registry_url!r})"
        )


def current_namespace() -> str:
    """Kubernetes namespace of the workloads, read now.

    Returns:
        ``KAPTAIN_SDK_NAMESPACE``, else the in-cluster service account's namespace, else
        ``default``.
    """
    explicit = os.environ.get("KAPTAIN_SDK_NAMESPACE")
    if explicit:
        return explicit
    try:
        return _SA_NAMESPACE_FILE.read_text().strip() or "default"
    except OSError:
        return "default"
