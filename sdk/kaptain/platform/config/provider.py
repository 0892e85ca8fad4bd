"""The configuration provider interfaces.

A provider holds credentials (for a Docker registry, blob storage, ...) and translates them
into the body of a Kubernetes Secret -- or of the local platform's equivalent -- through
:meth:`ConfigurationProvider.get_secret_body`. ``str()`` and ``repr()`` of a provider show
:attr:`ConfigurationProvider.description`, which never contains a secret.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Self

from kaptain.exceptions import InvalidConfigurationException

__all__ = [
    "ConfigurationProvider",
    "EnvironmentVariableConfigurationProvider",
    "FileBasedConfigurationProvider",
    "mask",
    "read_config_file",
]


def mask(secret: str | None) -> str:
    """Hides a secret for display.

    Args:
        secret: The secret, or None.

    Returns:
        ``"<unset>"`` for None or blank, otherwise ``"****"``.
    """
    return "<unset>" if not secret else "****"


def read_config_file(path: str | Path, what: str) -> str:
    """Reads a configuration file as text.

    Args:
        path: The file (``~`` is expanded).
        what: What the file holds, for the error message (e.g. ``"Docker config"``).

    Returns:
        The file's contents.

    Raises:
        InvalidConfigurationException: The file is missing or cannot be read; the message
            names the path.
    """
    resolved = Path(path).expanduser()
    try:
        return resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidConfigurationException(f"{what} file not found: {resolved}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidConfigurationException(
            f"Cannot read {what} file {resolved}: {type(error).__name__}"
        ) from None


class ConfigurationProvider(ABC):
    """Translates user credentials for a registry or bucket into a Secret body.

    The ConfigurationProvider interface defines high-level functions for translating
    user-provided credentials for a Docker registry or cloud buckets into Kubernetes
    Secrets required for distributed building, training, tuning, and serving components.
    """

    secret_kind: ClassVar[str] = "Opaque"  # noqa: S105 (a Secret type, not a password)
    """Kubernetes Secret ``type`` the body is stored as."""

    @abstractmethod
    def get_secret_body(self) -> dict[str, str]:
        """The Secret's data: keys and plain-text values.

        Returns:
            The body; the caller encodes it as the Secret's ``stringData``.
        """

    @property
    @abstractmethod
    def description(self) -> str:
        """A one-line summary of the configuration that never contains a secret."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"

    def __str__(self) -> str:
        return repr(self)


class FileBasedConfigurationProvider(ConfigurationProvider):
    """A provider that can be created from a configuration file.

    The FileBasedConfigurationProvider defines a factory method for creating instances of
    ConfigurationProvider from provided configuration file specific for the concrete
    implementation.
    """

    @classmethod
    @abstractmethod
    def from_file(cls, path: str | None = None) -> Self:
        """Creates the provider from a configuration file.

        Args:
            path: The file; None means the implementation's default location.

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: The file is missing or malformed.
        """


class EnvironmentVariableConfigurationProvider(ConfigurationProvider):
    """A provider that can be created from environment variables.

    The EnvironmentVariableConfigurationProvider defines a factory method for creating
    instances of ConfigurationProvider from environment variables specific for the
    concrete implementation.
    """

    @classmethod
    @abstractmethod
    def from_env(cls) -> Self:
        """Creates the provider from the process environment.

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: A required variable is missing or invalid.
        """
