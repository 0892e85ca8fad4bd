"""Compute resources of a replica: the ``Resources`` API and the simple/advanced rule.

``train``, ``tune`` and ``deploy`` take either the *simple* parameters ``cpu``, ``memory``
and ``gpus`` -- each sets the request and the limit alike -- or ``resources=Resources(...)``
to set them one by one; :func:`resolve_resources` applies that rule and rejects both at once.

CPU and memory are Kubernetes quantities (``"1"``, ``"500m"``, ``"0.5"``, ``"2G"``,
``"2Gi"``, ``"1e3"``) or non-negative numbers; they are checked here so that a typo fails in
the notebook, not as a rejected pod minutes later.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from numbers import Real
from typing import Final

from kaptain.contracts.common import ResourceSpec
from kaptain.exceptions import ModelValidationException

__all__ = ["Resources", "parse_quantity", "resolve_resources", "to_quantity"]

_QUANTITY: Final = re.compile(
    r"(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?"
)

_SUFFIXES: Final[dict[str, Decimal]] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{f"{unit}i": Decimal(1024) ** power for power, unit in enumerate("KMGTPE", start=1)},
}


def parse_quantity(text: str) -> Decimal:
    """Reads a Kubernetes quantity.

    Args:
        text: A non-negative quantity such as ``"500m"``, ``"2Gi"`` or ``"1e3"``.

    Returns:
        Its value in base units (cores, bytes).

    Raises:
        ValueError: ``text`` is not a valid non-negative quantity.
    """
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _SUFFIXES:
        return number * _SUFFIXES[suffix]
    return number.scaleb(int(suffix[1:]))  # a decimal exponent: e3, E-2


def to_quantity(value: str | float, field: str) -> str:
    """Validates a CPU or memory amount and returns it as a quantity string.

    Args:
        value: A quantity string, or a non-negative int or float.
        field: The parameter's name, for the error message.

    Returns:
        The quantity string (numbers formatted without a trailing ``.0``).

    Raises:
        ModelValidationException: ``value`` is not a valid non-negative quantity.
    """
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, Real) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise ModelValidationException(f"Invalid {field}: {value!r} is not finite")
        text = str(int(value)) if number.is_integer() else repr(number)
    else:
        raise ModelValidationException(
            f"Invalid {field}: expected a quantity string or a number, got {value!r}"
        )
    try:
        parse_quantity(text)
    except ValueError:
        raise ModelValidationException(
            f"Invalid {field}: {value!r} is not a non-negative Kubernetes quantity "
            f"(e.g. '1', '500m', '0.5', '2G', '2Gi')"
        ) from None
    return text


def _gpus(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelValidationException(
            f"Invalid {field}: expected a non-negative int, got {value!r}"
        )
    return value


def _check_order(request: str | None, limit: str | None, what: str) -> None:
    if (
        request is not None
        and limit is not None
        and parse_quantity(request) > parse_quantity(limit)
    ):
        raise ModelValidationException(
            f"{what} request ({request}) must not exceed its limit ({limit})"
        )


class Resources:
    """Requests and limits of one replica, set one by one (the advanced resource API).

    Example::

        model.train(workers=2, resources=Resources(cpu_request=1, memory_limit="2G"))
    """

    def __init__(
        self,
        *,
        cpu_request: str | float | None = None,
        cpu_limit: str | float | None = None,
        memory_request: str | float | None = None,
        memory_limit: str | float | None = None,
        gpu_request: int | None = None,
        gpu_limit: int | None = None,
    ) -> None:
        """Creates and validates the resources.

        Args:
            cpu_request: CPUs requested, e.g. ``1``, ``"500m"``.
            cpu_limit: CPU limit.
            memory_request: Memory requested, e.g. ``"2G"``, ``"512Mi"``.
            memory_limit: Memory limit.
            gpu_request: GPUs requested (non-negative int).
            gpu_limit: GPU limit (non-negative int).

        Raises:
            ModelValidationException: A value is invalid, a request exceeds its limit, or
                the GPU request and limit differ (GPUs cannot be overcommitted).
        """

        def quantity(value: str | float | None, field: str) -> str | None:
            return None if value is None else to_quantity(value, field)

        self._spec = ResourceSpec(
            cpu_request=quantity(cpu_request, "cpu_request"),
            cpu_limit=quantity(cpu_limit, "cpu_limit"),
            memory_request=quantity(memory_request, "memory_request"),
            memory_limit=quantity(memory_limit, "memory_limit"),
            gpu_request=_gpus(gpu_request, "gpu_request"),
            gpu_limit=_gpus(gpu_limit, "gpu_limit"),
        )
        spec = self._spec
        _check_order(spec.cpu_request, spec.cpu_limit, "CPU")
        _check_order(spec.memory_request, spec.memory_limit, "Memory")
        if (
            spec.gpu_request is not None
            and spec.gpu_limit is not None
            and spec.gpu_request != spec.gpu_limit
        ):
            raise ModelValidationException(
                f"GPU request ({spec.gpu_request}) and limit ({spec.gpu_limit}) must be equal"
            )

    @property
    def cpu_request(self) -> str | None:
        """CPUs requested, as a quantity string."""
        return self._spec.cpu_request

    @property
    def cpu_limit(self) -> str | None:
        """CPU limit, as a quantity string."""
        return self._spec.cpu_limit

    @property
    def memory_request(self) -> str | None:
        """Memory requested, as a quantity string."""
        return self._spec.memory_request

    @property
    def memory_limit(self) -> str | None:
        """Memory limit, as a quantity string."""
        return self._spec.memory_limit

    @property
    def gpu_request(self) -> int | None:
        """GPUs requested."""
        return self._spec.gpu_request

    @property
    def gpu_limit(self) -> int | None:
        """GPU limit."""
        return self._spec.gpu_limit

    def to_spec(self) -> ResourceSpec:
        """The wire form of these resources.

        Returns:
            A :class:`kaptain.contracts.ResourceSpec` with the same values.
        """
        return self._spec

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return self._spec == other._spec

    def __hash__(self) -> int:
        return hash(self._spec)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in self._spec.model_dump().items()
            if value is not None
        )
        return f"Resources({fields})"


def resolve_resources(
    cpu: str | float | None = None,
    memory: str | float | None = None,
    gpus: int | None = None,
    resources: Resources | ResourceSpec | None = None,
) -> ResourceSpec:
    """Applies the simple/advanced resource rule of ``train``, ``tune`` and ``deploy``.

    Args:
        cpu: CPUs per replica; sets the request and the limit alike.
        memory: Memory per replica; sets the request and the limit alike.
        gpus: GPUs per replica; sets the request and the limit alike.
        resources: Requests and limits one by one (the advanced API).

    Returns:
        The resolved spec (all fields None when nothing was given).

    Raises:
        ModelValidationException: ``resources`` was given with ``cpu``, ``memory`` or
            ``gpus``, or a value is invalid (e.g. negative ``gpus``).
    """
    if resources is not None:
        if cpu is not None or memory is not None or gpus is not None:
            raise ModelValidationException(
                "Specify either 'resources' or the simple parameters 'cpu', 'memory' and "
                "'gpus', not both"
            )
        if isinstance(resources, ResourceSpec):
            return resources
        if not isinstance(resources, Resources):
            raise ModelValidationException(
                f"'resources' must be a Resources object, got {type(resources).__name__}"
            )
        return resources.to_spec()
    cpu_quantity = None if cpu is None else to_quantity(cpu, "cpu")
    memory_quantity = None if memory is None else to_quantity(memory, "memory")
    gpu_count = _gpus(gpus, "gpus")
    return ResourceSpec(
        cpu_request=cpu_quantity,
        cpu_limit=cpu_quantity,
        memory_request=memory_quantity,
        memory_limit=memory_quantity,
        gpu_request=gpu_count,
        gpu_limit=gpu_count,
    )
