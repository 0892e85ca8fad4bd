"""The suggestion activity: the next trial's hyperparameters, from the request alone.

Each call builds a fresh in-memory optuna study: the sampler seeded for the trial being
suggested (:func:`~kaptain.activities.tuning.samplers.build_sampler`), the history replayed
into it in trial-number order (succeeded -> COMPLETE with the objective, running -> RUNNING,
failed or cancelled or succeeded without a finite objective -> FAIL), then one ``ask``. No
state survives the call, so a retried or re-run activity returns the same suggestion.

The history's own record of the trial being suggested, if any, is left out: asking again
for trial ``n`` after it started still answers what trial ``n`` was given. Records whose
values lie outside the search space (an edited space) are left out of the replay.

Grid search needs no optuna sampler: it walks the grid in an order shuffled by the seed and
returns the first point no trial of the history (of any state, running included) has
taken -- matched by value, so ``5`` and ``5.0`` are the same point -- and ``exhausted``
once none is left.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping, Sequence

import optuna
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.tuning.samplers import (
    ParamValue,
    build_sampler,
    distributions,
    format_value,
    parse_value,
    stable_seed,
)
from kaptain.contracts.names import ActivityName
from kaptain.contracts.tune import ParameterSpec, Suggestion, SuggestRequest, TrialRecord
from kaptain.exceptions import KaptainException, UnsupportedAlgorithmException
from kaptain.hyperparameter.algorithms import Algorithm
from kaptain.hyperparameter.settings import validate_algorithm

__all__ = ["TuningActivities", "suggest"]


def suggest(request: SuggestRequest) -> Suggestion:
    """The hyperparameters of trial ``request.number`` (blocking; CPU only).

    Args:
        request: Algorithm, settings, search space, direction, seed and history.

    Returns:
        The suggestion; for grid, ``exhausted`` once every point is taken.

    Raises:
        UnsupportedAlgorithmException: The algorithm or a setting is not supported.
        ModelValidationException: The search space is malformed.
        ImportError: The algorithm needs a package the worker lacks
            (bayesianoptimization: torch and scipy; sobol: scipy).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    algorithm, settings = validate_algorithm(
        request.algorithm, request.algorithm_setting, request.parameters
    )
    history = sorted(
        (record for record in request.history if record.number != request.number),
        key=lambda record: record.number,
    )
    seed = int(settings.get("random_state", request.seed))
    if algorithm == Algorithm.GRID.value:
        points = int(settings.get("grid_points", "2"))
        point = _next_grid_point(request.parameters, points, seed, history)
        return Suggestion(number=request.number, hyperparameters=point or {}, exhausted=not point)

    space = distributions(request.parameters)
    direction = (
        StudyDirection.MAXIMIZE if request.objective_type == "maximize" else StudyDirection.MINIMIZE
    )
    sampler = build_sampler(
        algorithm, settings, seed=seed, number=request.number, space=space, direction=direction
    )
    study = optuna.create_study(sampler=sampler, direction=direction)
    study.add_trials(
        trial
        for record in history
        if (trial := _replayed(record, request.parameters, space)) is not None
    )
    asked = study.ask(space)
    return Suggestion(
        number=request.number,
        hyperparameters={
            spec.name: format_value(spec, asked.params[spec.name]) for spec in request.parameters
        },
    )


class TuningActivities:
    """The tuning algorithm, run where the worker runs (CPU only, no collaborators)."""

    @activity.defn(name=ActivityName.SUGGEST)
    async def suggest(self, request: SuggestRequest) -> Suggestion:
        """The next trial's hyperparameters; bad algorithms and spaces never retry."""
        try:
            return await asyncio.to_thread(suggest, request)
        except KaptainException as error:
            raise permanent(type(error).__name__, str(error)) from error
        except ImportError as error:
            raise permanent(
                UnsupportedAlgorithmException.__name__,
                f"Algorithm {request.algorithm} needs a package the worker lacks: {error}",
            ) from error


def _replayed(
    record: TrialRecord,
    parameters: Sequence[ParameterSpec],
    space: Mapping[str, BaseDistribution],
) -> FrozenTrial | None:
    params: dict[str, ParamValue] = {}
    for spec in parameters:
        value = parse_value(spec, record.hyperparameters.get(spec.name))
        if value is None:
            return None
        params[spec.name] = value
    objective = record.objective
    if record.state == "running":
        state, value_ = TrialState.RUNNING, None
    elif record.state == "succeeded" and objective is not None and math.isfinite(objective):
        state, value_ = TrialState.COMPLETE, objective
    else:
        state, value_ = TrialState.FAIL, None
    return optuna.trial.create_trial(
        state=state, value=value_, params=params, distributions=dict(space)
    )


def _grid_axes(parameters: Sequence[ParameterSpec], points: int) -> list[list[str]]:
    axes: list[list[str]] = []
    for spec in parameters:
        if spec.type == "double":
            low, high = float(spec.min or 0.0), float(spec.max or 0.0)
            steps = [low + (high - low) * k / (points - 1) for k in range(points - 1)]
            axes.append([repr(float(f"{value:.12g}")) for value in [*steps, high]])
        elif spec.type == "int":
            axes.append([str(value) for value in range(int(spec.min or 0), int(spec.max or 0) + 1)])
        else:
            axes.append(list(spec.values))
    return axes


def _grid_key(parameters: Sequence[ParameterSpec], values: Mapping[str, str]) -> tuple[object, ...]:
    key: list[object] = []
    for spec in parameters:
        text = values.get(spec.name)
        try:
            key.append(text if spec.type == "categorical" or text is None else float(text))
        except ValueError:
            key.append(text)
    return tuple(key)


def _next_grid_point(
    parameters: Sequence[ParameterSpec], points: int, seed: int, history: Sequence[TrialRecord]
) -> dict[str, str] | None:
    axes = _grid_axes(parameters, points)
    taken = {_grid_key(parameters, record.hyperparameters) for record in history}
    order = list(range(math.prod(len(axis) for axis in axes)))
    random.Random(stable_seed(seed, "grid")).shuffle(order)
    for index in order:
        point: dict[str, str] = {}
        rest = index
        for spec, axis in zip(reversed(parameters), reversed(axes), strict=True):
            rest, position = divmod(rest, len(axis))
            point[spec.name] = axis[position]
        if _grid_key(parameters, point) not in taken:
            return {spec.name: point[spec.name] for spec in parameters}
    return None
