"""Container resource requirements from a :class:`~kaptain.contracts.ResourceSpec`."""

from __future__ import annotations

from typing import Final

from kaptain.contracts.common import ResourceSpec

__all__ = ["GPU_RESOURCE", "resource_requirements"]

GPU_RESOURCE: Final = "nvidia.com/gpu"
"""Extended resource name of NVIDIA GPUs (the device plugin sets ``CUDA_VISIBLE_DEVICES``)."""


def resource_requirements(spec: ResourceSpec, *, gpus: bool = True) -> dict[str, dict[str, str]]:
    """Requests and limits of one container, each as given.

    GPUs are an extended resource: Kubernetes requires the request to equal the limit, so
    both get :attr:`ResourceSpec.gpus`, and neither is set when it is 0.

    Args:
        spec: The resources of one replica.
        gpus: Include GPUs (False for the image builder).

    Returns:
        ``{"requests": {...}, "limits": {...}}`` without empty parts (``{}`` when nothing
        is set).
    """
    requests = _quantities(cpu=spec.cpu_request, memory=spec.memory_request)
    limits = _quantities(cpu=spec.cpu_limit, memory=spec.memory_limit)
    if gpus and spec.gpus > 0:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(spec.gpus)
    parts = {"requests": requests, "limits": limits}
    return {part: values for part, values in parts.items() if values}


def _quantities(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}
