"""OpenTelemetry setup: OTLP when configured, nothing by default.

The exporter follows OpenTelemetry's own variables: set ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) to export over OTLP/HTTP; ``OTEL_SERVICE_NAME``
names the service. Spans cross process boundaries through Temporal headers, so one trace
runs from the SDK call through the workflow to each activity.
"""

from __future__ import annotations

import os
import threading

from opentelemetry import trace

_lock = threading.Lock()
_configured = False


def configure_tracing(service_name: str) -> bool:
    """Install an OTLP-exporting tracer provider when an endpoint is configured.

    Does nothing when a real tracer provider is already installed (by the application or
    an earlier call), so applications keep control.

    Args:
        service_name: Default ``service.name`` (``OTEL_SERVICE_NAME`` wins).

    Returns:
        True when this call installed a provider.
    """
    global _configured  # noqa: PLW0603 - process-wide, set once
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    with _lock:
        if _configured or not endpoint:
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if isinstance(trace.get_tracer_provider(), TracerProvider):
            return False  # the application installed its own

        name = os.environ.get("OTEL_SERVICE_NAME", service_name)
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _configured = True
        return True


def tracer() -> trace.Tracer:
    """Kaptain's tracer (a no-op until a provider is installed)."""
    return trace.get_tracer("kaptain")
