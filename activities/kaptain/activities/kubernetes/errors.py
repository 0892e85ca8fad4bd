"""Kubernetes API failures, mapped once by status into permanent and temporary errors.

::

    KubeError
    ├── PermanentKubeError      no retry can fix it
    │   ├── Unauthorized        401
    │   ├── Forbidden           403: names the verb, resource and namespace to grant
    │   └── Invalid             400 / 422: the server's reason
    ├── NotFound                404 (control flow: adopt-or-create, already deleted)
    ├── Conflict                409 (control flow: adopt)
    ├── Gone                    410 (a watch's resourceVersion expired: relist)
    └── TemporaryKubeError      429 / 5xx / connection problems, with Retry-After if given

Bodies are truncated and never include request bodies, so no Secret data is ever logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

_MAX_BODY = 500


@dataclass
class KubeError(Exception):
    """A failed Kubernetes API call.

    Attributes:
        status: HTTP status (0 for connection problems).
        verb: Kubernetes verb (get, list, watch, create, delete, ...).
        resource: Resource, with its group (``pytorchjobs.kubeflow.org``).
        namespace: Namespace of the call.
        reason: The server's reason and message, truncated.
        retry_after: Seconds the server asked to wait, if it did.
    """

    status: int
    verb: str
    resource: str
    namespace: str
    reason: str
    retry_after: float | None = None

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.resource}{where} failed ({self.status}): {self.reason}"


class PermanentKubeError(KubeError):
    """No retry can fix it."""


class Unauthorized(PermanentKubeError):
    """401: the worker's credentials are not accepted."""


class Forbidden(PermanentKubeError):
    """403: the worker's service account lacks a permission."""

    def __str__(self) -> str:
        return (
            f"the worker's service account may not {self.verb} {self.resource} in namespace "
            f"{self.namespace}: grant it in the worker's Role (deploy/base/role.yaml)"
        )


class Invalid(PermanentKubeError):
    """400/422: the server rejected the object."""


class NotFound(KubeError):
    """404."""


class Conflict(KubeError):
    """409."""


class Gone(KubeError):
    """410: the resourceVersion is too old; list again."""


class TemporaryKubeError(KubeError):
    """429, 5xx or a connection problem: retry with backoff."""


_BY_STATUS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def server_reason(body: Any) -> str:
    """The ``message`` of a Status body (or the body's start), truncated."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        status = json.loads(text)
        text = str(status.get("message") or status.get("reason") or text)
    except (ValueError, AttributeError):
        pass
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + "..."


def from_status(
    status: int,
    body: Any,
    *,
    verb: str,
    resource: str,
    namespace: str,
    retry_after: str | None = None,
) -> KubeError:
    """The error for an HTTP status."""
    kind = _BY_STATUS.get(status)
    if kind is None:
        kind = TemporaryKubeError if status == 429 or status >= 500 or status == 0 else Invalid
    delay = None
    if retry_after:
        try:
            delay = float(retry_after)
        except ValueError:
            delay = None
    return kind(status, verb, resource, namespace, server_reason(body), delay)


def to_application_error(err: KubeError) -> ApplicationError:
    """The Temporal error for an activity that gives up on ``err``.

    Permanent errors are non-retryable; temporary ones carry the server's Retry-After as
    the next retry delay.
    """
    if isinstance(err, PermanentKubeError):
        return ApplicationError(str(err), type="PermanentPlatformError", non_retryable=True)
    delay = timedelta(seconds=err.retry_after) if err.retry_after else None
    return ApplicationError(str(err), type=type(err).__name__, next_retry_delay=delay)
