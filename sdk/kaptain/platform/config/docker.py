"""Credentials for Docker registries, from a Docker ``config.json``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, ClassVar, Final, Self

from kaptain.exceptions import InvalidConfigurationException
from kaptain.platform.config import defaults
from kaptain.platform.config.provider import FileBasedConfigurationProvider, read_config_file

__all__ = ["DockerConfigurationProvider"]

_DOCKER_HUB: Final = "index.docker.io"
_DOCKER_HUB_ALIASES: Final = frozenset({"docker.io", "registry-1.docker.io", _DOCKER_HUB})
_EXPECTED: Final = 'expected {"auths": {"<registry>": {"auth": "<base64 user:password>"}}}'


def _registry_host(registry: str) -> str:
    text = registry.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0]
    return _DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def _decode_auth(registry: str, auth: object) -> tuple[str, str]:
    invalid = InvalidConfigurationException(
        f"Docker config entry for {registry!r} has an invalid 'auth' field "
        "(expected base64 of 'username:password')"
    )
    if not isinstance(auth, str):
        raise invalid
    try:
        decoded = base64.b64decode(auth.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise invalid
    return username, password


class DockerConfigurationProvider(FileBasedConfigurationProvider):
    """Docker configuration for pulling and pushing the images of builds, jobs and servers.

    Docker Configuration Provider supports the standard Docker ``config.json``::

        {
            "auths": {
                "https://index.docker.io/v1/": {
                    "auth": "<username and password in base64>"
                }
            }
        }

    The ``auth`` field is ``base64("<username>:<password>")``; generate it with
    ``echo -n "<username>:<password>" | base64``. Entries with ``username`` and
    ``password`` fields are read too.

    By default :meth:`from_file` loads ``$HOME/.docker/config.json``; pass
    ``path=/path/to/config.json`` for another location (for example a file mounted into the
    notebook from a Secret).
    """

    secret_kind: ClassVar[str] = "kubernetes.io/dockerconfigjson"  # noqa: S105 (a Secret type, not a password)
    """Secrets of this provider are Docker config Secrets."""

    def __init__(self, config_json: str) -> None:
        """Creates the provider from the contents of a ``config.json``.

        Args:
            config_json: The configuration string in JSON format.

        Raises:
            InvalidConfigurationException: The string is not JSON, has no ``auths`` object,
                or an entry is malformed. The message never includes the contents.
        """
        if not isinstance(config_json, str):
            raise InvalidConfigurationException(
                f"Docker config must be a JSON string, got {type(config_json).__name__}"
            )
        try:
            data: Any = json.loads(config_json)
        except json.JSONDecodeError as error:
            raise InvalidConfigurationException(
                f"Docker config is not valid JSON (line {error.lineno}, column {error.colno}); "
                f"{_EXPECTED}"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("auths"), dict):
            raise InvalidConfigurationException(f"Docker config has no 'auths' object; {_EXPECTED}")
        auths: dict[str, dict[str, Any]] = {}
        for registry, entry in data["auths"].items():
            if not isinstance(entry, dict):
                raise InvalidConfigurationException(
                    f"Docker config entry for {registry!r} must be an object"
                )
            if "auth" in entry:
                _decode_auth(registry, entry["auth"])
            auths[registry] = entry
        self._config_json = config_json
        self._auths = auths
        self._source: str | None = None

    @classmethod
    def from_file(cls, path: str | None = None) -> Self:
        """Loads a Docker ``config.json``.

        Args:
            path: The file; defaults to ``$HOME/.docker/config.json`` (resolved now).

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: The file is missing (the message names it) or
                malformed.
        """
        location = path if path is not None else str(defaults.docker_config_path())
        provider = cls(read_config_file(location, "Docker config"))
        provider._source = location
        return provider

    @classmethod
    def empty(cls) -> Self:
        """A configuration without credentials, for public registries.

        Returns:
            The provider of ``{"auths": {}}``.
        """
        return cls('{"auths": {}}')

    @property
    def config_json(self) -> str:
        """The configuration string (it contains credentials)."""
        return self._config_json

    def registries(self) -> list[str]:
        """The registries the configuration has entries for.

        Returns:
            The ``auths`` keys, in file order.
        """
        return list(self._auths)

    def credentials_for(self, registry: str) -> tuple[str, str] | None:
        """The username and password for a registry.

        Registries match by exact key or by host, so ``"registry.local:5000"`` finds the
        entry ``"https://registry.local:5000/v2/"``; ``docker.io`` finds Docker Hub's.

        Args:
            registry: Registry host or URL.

        Returns:
            ``(username, password)``, or None when there is no entry with credentials.
        """
        entry = self._auths.get(registry)
        if entry is None:
            host = _registry_host(registry)
            entry = next(
                (value for key, value in self._auths.items() if _registry_host(key) == host),
                None,
            )
        if entry is None:
            return None
        if "auth" in entry:
            return _decode_auth(registry, entry["auth"])
        username, password = entry.get("username"), entry.get("password")
        if isinstance(username, str) and username and isinstance(password, str):
            return username, password
        return None

    def get_secret_body(self) -> dict[str, str]:
        """The body of a ``kubernetes.io/dockerconfigjson`` Secret.

        Returns:
            ``{".dockerconfigjson": <config_json>}``.
        """
        return {".dockerconfigjson": self._config_json}

    @property
    def description(self) -> str:
        """Registries and source file; never credentials."""
        source = f", source={self._source!r}" if self._source else ""
        return f"registries={self.registries()!r}{source}"
