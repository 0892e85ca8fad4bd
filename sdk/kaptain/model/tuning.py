"""Checks and conversions of ``Model.tune`` arguments, before anything is created."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from kaptain.contracts import ParameterSpec, TrialRecord
from kaptain.exceptions import ModelValidationException
from kaptain.hyperparameter.domains import Domain
from kaptain.model.requests import flag_values

_METRIC = re.compile(r"^[\w|-]+$")


def parameter_specs(hyperparameters: Mapping[Any, Any]) -> list[ParameterSpec]:
    """The search space as wire specs.

    Raises:
        ModelValidationException: Empty, a key that is not a flag, or a value that is not a
            Domain (Double, Integer, Discrete, Categorical).
    """
    if not isinstance(hyperparameters, Mapping) or not hyperparameters:
        raise ModelValidationException(
            "hyperparameters must be a non-empty dict of flag -> Domain, e.g. "
            "{'--lr': Double(0.01, 0.5)}"
        )
    flag_values({key: "x" for key in hyperparameters}, "hyperparameters")
    specs = []
    for name, domain in hyperparameters.items():
        if not isinstance(domain, Domain):
            raise ModelValidationException(
                f"hyperparameters[{name!r}] must be a Double, Integer, Discrete or Categorical "
                f"domain, got {domain!r}"
            )
        shape = domain.to_dict()
        specs.append(
            ParameterSpec(
                name=name,
                type=shape["type"],
                min=shape.get("min"),
                max=shape.get("max"),
                values=[str(v) for v in shape.get("values", [])],
            )
        )
    return specs


def objective_names(objectives: object) -> list[str]:
    """Metric names; the first drives the search.

    Raises:
        ModelValidationException: Empty, or a name a ``name=value`` line could not carry.
    """
    if not isinstance(objectives, list | tuple) or not objectives:
        raise ModelValidationException("objectives must be a non-empty list of metric names")
    for name in objectives:
        if not isinstance(name, str) or not _METRIC.match(name):
            raise ModelValidationException(f"objective {name!r} is not a metric name")
    return list(objectives)


def objective_direction(objective_type: object) -> str:
    """``maximize`` or ``minimize``.

    Raises:
        ModelValidationException: Anything else.
    """
    if objective_type not in ("maximize", "minimize"):
        raise ModelValidationException(
            f"objective_type must be 'maximize' or 'minimize', got {objective_type!r}"
        )
    return str(objective_type)


def goal(value: object) -> float | None:
    """``objective_goal``: None or a finite number.

    Raises:
        ModelValidationException: Anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelValidationException(f"objective_goal must be a number, got {value!r}")
    return float(value)


def trial_table(trials: list[TrialRecord]) -> list[dict[str, Any]]:
    """One flat row per trial: number, state, objective, hyperparameters, latest metrics."""
    rows = []
    for trial in trials:
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": trial.state,
            "objective": trial.objective,
        }
        row.update(trial.hyperparameters)
        row.update({name: summary.latest for name, summary in trial.metrics.items()})
        if trial.message:
            row["message"] = trial.message
        rows.append(row)
    return rows
