"""Failures of the registry client, split by whether a retry can help.

::

    RegistryError                  (every failure names the registry and the repository)
    ├── PermanentRegistryError     (retrying cannot help: fix the configuration)
    │   ├── RegistryAuthError      (401/403: wrong, missing or insufficient credentials)
    │   └── RegistryTLSError       (untrusted or invalid certificate, TLS handshake failure)
    └── TemporaryRegistryError     (5xx, 429, connection refused or reset, timeouts)

:attr:`RegistryError.retryable` maps straight onto Temporal's ``non_retryable``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "PermanentRegistryError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryTLSError",
    "TemporaryRegistryError",
]


class RegistryError(Exception):
    """A registry request failed.

    Attributes:
        registry: The registry host (``host[:port]``).
        repository: The repository the request was about.
        status: The HTTP status, when the registry answered.
    """

    retryable: ClassVar[bool] = False
    """Whether retrying the same request later may succeed."""

    def __init__(
        self, message: str, *, registry: str, repository: str, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.registry = registry
        self.repository = repository
        self.status = status


class PermanentRegistryError(RegistryError):
    """The request cannot succeed without a configuration change."""


class RegistryAuthError(PermanentRegistryError):
    """The registry refused the credentials (HTTP 401 or 403)."""


class RegistryTLSError(PermanentRegistryError):
    """The registry's certificate is not trusted, or the CA given is invalid."""


class TemporaryRegistryError(RegistryError):
    """The registry is unreachable or failing now; a later retry may succeed."""

    retryable: ClassVar[bool] = True
