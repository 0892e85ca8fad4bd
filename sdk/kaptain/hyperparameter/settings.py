"""Katib ``algorithm_setting`` names, checked before a tuning run starts.

Pure: no optuna here. :func:`validate_algorithm` runs in the SDK (so a bad setting fails at
``Model.tune`` rather than on a worker) and again in the suggestion activity, which turns
the canonical settings it returns into samplers.

Supported algorithms, their settings and what each becomes on the worker:

=====================  =====================  ==========================================
Algorithm              Setting (Katib name)   Meaning
=====================  =====================  ==========================================
random                 random_state           seed (replaces the experiment's seed)
grid                   random_state           seed of the order the grid is walked in
grid                   grid_points            values per ``double`` parameter (int >= 2)
bayesianoptimization   random_state           seed
bayesianoptimization   n_initial_points       optuna GPSampler ``n_startup_trials``
tpe                    random_state           seed
tpe                    n_ei_candidates        TPESampler ``n_ei_candidates``
                       (or n_EI_candidates)
tpe                    n_startup_trials       TPESampler ``n_startup_trials``
multivariate-tpe       as tpe                 TPESampler with ``multivariate=True``
cmaes                  random_state           seed
cmaes                  sigma                  initial step size, in the search space
                                              scaled to [0, 1] per dimension (default 1/6)
cmaes                  restart_strategy       only ``none``
sobol                  random_state           seed of the scrambled Sobol' sequence
=====================  =====================  ==========================================

Grid: Katib needs a ``step`` for a ``double`` parameter of a grid search; a Kaptain
:class:`~kaptain.hyperparameter.domains.Double` has none, so a grid over one needs the
``grid_points`` setting: that many evenly spaced values from min to max, both included
(``grid_points=5`` over ``Double(0, 1)`` tries 0, 0.25, 0.5, 0.75, 1). There is no default,
just as Katib has no default step. ``int`` parameters take every integer from min to max;
``discrete`` and ``categorical`` ones take each of their values. A grid has at most
:data:`MAX_GRID_SIZE` points.

CMA-ES searches ``double`` and ``int`` parameters (at least one); it cannot search
``categorical`` ones, so those are refused. ``discrete`` parameters are drawn at random
beside it, as Katib does.

Hyperband samples at random and stops trials early (asynchronous successive halving): at
each rung of ``min_resource * eta**k`` reports of the main objective (below ``max_resource``),
a trial not in the best ``1/eta`` of the trials that reached that rung is stopped. Settings:
``eta`` (default 3), ``min_resource`` (default 1), ``max_resource`` (default: no limit).

Not supported: TPE's
``gamma`` and ``prior_weight`` (optuna deprecated both in 4.9 and removes them in 6);
CMA-ES's ``ipop``/``bipop`` restarts (optuna 5 dropped them); scikit-optimize's
``base_estimator``, ``acq_func`` and ``acq_optimizer`` (bayesianoptimization is optuna's
Gaussian-process sampler, with its own log-EI acquisition).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from kaptain.exceptions import UnsupportedAlgorithmException
from kaptain.hyperparameter.algorithms import Algorithm

if TYPE_CHECKING:
    from kaptain.contracts.tune import ParameterSpec

__all__ = [
    "DEFAULT_ALGORITHM",
    "MAX_GRID_SIZE",
    "SUPPORTED_ALGORITHMS",
    "grid_size",
    "supported_settings",
    "validate_algorithm",
]

DEFAULT_ALGORITHM: Final = Algorithm.RANDOM.value
"""The algorithm of a tuning run that names none."""

MAX_GRID_SIZE: Final = 100_000
"""Most points a grid search may have."""


@dataclass(frozen=True)
class _Setting:
    """How one setting's value is checked and written (canonically, as a string)."""

    canonical: Callable[[object], str]
    """Returns the value as a canonical string, or raises ValueError saying what is wrong."""


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("must be an integer")


def _as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _int_at_least(low: int) -> _Setting:
    def canonical(value: object) -> str:
        number = _as_int(value)
        if number < low:
            raise ValueError(f"must be an integer >= {low}")
        return str(number)

    return _Setting(canonical)


def _positive_float() -> _Setting:
    def canonical(value: object) -> str:
        number = _as_float(value)
        if number <= 0:
            raise ValueError("must be a number > 0")
        return repr(number)

    return _Setting(canonical)


def _one_of(*choices: str, why: str) -> _Setting:
    def canonical(value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text is None or text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)} ({why})")
        return text

    return _Setting(canonical)


_SEED = _int_at_least(0)
_TPE: Final = {
    "random_state": _SEED,
    "n_ei_candidates": _int_at_least(1),
    "n_startup_trials": _int_at_least(0),
}
_SETTINGS: Final[dict[str, dict[str, _Setting]]] = {
    Algorithm.RANDOM.value: {"random_state": _SEED},
    Algorithm.GRID.value: {"random_state": _SEED, "grid_points": _int_at_least(2)},
    Algorithm.BAYESIAN_OPTIMIZATION.value: {
        "random_state": _SEED,
        "n_initial_points": _int_at_least(1),
    },
    Algorithm.TPE.value: _TPE,
    Algorithm.MULTIVARIATE_TPE.value: _TPE,
    Algorithm.CMAES.value: {
        "random_state": _SEED,
        "sigma": _positive_float(),
        "restart_strategy": _one_of("none", why="optuna 5 no longer restarts CMA-ES"),
    },
    Algorithm.SOBOL.value: {"random_state": _SEED},
    Algorithm.HYPERBAND.value: {
        "random_state": _SEED,
        "eta": _int_at_least(2),
        "min_resource": _int_at_least(1),
        "max_resource": _int_at_least(1),
    },
}
_ALIASES: Final = {"n_EI_candidates": "n_ei_candidates"}
_NOT_HONOURED: Final = {
    "gamma": "optuna deprecated it in 4.9 and removes it in 6",
    "prior_weight": "optuna deprecated it in 4.9 and removes it in 6",
    "base_estimator": "a scikit-optimize setting; bayesianoptimization is optuna's GPSampler",
    "acq_func": "a scikit-optimize setting; GPSampler uses its own log-EI acquisition",
    "acq_optimizer": "a scikit-optimize setting; GPSampler optimizes its acquisition itself",
}

