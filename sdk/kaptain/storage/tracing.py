"""One OpenTelemetry span per object-store call.

Stores decorate their public methods with :func:`traced`, so every upload, download, listing
and delete shows in the run's trace as ``storage <operation>`` -- under the SDK call
(build-context upload, tracking reads) or under the activity that made it (upload check,
tracking record, model copy). Nothing is recorded until a tracer provider is installed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from opentelemetry import trace

from kaptain.telemetry import tracer

F = TypeVar("F", bound=Callable[..., Any])


def traced(system: str, operation: str, *, key_arg: int = 0) -> Callable[[F], F]:
    """Record a client span around a store method.

    Args:
        system: ``s3`` or ``file``.
        operation: The method's name, e.g. ``put_bytes``.
        key_arg: Position (after ``self``) of the argument naming the key or prefix.

    Returns:
        A decorator for the method. A missing object (``FileNotFoundError``) is recorded as
        ``kaptain.storage.found=false``, any other failure marks the span as an error.
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            attributes = {"kaptain.storage.system": system}
            if len(args) > key_arg:
                attributes["kaptain.storage.key"] = str(args[key_arg])
            bucket = getattr(self, "bucket", None)
            if isinstance(bucket, str):
                attributes["kaptain.storage.bucket"] = bucket
            with tracer().start_as_current_span(
                f"storage {operation}",
                kind=trace.SpanKind.CLIENT,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    return method(self, *args, **kwargs)
                except FileNotFoundError:
                    span.set_attribute("kaptain.storage.found", False)  # control flow
                    raise
                except Exception as err:
                    span.record_exception(err)
                    span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
                    raise

        return cast(F, wrapper)

    return decorate
