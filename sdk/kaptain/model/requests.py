"""Checks of the arguments of ``train`` (and friends), before anything is created."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kaptain.constants import DEFAULT_TIMEOUT_SECONDS
from kaptain.envs import get_env_bool, get_env_optional_int
from kaptain.exceptions import InvalidModelProperty, ModelValidationException


def require_text(value: object, field: str) -> str:
    """A model property that must be a non-blank string.

    Raises:
        InvalidModelProperty: None, not a string, or blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidModelProperty(
            f"Model property {field!r} must be a non-blank string, got {value!r}"
        )
    return value.strip()


def text_list(values: object, field: str) -> list[object]:
    """A list property (``extra_files``, ``labels``); a bare string is a mistake.

    Raises:
        InvalidModelProperty: Not a list or tuple.
    """
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise InvalidModelProperty(
            f"Model property {field!r} must be a list of strings, got {values!r}"
        )
    return list(values)


def text_dict(values: object, field: str) -> dict[str, str]:
    """A ``{str: str}`` property such as ``serving_config``.

    Raises:
        InvalidModelProperty: Not a dict of strings.
    """
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise InvalidModelProperty(f"Model property {field!r} must map strings to strings")
    return dict(values)


def flag_values(values: Mapping[Any, Any] | None, what: str) -> dict[str, str]:
    """Hyperparameters or args as ``{flag: str(value)}``.

    Raises:
        ModelValidationException: Not a mapping, a key that is not a non-blank string
            without whitespace, or a None value.
    """
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ModelValidationException(f"{what} must be a dict of flags, got {values!r}")
    flags: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key.strip("-").strip() or any(c.isspace() for c in key):
            raise ModelValidationException(
                f"{what} keys must be flag strings such as '--epochs', got {key!r}"
            )
        if value is None:
            raise ModelValidationException(f"{what}[{key!r}] has no value")
        flags[key] = str(value)
    return flags


def positive_int(value: object, field: str, *, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools are not integers here).

    Raises:
        ModelValidationException: Anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelValidationException(f"{field} must be an integer >= {minimum}, got {value!r}")
    return value


def timeout_seconds(value: object) -> int:
    """``timeout``: a positive number of seconds (floats rounded up; None: the default).

    Raises:
        ModelValidationException: Not a positive finite number.
    """
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelValidationException(f"timeout must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ModelValidationException(f"timeout must be positive, got {value!r}")
    return math.ceil(value)


def ttl_seconds(value: int | None) -> int | None:
    """``ttl_seconds_after_finished``, defaulting to ``KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED``."""
    if value is None:
        return get_env_optional_int("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED")
    return positive_int(value, "ttl_seconds_after_finished", minimum=0)


def flag(value: object, field: str) -> bool:
    """A boolean argument (``"no"`` is not a boolean).

    Raises:
        ModelValidationException: Not a bool.
    """
    if not isinstance(value, bool):
        raise ModelValidationException(f"{field} must be True or False, got {value!r}")
    return value


def force_cleanup(value: bool | None) -> bool:
    """``force_cleanup``, defaulting to ``KAPTAIN_SDK_FORCE_CLEANUP``."""
    if value is None:
        return get_env_bool("KAPTAIN_SDK_FORCE_CLEANUP")
    return flag(value, "force_cleanup")


def verbose(value: bool | None) -> bool:
    """``verbose``, defaulting to ``KAPTAIN_SDK_VERBOSE``."""
    return get_env_bool("KAPTAIN_SDK_VERBOSE") if value is None else flag(value, "verbose")
