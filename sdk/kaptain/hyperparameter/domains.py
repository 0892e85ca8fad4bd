"""Search spaces (domains) of hyperparameters, validated when constructed.

Each domain describes itself as a small JSON-able dict (:meth:`Domain.to_dict`) whose
``type`` is Katib's parameter type (``double``, ``int``, ``discrete``, ``categorical``);
:meth:`Domain.from_dict` reads it back.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

from kaptain.exceptions import ModelValidationException

__all__ = ["Categorical", "Discrete", "Domain", "Double", "Integer"]


def _finite_float(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ModelValidationException(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelValidationException(f"{what} must be a finite number, got {value!r}")
    return number


def _values_list(values: object, domain: str) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ModelValidationException(f"{domain} values must be a list, got {values!r}")
    if not values:
        raise ModelValidationException(f"{domain} values must not be empty")
    return list(values)


class Domain(ABC):
    """The search space of one hyperparameter."""

    type_name: ClassVar[str]
    """Katib parameter type of the domain."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Describes the domain as a JSON-able dict.

        Returns:
            ``{"type": <type_name>, ...}`` with the domain's bounds or values.
        """

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Domain:
        """Builds a domain from the output of :meth:`to_dict`.

        Args:
            data: A dict with ``type`` and the domain's bounds or values.

        Returns:
            The domain, validated as if constructed directly.

        Raises:
            ModelValidationException: The type is unknown or a field is missing or invalid.
        """
        kind = data.get("type")
        try:
            if kind == Double.type_name:
                return Double(data["min"], data["max"])
            if kind == Integer.type_name:
                return Integer(data["min"], data["max"])
            if kind == Discrete.type_name:
                return Discrete(data["values"])
            if kind == Categorical.type_name:
                return Categorical(data["values"])
        except KeyError as missing:
            raise ModelValidationException(
                f"{kind} domain description lacks {missing.args[0]!r}"
            ) from None
        raise ModelValidationException(
            f"Unknown domain type {kind!r}; expected one of double, int, discrete, categorical"
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Domain)
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))


class Double(Domain):
    """Defines a floating-point (double) hyperparameter with domain [min, max]."""

    type_name: ClassVar[str] = "double"

    def __init__(self, min: float, max: float) -> None:
        """Creates the domain.

        Args:
            min: Minimum value.
            max: Maximum value, greater than ``min``.

        Raises:
            ModelValidationException: A bound is not a finite number, or min >= max.
        """
        low = _finite_float(min, "Double min")
        high = _finite_float(max, "Double max")
        if low >= high:
            raise ModelValidationException(f"Double min ({min!r}) must be less than max ({max!r})")
        self._min = low
        self._max = high

    @property
    def min(self) -> float:
        """Minimum value."""
        return self._min

    @property
    def max(self) -> float:
        """Maximum value."""
        return self._max

    def to_dict(self) -> dict[str, Any]:
        """See :meth:`Domain.to_dict`."""
        return {"type": self.type_name, "min": self._min, "max": self._max}

    def __repr__(self) -> str:
        return f"Double(min={self._min!r}, max={self._max!r})"


class Integer(Domain):
    """Defines an integer (int) hyperparameter with domain [min, max]."""

    type_name: ClassVar[str] = "int"

    def __init__(self, min: int, max: int) -> None:
        """Creates the domain.

        Args:
            min: Minimum value.
            max: Maximum value, greater than ``min``.

        Raises:
            ModelValidationException: A bound is not an integer, or min >= max.
        """
        for what, value in (("min", min), ("max", max)):
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise ModelValidationException(f"Integer {what} must be an int, got {value!r}")
        if int(min) >= int(max):
            raise ModelValidationException(f"Integer min ({min!r}) must be less than max ({max!r})")
        self._min = int(min)
        self._max = int(max)

    @property
    def min(self) -> int:
        """Minimum value."""
        return self._min

    @property
    def max(self) -> int:
        """Maximum value."""
        return self._max

    def to_dict(self) -> dict[str, Any]:
        """See :meth:`Domain.to_dict`."""
        return {"type": self.type_name, "min": self._min, "max": self._max}

    def __repr__(self) -> str:
        return f"Integer(min={self._min!r}, max={self._max!r})"


class Discrete(Domain):
    """Defines a discrete hyperparameter with a list of possible floating-point values.

    Numbers may also be given as numeric strings (``Discrete(["5", "10"])``); they are kept
    as written, so the trainer receives ``--epochs 5`` rather than ``--epochs 5.0``.
    """

    type_name: ClassVar[str] = "discrete"

    def __init__(self, values: Sequence[float | str]) -> None:
        """Creates the domain.

        Args:
            values: List of allowed values: numbers or numeric strings, no duplicates.

        Raises:
            ModelValidationException: The list is empty, a value is not a finite number,
                or two values are equal.
        """
        kept: list[float | str] = []
        seen: set[float] = set()
        for value in _values_list(values, "Discrete"):
            if isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    raise ModelValidationException(
                        f"Discrete values must be numbers, got {value!r}"
                    )
                kept.append(value.strip())
            else:
                number = _finite_float(value, "Discrete value")
                kept.append(int(value) if isinstance(value, Integral) else number)
            if number in seen:
                raise ModelValidationException(f"Discrete values contain {value!r} twice")
            seen.add(number)
        self._values = tuple(kept)

    @property
    def values(self) -> list[float | str]:
        """The allowed values (a copy)."""
        return list(self._values)

    def to_dict(self) -> dict[str, Any]:
        """See :meth:`Domain.to_dict`."""
        return {"type": self.type_name, "values": list(self._values)}

    def __repr__(self) -> str:
        return f"Discrete(values={list(self._values)!r})"


class Categorical(Domain):
    """Defines a categorical hyperparameter with a list of possible string values."""

    type_name: ClassVar[str] = "categorical"

    def __init__(self, values: Sequence[str]) -> None:
        """Creates the domain.

        Args:
            values: List of allowed string values, no duplicates.

        Raises:
            ModelValidationException: The list is empty, a value is not a string, or a
                value appears twice.
        """
        kept = _values_list(values, "Categorical")
        for value in kept:
            if not isinstance(value, str):
                raise ModelValidationException(f"Categorical values must be strings, got {value!r}")
        if len(set(kept)) != len(kept):
            duplicates = sorted({value for value in kept if kept.count(value) > 1})
            raise ModelValidationException(f"Categorical values contain duplicates: {duplicates}")
        self._values: tuple[str, ...] = tuple(kept)

    @property
    def values(self) -> list[str]:
        """The allowed values (a copy)."""
        return list(self._values)

    def to_dict(self) -> dict[str, Any]:
        """See :meth:`Domain.to_dict`."""
        return {"type": self.type_name, "values": list(self._values)}

    def __repr__(self) -> str:
        return f"Categorical(values={list(self._values)!r})"
