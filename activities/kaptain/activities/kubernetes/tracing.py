"""One OpenTelemetry span per Kubernetes API request.

:func:`traced_request` wraps :meth:`KubeApi._request`, the one method every verb goes
through, so each call shows in the run's trace as ``k8s <verb> <resource>`` under the
activity that made it (``asyncio.to_thread`` carries the activity's context into the thread).
A watch's span covers opening the stream, not the events read from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from opentelemetry import trace

from kaptain.activities.kubernetes.errors import Conflict, Gone, KubeError, NotFound
from kaptain.telemetry import tracer

F = TypeVar("F", bound=Callable[..., Any])

_EXPECTED = (NotFound, Conflict, Gone)
"""Statuses the adapters use for control flow (adopt, already gone, relist): not errors."""


def traced_request(request: F) -> F:
    """Decorate ``_request(self, method, path, *, verb, resource, namespace, ...)``.

    Args:
        request: The adapter's request method.

    Returns:
        The method, recording a client span with the verb, resource, namespace, HTTP method,
        path and response status; failures other than 404/409/410 mark the span as an error.
    """

    @functools.wraps(request)
    def wrapper(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        verb, resource = kwargs.get("verb", ""), kwargs.get("resource", "")
        attributes = {
            "k8s.namespace.name": kwargs.get("namespace", ""),
            "kaptain.k8s.verb": verb,
            "kaptain.k8s.resource": resource,
            "http.request.method": method,
            "url.path": path,
        }
        with tracer().start_as_current_span(
            f"k8s {verb} {resource}",
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = request(self, method, path, **kwargs)
            except KubeError as err:
                span.set_attribute("http.response.status_code", err.status)
                if not isinstance(err, _EXPECTED):
                    span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
                raise
            span.set_attribute("http.response.status_code", int(response.status))
            return response

    return cast(F, wrapper)
