"""Temporal's SDK metrics for Prometheus: a runtime that serves ``/metrics``.

The worker's client (and so the worker) is made on this runtime, so the endpoint carries
Temporal's own metrics: task-slot use, poll and schedule-to-start latencies, activity and
workflow task failures, request counts -- all prefixed ``temporal_``.
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from kaptain.exceptions import InvalidConfigurationException


def metrics_runtime(bind_address: str | None) -> Runtime | None:
    """A runtime exporting metrics on ``bind_address`` (``host:port``), or None when unset.

    Args:
        bind_address: Where the Prometheus endpoint listens; None: no metrics.

    Returns:
        The runtime, already listening; None when ``bind_address`` is None.

    Raises:
        InvalidConfigurationException: The endpoint cannot listen there (e.g. the port is
            in use).
    """
    if bind_address is None:
        return None
    try:
        return Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address))
        )
    except ValueError as err:
        raise InvalidConfigurationException(
            f"cannot serve worker metrics on {bind_address}: {err}"
        ) from None
