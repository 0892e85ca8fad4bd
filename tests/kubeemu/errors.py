"""API errors as the Kubernetes API server reports them: a ``Status`` body with a reason.

Every failure the emulator answers is an :class:`ApiError`; its :meth:`ApiError.status` is
the JSON body (``{"kind": "Status", "status": "Failure", "reason": ..., "code": ...}``) the
official client turns into ``ApiException.status`` / ``.body``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubeemu.resources import ResourceType

REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
"""The Status ``reason`` the API server uses for each HTTP code."""


class ApiError(Exception):
    """A failed API call: HTTP code, Status reason, message and optional details."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` body of this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(rt: ResourceType, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": rt.plural}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    return details


def _qualified(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def not_found(rt: ResourceType, name: str) -> ApiError:
    """``404 NotFound``: ``pods "x" not found``."""
    return ApiError(404, f'{_qualified(rt)} "{name}" not found', details=_details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiError:
    """``409 AlreadyExists``: ``pods "x" already exists``."""
    return ApiError(
        409,
        f'{_qualified(rt)} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(rt, name),
    )


def conflict(rt: ResourceType, name: str) -> ApiError:
    """``409 Conflict`` for a stale resourceVersion."""
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {_qualified(rt)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details=_details(rt, name),
    )


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """``422 Invalid`` with one cause per ``(field, message)``."""
    parts = [f"{field}: {message}" if field else message for field, message in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    details = _details(rt, name)
    details["kind"] = rt.kind
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": message, "field": field}
        for field, message in causes
    ]
    return ApiError(422, f'{kind} "{name}" is invalid: {joined}', details=details)


def bad_request(message: str) -> ApiError:
    """``400 BadRequest``."""
    return ApiError(400, message)


def forbidden(rt: ResourceType, name: str, why: str) -> ApiError:
    """``403 Forbidden`` as admission plugins answer it."""
    return ApiError(
        403, f'{_qualified(rt)} "{name}" is forbidden: {why}', details=_details(rt, name)
    )


def expired(message: str) -> ApiError:
    """``410 Expired``: a watch or list from a compacted resourceVersion."""
    return ApiError(410, message, reason="Expired")
