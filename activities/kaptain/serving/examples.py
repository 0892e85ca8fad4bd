"""The test inference of a new revision, from the ``input_example.json`` saved with a model.

The example is a V1 body (``{"instances": [...]}``, what Kaptain's trainers write), a V2
body (``{"inputs": [...]}``), or bare instances. A revision serving the other protocol gets
the same instances in its own protocol's shape, so one example serves both.
"""

from __future__ import annotations

from typing import Any

from kaptain.contracts.serve import InferenceProtocol

EXAMPLE_FILE = "input_example.json"
"""Name of the example request saved beside a model."""


def infer_url(base_url: str, model: str, protocol: InferenceProtocol) -> str:
    """Where a revision answers inference requests in ``protocol``."""
    base = base_url.rstrip("/")
    if protocol is InferenceProtocol.V2:
        return f"{base}/v2/models/{model}/infer"
    return f"{base}/v1/models/{model}:predict"


def metadata_url(base_url: str, model: str, protocol: InferenceProtocol) -> str:
    """Where a revision describes the model (the probe without an example)."""
    version = "v2" if protocol is InferenceProtocol.V2 else "v1"
    return f"{base_url.rstrip('/')}/{version}/models/{model}"


def _shape(values: Any) -> list[int]:
    shape: list[int] = []
    while isinstance(values, list):
        shape.append(len(values))
        values = values[0] if values else None
    return shape


def _datatype(values: Any) -> str:
    while isinstance(values, list) and values:
        values = values[0]
    if isinstance(values, bool):
        return "BOOL"
    if isinstance(values, int):
        return "INT64"
    if isinstance(values, str):
        return "BYTES"
    return "FP32"


def probe_request(protocol: InferenceProtocol, example: Any) -> dict[str, Any]:
    """The request body that asks a revision speaking ``protocol`` about ``example``.

    Raises:
        ValueError: A V2 example for a V1 server with more than one input.
    """
    if isinstance(example, dict) and "inputs" in example and "instances" not in example:
        if protocol is InferenceProtocol.V2:
            return example
        inputs = example["inputs"]
        if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict):
            return {"instances": inputs[0].get("data")}
        raise ValueError(f"{EXAMPLE_FILE}: a V1 server takes one input, the example has more")
    instances = example["instances"] if isinstance(example, dict) else example
    if protocol is InferenceProtocol.V1:
        return {"instances": instances}
    return {
        "inputs": [
            {
                "name": "input-0",
                "shape": _shape(instances),
                "datatype": _datatype(instances),
                "data": instances,
            }
        ]
    }
