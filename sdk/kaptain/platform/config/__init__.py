"""Configuration providers: credentials for the image registry and blob storage.

Each provider turns user-supplied configuration into the body of a Secret
(:meth:`ConfigurationProvider.get_secret_body`) that builds, jobs and model servers use.
No provider ever shows a secret in ``str()``/``repr()``.
"""

from kaptain.platform.config.certificates import DockerRegistryCertificateProvider
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.local import LocalStorageConfigurationProvider
from kaptain.platform.config.provider import (
    ConfigurationProvider,
    EnvironmentVariableConfigurationProvider,
    FileBasedConfigurationProvider,
)
from kaptain.platform.config.s3 import S3ConfigurationProvider

__all__ = [
    "ConfigurationProvider",
    "DockerConfigurationProvider",
    "DockerRegistryCertificateProvider",
    "EnvironmentVariableConfigurationProvider",
    "FileBasedConfigurationProvider",
    "LocalStorageConfigurationProvider",
    "S3ConfigurationProvider",
]
