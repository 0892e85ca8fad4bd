"""Environment variables that tune the SDK, read at access time.

The module replaces its own class with :class:`_M`, so every attribute below is a property:
reading ``kaptain.envs.VERBOSE`` reads ``KAPTAIN_SDK_VERBOSE`` *now*, and assigning
``kaptain.envs.VERBOSE = True`` writes ``os.environ``. Nothing is parsed at import time.

Read them through the module (``from kaptain import envs; envs.VERBOSE``): ``from
kaptain.envs import VERBOSE`` copies the value once, at that import.

A boolean variable is true when its value is one of ``true``, ``yes``, ``y`` or ``1``
(case-insensitive); any other non-blank value is false, and an unset or blank variable
takes the default. The typed helpers (:func:`get_env_bool`, :func:`get_env_str`,
:func:`get_env_optional_int` and their setters) apply the same rules to any variable.

Attributes:
    VERBOSE: ``KAPTAIN_SDK_VERBOSE`` (default False): show pod logs while waiting.
    DEBUG: ``KAPTAIN_SDK_DEBUG`` (default False): show stack traces of uncaught errors.
    LOG_TIMEFORMAT: ``KAPTAIN_SDK_LOG_TIMEFORMAT`` (default ``%Y-%m-%d %H:%M:%S``).
    DOCKER_BUILDER_CPU_LIMIT: CPU limit of the image builder (default ``1``).
    DOCKER_BUILDER_MEM_LIMIT: memory limit of the image builder (default ``1G``).
    DOCKER_BUILDER_CPU_REQUEST: CPU request of the image builder (default ``500m``).
    DOCKER_BUILDER_MEM_REQUEST: memory request of the image builder (default ``500M``).
    KAPTAIN_SDK_DELETE_EXPERIMENT: delete the tuning experiment record when done
        (default False).
    KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED: seconds after which a finished training job
        is deleted; None (unset) keeps it.
    KAPTAIN_SDK_FORCE_CLEANUP: delete finished training jobs at once, ignoring the TTL
        (default False).
"""

from __future__ import annotations

import os
import sys
import types
from typing import TYPE_CHECKING, Final

from kaptain import constants
from kaptain.exceptions import ModelValidationException

__all__ = [
    "DEFAULT_LOG_TIMEFORMAT",
    "TRUE_VALUES",
    "EnvVar",
    "get_env_bool",
    "get_env_optional_int",
    "get_env_str",
    "is_true",
    "set_env_bool",
    "set_env_optional_int",
    "set_env_str",
]

TRUE_VALUES: Final = frozenset({"true", "yes", "y", "1"})
"""Lower-cased values that make a boolean variable true."""

DEFAULT_LOG_TIMEFORMAT: Final = "%Y-%m-%d %H:%M:%S"
"""Default of ``KAPTAIN_SDK_LOG_TIMEFORMAT``."""


class EnvVar:
    """Names of the environment variables behind this module's properties."""

    VERBOSE: Final = "KAPTAIN_SDK_VERBOSE"
    DEBUG: Final = "KAPTAIN_SDK_DEBUG"
    LOG_TIMEFORMAT: Final = "KAPTAIN_SDK_LOG_TIMEFORMAT"
    DOCKER_BUILDER_CPU_LIMIT: Final = "DOCKER_BUILDER_CPU_LIMIT"
    DOCKER_BUILDER_MEM_LIMIT: Final = "DOCKER_BUILDER_MEM_LIMIT"
    DOCKER_BUILDER_CPU_REQUEST: Final = "DOCKER_BUILDER_CPU_REQUEST"
    DOCKER_BUILDER_MEM_REQUEST: Final = "DOCKER_BUILDER_MEM_REQUEST"
    DELETE_EXPERIMENT: Final = "KAPTAIN_SDK_DELETE_EXPERIMENT"
    TTL_SECONDS_AFTER_FINISHED: Final = "KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED"
    FORCE_CLEANUP: Final = "KAPTAIN_SDK_FORCE_CLEANUP"


