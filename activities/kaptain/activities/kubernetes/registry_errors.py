"""Failures of the registry client, split by whether a retry can help, and mapped once.

::

    RegistryError                  (every failure names the registry and the repository)
    ├── PermanentRegistryError     (retrying cannot help: fix the configuration)
    │   ├── RegistryAuthError      (401/403: wrong, missing or insufficient credentials)
    │   └── RegistryTLSError       (untrusted or invalid certificate, TLS handshake failure)
    └── TemporaryRegistryError     (5xx, 429, connection refused or reset, timeouts)

:attr:`RegistryError.retryable` maps straight onto Temporal's ``non_retryable``;
:func:`error_for_status` and :func:`error_for_exception` are the only places that decide.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

import requests

__all__ = [
    "PermanentRegistryError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryTLSError",
    "TemporaryRegistryError",
    "error_codes",
    "error_for_exception",
    "error_for_status",
    "registry_error",
]

_MAX_DETAIL: Final = 300
_REASON = re.compile(r"\[(?:SSL: [A-Z0-9_]+|SSL|Errno -?\d+)\][^'\"()]*")


class RegistryError(Exception):
    """A registry request failed.

    Attributes:
        registry: The registry host (``host[:port]``).
        repository: The repository the request was about ("" when none).
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


def registry_error(
    kind: type[RegistryError],
    registry: str,
    repository: str,
    what: str,
    status: int | None = None,
) -> RegistryError:
    """An error whose message names the registry and the repository.

    Args:
        kind: The error class.
        registry: The registry's ``host[:port]``.
        repository: The repository.
        what: What happened, as a verb phrase (``"denied access (HTTP 401)"``).
        status: The HTTP status, if any.

    Returns:
        ``kind("Registry <registry> <what> (repository '<repository>')")``.
    """
    message = f"Registry {registry} {what} (repository {repository!r})"
    return kind(message, registry=registry, repository=repository, status=status)


def error_for_status(
    response: requests.Response, registry: str, repository: str, *, via: str = ""
) -> RegistryError | None:
    """The error an HTTP answer means, or None when it succeeded (below 400).

    Args:
        response: The answer.
        registry: The registry's ``host[:port]``.
        repository: The repository.
        via: Which service answered, when not the registry itself (a token service).

    Returns:
        :class:`RegistryAuthError` for 401/403, :class:`TemporaryRegistryError` for 429 and
        5xx, :class:`PermanentRegistryError` for any other 4xx, else None.
    """
    status = response.status_code
    if status < 400:
        return None
    detail = f"HTTP {status}{_detail(response)}" + (f", from {via}" if via else "")
    if status in (401, 403):
        what = f"denied access ({detail}); check the registry credentials and their permissions"
        return registry_error(RegistryAuthError, registry, repository, what, status)
    if status == 429 or status >= 500:
        return registry_error(
            TemporaryRegistryError, registry, repository, f"is failing ({detail})", status
        )
    return registry_error(
        PermanentRegistryError, registry, repository, f"refused the request ({detail})", status
    )


def error_for_exception(
    error: requests.RequestException, registry: str, repository: str
) -> RegistryError:
    """The error a failed request (no HTTP answer) means.

    Args:
        error: What ``requests`` raised.
        registry: The registry's ``host[:port]``.
        repository: The repository.

    Returns:
        :class:`RegistryTLSError` for TLS failures, :class:`TemporaryRegistryError` for
        connection failures and timeouts, else :class:`PermanentRegistryError`.
    """
    reason = _reason(error)
    if isinstance(error, requests.exceptions.SSLError):
        what = f"failed TLS verification ({reason}); give or check the registry's CA certificate"
        return registry_error(RegistryTLSError, registry, repository, what)
    temporary = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    if isinstance(error, temporary):
        return registry_error(
            TemporaryRegistryError, registry, repository, f"is unreachable ({reason})"
        )
    return registry_error(
        PermanentRegistryError, registry, repository, f"request failed ({reason})"
    )


def _reason(error: Exception) -> str:
    """The innermost ``[SSL: ...]`` or ``[Errno ...]`` text of a wrapped failure, if any."""
    text = str(error)
    found = _REASON.search(text)
    return (found.group(0).strip() if found else text)[:_MAX_DETAIL]


def error_codes(response: requests.Response) -> set[str]:
    """The ``errors[].code`` values of a failed distribution API answer."""
    if response.status_code < 400:
        return set()
    return {code for code, _ in _errors(response)}


def _errors(response: requests.Response) -> list[tuple[str, str]]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return []
    if not isinstance(errors, list):
        return []
    return [(str(e.get("code")), str(e.get("message"))) for e in errors if isinstance(e, dict)]


def _detail(response: requests.Response) -> str:
    errors = _errors(response)
    text = "; ".join(f"{code}: {message}" for code, message in errors) or response.text.strip()
    return f": {text[:_MAX_DETAIL]}" if text else ""
