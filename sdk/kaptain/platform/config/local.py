"""Storage configuration for ``file://`` model storage on this machine (no credentials)."""

from __future__ import annotations

import os
from pathlib import Path

from kaptain.exceptions import InvalidConfigurationException
from kaptain.platform.config.provider import ConfigurationProvider

__all__ = ["LocalStorageConfigurationProvider"]


class LocalStorageConfigurationProvider(ConfigurationProvider):
    """Storage provider for the local platform, where models live under ``file://`` URIs.

    There are no credentials, so the Secret body is empty.
    """

    def __init__(self, root: str | None = None) -> None:
        """Creates the provider.

        Args:
            root: Optional directory that holds the models (``~`` expanded, made
                absolute); None leaves the location to the model's storage URI.

        Raises:
            InvalidConfigurationException: ``root`` is blank.
        """
        if root is not None and not root.strip():
            raise InvalidConfigurationException("Local storage root must not be blank")
        self._root = None if root is None else os.path.abspath(Path(root).expanduser())

    @property
    def root(self) -> str | None:
        """The absolute root directory, if one was given."""
        return self._root

    @property
    def root_uri(self) -> str | None:
        """The root as a ``file://`` URI, if one was given."""
        return None if self._root is None else Path(self._root).as_uri()

    def get_secret_body(self) -> dict[str, str]:
        """An empty body: local storage needs no credentials.

        Returns:
            ``{}``.
        """
        return {}

    @property
    def description(self) -> str:
        """The root directory."""
        return f"root={self._root!r}"
