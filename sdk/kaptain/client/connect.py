"""The one client factory: pydantic data converter, tracing, clear connection errors."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from kaptain.exceptions import PlatformUnavailableException


async def connect(
    address: str, namespace: str = "default", *, runtime: Runtime | None = None
) -> Client:
    """Connect to Temporal the way every Kaptain component does.

    Args:
        address: ``host:port`` of the frontend.
        namespace: Temporal namespace.
        runtime: Temporal runtime (telemetry: e.g. Prometheus metrics); None is the
            process's default runtime.

    Returns:
        A client with the pydantic data converter and the OpenTelemetry interceptor
        (workers built from it inherit both).

    Raises:
        PlatformUnavailableException: Temporal cannot be reached at ``address``.
    """
    try:
        return await Client.connect(
            address,
            namespace=namespace,
            data_converter=pydantic_data_converter,
            interceptors=[TracingInterceptor()],
            runtime=runtime,
        )
    except (RPCError, RuntimeError, OSError) as err:
        raise PlatformUnavailableException(
            f"cannot reach Temporal at {address} (namespace {namespace!r}): {err}. "
            "Start the embedded stack with `kaptain dev up`, or set KAPTAIN_TEMPORAL_ADDRESS."
        ) from None
