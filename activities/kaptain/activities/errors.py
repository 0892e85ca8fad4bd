"""Activity failures as Temporal errors: permanent ones never retry, the rest back off."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

_MAX_DETAIL = 4000


def truncate(text: str, limit: int = _MAX_DETAIL) -> str:
    """Keep the end of a long text (logs end with the interesting part)."""
    return text if len(text) <= limit else "..." + text[-limit:]


def permanent(error_type: str, message: str) -> ApplicationError:
    """An error no retry can fix, typed with the SDK exception it maps to."""
    return ApplicationError(truncate(message), type=error_type, non_retryable=True)