SUPPORTED_ALGORITHMS: Final = tuple(_SETTINGS)
"""Katib names of the algorithms this release runs."""


def supported_settings(algorithm: str) -> tuple[str, ...]:
    """The setting names an algorithm accepts (canonical names; aliases are not listed).

    Args:
        algorithm: A name from :data:`SUPPORTED_ALGORITHMS`.

    Returns:
        The names, sorted.
    """
    return tuple(sorted(_SETTINGS[algorithm]))


def validate_algorithm(
    algorithm: str | Algorithm | None,
    setting: Mapping[str, object] | None,
    parameters: Sequence[ParameterSpec],
) -> tuple[str, dict[str, str]]:
    """Checks an algorithm, its Katib settings and the search space it will run on.

    Args:
        algorithm: Katib algorithm name, case-insensitive, or None for ``random``.
        setting: Katib ``algorithm_setting``: name -> value (a string, or a number).
        parameters: The search space.

    Returns:
        The canonical algorithm name and its settings, canonical names -> values as strings
        (``{"n_EI_candidates": 12}`` -> ``{"n_ei_candidates": "12"}``).

    Raises:
        UnsupportedAlgorithmException: The algorithm is unknown or not supported, a setting
            is unknown to it or has a bad value, or the search space does not suit it.
    """
    name = _algorithm_name(algorithm)
    settings = _canonical_settings(name, setting or {})
    if name == Algorithm.GRID.value:
        _check_grid(settings, parameters)
    elif name == Algorithm.CMAES.value:
        _check_cmaes(parameters)
    return name, settings


def grid_size(parameters: Sequence[ParameterSpec], grid_points: int | None) -> int:
    """The number of points of a grid over ``parameters``.

    Args:
        parameters: The search space.
        grid_points: Values per ``double`` parameter (None: the space must have none).

    Returns:
        The product of each parameter's number of values.
    """
    size = 1
    for spec in parameters:
        if spec.type == "double":
            size *= grid_points or 0
        elif spec.type == "int":
            size *= max(0, int(spec.max or 0) - int(spec.min or 0) + 1)
        else:
            size *= len(spec.values)
    return size


def _algorithm_name(algorithm: str | Algorithm | None) -> str:
    if algorithm is None:
        return DEFAULT_ALGORITHM
    name = algorithm.value if isinstance(algorithm, Algorithm) else str(algorithm).strip().lower()
    if name not in _SETTINGS:
        raise UnsupportedAlgorithmException(
            f"Unsupported algorithm {algorithm!r}; supported algorithms: "
            f"{', '.join(SUPPORTED_ALGORITHMS)}"
        )
    return name


def _canonical_settings(algorithm: str, setting: Mapping[str, object]) -> dict[str, str]:
    accepted = _SETTINGS[algorithm]
    result: dict[str, str] = {}
    for given, value in setting.items():
        key = _ALIASES.get(given, given)
        if key not in accepted:
            why = f" ({_NOT_HONOURED[key]})" if key in _NOT_HONOURED else ""
            raise UnsupportedAlgorithmException(
                f"Unsupported setting {given!r} for algorithm {algorithm}{why}; supported "
                f"settings: {', '.join(supported_settings(algorithm))}"
            )
        if key in result:
            raise UnsupportedAlgorithmException(
                f"Setting {key!r} of algorithm {algorithm} is given twice"
            )
        try:
            result[key] = accepted[key].canonical(value)
        except ValueError as error:
            raise UnsupportedAlgorithmException(
                f"Setting {given!r} of algorithm {algorithm} {error}, got {value!r}"
            ) from None
    return result


def _check_grid(settings: Mapping[str, str], parameters: Sequence[ParameterSpec]) -> None:
    doubles = [spec.name for spec in parameters if spec.type == "double"]
    points = int(settings["grid_points"]) if "grid_points" in settings else None
    if doubles and points is None:
        raise UnsupportedAlgorithmException(
            f"grid needs the setting grid_points (values per double parameter, >= 2) to "
            f"search the double parameter(s) {', '.join(doubles)}"
        )
    size = grid_size(parameters, points)
    if size > MAX_GRID_SIZE:
        raise UnsupportedAlgorithmException(
            f"The grid has {size} points, more than {MAX_GRID_SIZE}; use fewer grid_points "
            "or smaller int ranges"
        )


def _check_cmaes(parameters: Sequence[ParameterSpec]) -> None:
    categorical = [spec.name for spec in parameters if spec.type == "categorical"]
    if categorical:
        raise UnsupportedAlgorithmException(
            f"cmaes cannot search categorical parameters ({', '.join(categorical)}); use tpe, "
            "multivariate-tpe, bayesianoptimization, random, sobol or grid"
        )
    if not any(spec.type in ("double", "int") for spec in parameters):
        raise UnsupportedAlgorithmException(
            "cmaes needs at least one double or int parameter to search"
        )