def is_true(value: str | None) -> bool:
    """Whether a variable's value means true (``true``/``yes``/``y``/``1``, any case).

    Args:
        value: The raw value, or None when unset.

    Returns:
        True for a true value, False otherwise (including None).
    """
    return value is not None and value.strip().lower() in TRUE_VALUES


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value


def get_env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean variable now.

    Args:
        name: Variable name.
        default: Value when the variable is unset or blank.

    Returns:
        The variable's truth value, or ``default``.
    """
    value = _raw(name)
    return default if value is None else is_true(value)


def set_env_bool(name: str, value: bool | None) -> None:
    """Write a boolean variable as ``true``/``false``; None removes it.

    Args:
        name: Variable name.
        value: The value to store.

    Raises:
        ModelValidationException: ``value`` is not a bool or None.
    """
    if value is None:
        os.environ.pop(name, None)
        return
    if not isinstance(value, bool):
        raise ModelValidationException(f"{name} must be a bool, got {value!r}")
    os.environ[name] = "true" if value else "false"


def get_env_str(name: str, default: str) -> str:
    """Read a string variable now.

    Args:
        name: Variable name.
        default: Value when the variable is unset or blank.

    Returns:
        The variable's value, or ``default``.
    """
    value = _raw(name)
    return default if value is None else value


def set_env_str(name: str, value: str | float | None) -> None:
    """Write a string variable; numbers are stringified and None removes it.

    Args:
        name: Variable name.
        value: The value to store.

    Raises:
        ModelValidationException: ``value`` is blank or of another type.
    """
    if value is None:
        os.environ.pop(name, None)
        return
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ModelValidationException(f"{name} must be a string, got {value!r}")
    text = str(value)
    if not text.strip():
        raise ModelValidationException(f"{name} must not be blank")
    os.environ[name] = text


def get_env_optional_int(name: str) -> int | None:
    """Read a non-negative integer variable now.

    Args:
        name: Variable name.

    Returns:
        The integer, or None when the variable is unset or blank.

    Raises:
        ModelValidationException: The value is not a non-negative integer.
    """
    value = _raw(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ModelValidationException(
            f"{name} must be a non-negative integer, got {value!r}"
        ) from None
    if number < 0:
        raise ModelValidationException(f"{name} must be a non-negative integer, got {value!r}")
    return number


def set_env_optional_int(name: str, value: int | None) -> None:
    """Write a non-negative integer variable; None removes it.

    Args:
        name: Variable name.
        value: The value to store.

    Raises:
        ModelValidationException: ``value`` is not a non-negative int.
    """
    if value is None:
        os.environ.pop(name, None)
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelValidationException(f"{name} must be a non-negative integer, got {value!r}")
    os.environ[name] = str(value)


class _M(types.ModuleType):
    """The environment variables that can change anytime by the user."""

    @property
    def VERBOSE(self) -> bool:
        """``KAPTAIN_SDK_VERBOSE``: show pod logs unless a call overrides it."""
        return get_env_bool(EnvVar.VERBOSE)

    @VERBOSE.setter
    def VERBOSE(self, value: bool) -> None:
        set_env_bool(EnvVar.VERBOSE, value)

    @property
    def DEBUG(self) -> bool:
        """``KAPTAIN_SDK_DEBUG``: show stack traces of uncaught exceptions."""
        return get_env_bool(EnvVar.DEBUG)

    @DEBUG.setter
    def DEBUG(self, value: bool) -> None:
        set_env_bool(EnvVar.DEBUG, value)

    @property
    def LOG_TIMEFORMAT(self) -> str:
        """``KAPTAIN_SDK_LOG_TIMEFORMAT``: ``strftime`` format of log timestamps."""
        return get_env_str(EnvVar.LOG_TIMEFORMAT, DEFAULT_LOG_TIMEFORMAT)

    @LOG_TIMEFORMAT.setter
    def LOG_TIMEFORMAT(self, value: str) -> None:
        set_env_str(EnvVar.LOG_TIMEFORMAT, value)

    @property
    def DOCKER_BUILDER_CPU_LIMIT(self) -> str:
        """CPU limit of the image builder job."""
        return get_env_str(
            EnvVar.DOCKER_BUILDER_CPU_LIMIT, constants.DEFAULT_DOCKER_BUILDER_CPU_LIMIT
        )

    @DOCKER_BUILDER_CPU_LIMIT.setter
    def DOCKER_BUILDER_CPU_LIMIT(self, cpu_limit: str) -> None:
        set_env_str(EnvVar.DOCKER_BUILDER_CPU_LIMIT, cpu_limit)

    @property
    def DOCKER_BUILDER_MEM_LIMIT(self) -> str:
        """Memory limit of the image builder job."""
        return get_env_str(
            EnvVar.DOCKER_BUILDER_MEM_LIMIT, constants.DEFAULT_DOCKER_BUILDER_MEM_LIMIT
        )

    @DOCKER_BUILDER_MEM_LIMIT.setter
    def DOCKER_BUILDER_MEM_LIMIT(self, mem_limit: str) -> None:
        set_env_str(EnvVar.DOCKER_BUILDER_MEM_LIMIT, mem_limit)

    @property
    def DOCKER_BUILDER_CPU_REQUEST(self) -> str:
        """CPU request of the image builder job."""
        return get_env_str(
            EnvVar.DOCKER_BUILDER_CPU_REQUEST, constants.DEFAULT_DOCKER_BUILDER_CPU_REQUEST
        )

    @DOCKER_BUILDER_CPU_REQUEST.setter
    def DOCKER_BUILDER_CPU_REQUEST(self, cpu_request: str) -> None:
        set_env_str(EnvVar.DOCKER_BUILDER_CPU_REQUEST, cpu_request)

    @property
    def DOCKER_BUILDER_MEM_REQUEST(self) -> str:
        """Memory request of the image builder job."""
        return get_env_str(
            EnvVar.DOCKER_BUILDER_MEM_REQUEST, constants.DEFAULT_DOCKER_BUILDER_MEM_REQUEST
        )

    @DOCKER_BUILDER_MEM_REQUEST.setter
    def DOCKER_BUILDER_MEM_REQUEST(self, mem_request: str) -> None:
        set_env_str(EnvVar.DOCKER_BUILDER_MEM_REQUEST, mem_request)

    @property
    def KAPTAIN_SDK_DELETE_EXPERIMENT(self) -> bool:
        """Delete the experiment record when tuning completes."""
        return get_env_bool(EnvVar.DELETE_EXPERIMENT)

    @KAPTAIN_SDK_DELETE_EXPERIMENT.setter
    def KAPTAIN_SDK_DELETE_EXPERIMENT(self, value: bool) -> None:
        set_env_bool(EnvVar.DELETE_EXPERIMENT, value)

    @property
    def KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED(self) -> int | None:
        """Seconds after which a completed training job is deleted (None: kept)."""
        return get_env_optional_int(EnvVar.TTL_SECONDS_AFTER_FINISHED)

    @KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED.setter
    def KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED(self, ttl_seconds: int | None) -> None:
        set_env_optional_int(EnvVar.TTL_SECONDS_AFTER_FINISHED, ttl_seconds)

    @property
    def KAPTAIN_SDK_FORCE_CLEANUP(self) -> bool:
        """Delete completed training jobs at once, ignoring the TTL."""
        return get_env_bool(EnvVar.FORCE_CLEANUP)

    @KAPTAIN_SDK_FORCE_CLEANUP.setter
    def KAPTAIN_SDK_FORCE_CLEANUP(self, value: bool) -> None:
        set_env_bool(EnvVar.FORCE_CLEANUP, value)


if TYPE_CHECKING:
    # What type checkers see; at run time the properties of ``_M`` answer.
    VERBOSE: bool
    DEBUG: bool
    LOG_TIMEFORMAT: str
    DOCKER_BUILDER_CPU_LIMIT: str
    DOCKER_BUILDER_MEM_LIMIT: str
    DOCKER_BUILDER_CPU_REQUEST: str
    DOCKER_BUILDER_MEM_REQUEST: str
    KAPTAIN_SDK_DELETE_EXPERIMENT: bool
    KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED: int | None
    KAPTAIN_SDK_FORCE_CLEANUP: bool

sys.modules[__name__].__class__ = _M
