"""Search spaces and samplers: ``ParameterSpec`` and Katib settings -> optuna.

Each sampler is built for one suggestion. Samplers that draw random numbers are seeded with
:func:`stable_seed` of the experiment's seed and the trial number, so trial 7 never repeats
trial 6's draws, and asking again for trial 7 repeats trial 7's. Two samplers are Kaptain's
own, since optuna keeps their state in study attributes that a replayed history lacks:
:class:`SobolSampler` and :class:`HistoryCmaEsSampler`.
"""

from __future__ import annotations

import abc
import hashlib
import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, GPSampler, RandomSampler, TPESampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from kaptain.contracts.tune import ParameterSpec
from kaptain.exceptions import ModelValidationException
from kaptain.hyperparameter.algorithms import Algorithm

ParamValue = float | int | str
"""A hyperparameter value as optuna holds it."""

_TPE_STARTUP = 10
_TPE_CANDIDATES = 24
_GP_STARTUP = 10


def stable_seed(*parts: object) -> int:
    """A 32-bit seed from ``parts``, the same in every process (unlike ``hash``)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def distributions(parameters: Sequence[ParameterSpec]) -> dict[str, BaseDistribution]:
    """The optuna distribution of each parameter, in the order given.

    ``discrete`` values stay strings (a categorical choice), so ``--epochs 5`` stays ``5``.

    Raises:
        ModelValidationException: A name repeats, or a parameter lacks its bounds or values.
    """
    space: dict[str, BaseDistribution] = {}
    for spec in parameters:
        if spec.name in space:
            raise ModelValidationException(f"Parameter {spec.name} appears twice")
        if spec.type in ("double", "int"):
            if spec.min is None or spec.max is None or spec.min > spec.max:
                raise ModelValidationException(f"Parameter {spec.name} needs min <= max")
            space[spec.name] = (
                FloatDistribution(spec.min, spec.max)
                if spec.type == "double"
                else IntDistribution(int(spec.min), int(spec.max))
            )
        else:
            if not spec.values or len(set(spec.values)) != len(spec.values):
                raise ModelValidationException(f"Parameter {spec.name} needs distinct values")
            space[spec.name] = CategoricalDistribution(spec.values)
    return space


def parse_value(spec: ParameterSpec, text: str | None) -> ParamValue | None:
    """A trial's flag value as optuna holds it, or None when it is not in the space."""
    if text is None:
        return None
    if spec.type in ("double", "int"):
        try:
            number = float(text)
        except ValueError:
            return None
        low = spec.min if spec.min is not None else -math.inf
        high = spec.max if spec.max is not None else math.inf
        if not low <= number <= high:
            return None
        if spec.type == "double":
            return number
        return int(number) if number.is_integer() else None
    if text in spec.values:
        return text
    return _same_number(text, spec.values) if spec.type == "discrete" else None


def format_value(spec: ParameterSpec, value: ParamValue) -> str:
    """A suggested value as the flag's string: ``repr`` of a float, an int, a choice as is."""
    if spec.type == "double":
        return repr(float(value))
    if spec.type == "int":
        return str(int(value))
    return str(value)


def build_sampler(
    algorithm: str,
    settings: Mapping[str, str],
    *,
    seed: int,
    number: int,
    space: Mapping[str, BaseDistribution],
    direction: StudyDirection,
) -> BaseSampler:
    """The sampler of one suggestion.

    Args:
        algorithm: Canonical algorithm name (not ``grid``, which needs no sampler).
        settings: Canonical settings (:func:`kaptain.hyperparameter.settings.validate_algorithm`).
        seed: The experiment's seed; a ``random_state`` setting replaces it.
        number: The trial being suggested.
        space: The search space.
        direction: The study's direction.

    Returns:
        A sampler seeded for trial ``number``.
    """
    base = int(settings.get("random_state", seed))
    trial_seed = stable_seed(base, number)
    if algorithm in (Algorithm.RANDOM.value, Algorithm.HYPERBAND.value):
        return RandomSampler(seed=trial_seed)  # hyperband: random search + early stopping
    if algorithm in (Algorithm.TPE.value, Algorithm.MULTIVARIATE_TPE.value):
        return TPESampler(
            seed=trial_seed,
            n_startup_trials=int(settings.get("n_startup_trials", _TPE_STARTUP)),
            n_ei_candidates=int(settings.get("n_ei_candidates", _TPE_CANDIDATES)),
            multivariate=algorithm == Algorithm.MULTIVARIATE_TPE.value,
            constant_liar=True,
        )
    if algorithm == Algorithm.BAYESIAN_OPTIMIZATION.value:
        startup = int(settings.get("n_initial_points", _GP_STARTUP))
        return GPSampler(seed=trial_seed, n_startup_trials=startup)
    if algorithm == Algorithm.CMAES.value:
        sigma = float(settings["sigma"]) if "sigma" in settings else None
        return HistoryCmaEsSampler(space, direction=direction, seed=trial_seed, sigma=sigma)
    if algorithm == Algorithm.SOBOL.value:
        return SobolSampler(space, seed=stable_seed(base, "sobol"), index=number)
    raise ValueError(f"No sampler for algorithm {algorithm!r}")


class _UnitCubeSampler(BaseSampler):
    """A sampler that draws points of the unit cube, scaled into each distribution.

    Subclasses give the relative search space and :meth:`_unit_point`; parameters outside
    that space are drawn by a seeded random fallback.
    """

    def __init__(self, space: Mapping[str, BaseDistribution], *, fallback_seed: int) -> None:
        self._relative_space = dict(space)
        self._fallback = RandomSampler(seed=fallback_seed)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The parameters this sampler searches together."""
        return dict(self._relative_space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """A point of the unit cube, scaled into each distribution."""
        if not search_space:
            return {}
        unit = self._unit_point(study, search_space)
        return {
            name: _from_unit(dist, u)
            for (name, dist), u in zip(search_space.items(), unit, strict=True)
        }

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """A random value, for a parameter outside the relative space."""
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    @abc.abstractmethod
    def _unit_point(self, study: Study, search_space: dict[str, BaseDistribution]) -> list[float]:
        """One point of the unit cube, a coordinate per parameter of ``search_space``."""


class SobolSampler(_UnitCubeSampler):
    """Trial ``n`` gets point ``n`` of a scrambled Sobol' sequence, whatever ran before.

    optuna's QMCSampler counts its points in a study attribute, which a replayed history
    does not carry; indexing the sequence by trial number needs no count, never repeats a
    point (running trials included), and gives every process the same point.

    Args:
        space: The search space (every parameter is part of the sequence).
        seed: Seed of the scrambling.
        index: Which point of the sequence to return (the trial number).
    """

    def __init__(self, space: Mapping[str, BaseDistribution], *, seed: int, index: int) -> None:
        super().__init__(space, fallback_seed=stable_seed(seed, index))
        self._seed = seed
        self._index = index

    def _unit_point(self, study: Study, search_space: dict[str, BaseDistribution]) -> list[float]:
        """Point ``index`` of the sequence."""
        qmc = importlib.import_module("scipy.stats.qmc")  # slow to import; only sobol needs it
        engine = qmc.Sobol(len(search_space), scramble=True, rng=np.random.default_rng(self._seed))
        if self._index > 0:
            engine.fast_forward(self._index)
        return [float(u) for u in engine.random(1)[0]]


class HistoryCmaEsSampler(_UnitCubeSampler):
    """CMA-ES over the ``double`` and ``int`` parameters, rebuilt from the history each time.

    optuna's CmaEsSampler keeps the evolving distribution in trial attributes that a replayed
    history lacks. Here the completed trials, in trial-number order, are the generations:
    each full run of ``population_size`` of them is told to a fresh ``cmaes.CMA`` (whose
    state depends only on what it is told), and the next point is drawn from the result.
    Failed and running trials teach it nothing. Each dimension is scaled to [0, 1]; an int
    spans [min - 0.5, max + 0.5] and is rounded. Other parameters (``discrete``) are drawn at
    random.

    Args:
        space: The search space.
        direction: The study's direction.
        seed: Seed of the draw (vary it per trial).
        sigma: Initial step size in the scaled space (default 1/6).
    """

    def __init__(
        self,
        space: Mapping[str, BaseDistribution],
        *,
        direction: StudyDirection,
        seed: int,
        sigma: float | None = None,
    ) -> None:
        numeric = {
            name: dist
            for name, dist in space.items()
            if isinstance(dist, FloatDistribution | IntDistribution)
        }
        super().__init__(numeric, fallback_seed=seed)
        self._sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
        self._seed = seed
        self._sigma = sigma if sigma is not None else 1 / 6

    def _unit_point(self, study: Study, search_space: dict[str, BaseDistribution]) -> list[float]:
        """Tell the history's full generations to a fresh CMA, then ask it for a point."""
        cmaes = importlib.import_module("cmaes")
        dims = len(search_space)
        optimizer = cmaes.CMA(
            mean=np.full(dims, 0.5),
            sigma=self._sigma,
            bounds=np.array([[0.0, 1.0]] * dims),
            seed=self._seed,
            n_max_resampling=10 * dims,
        )
        done = sorted(
            study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
            key=lambda done_trial: done_trial.number,
        )
        size = int(optimizer.population_size)
        for start in range(0, len(done) - size + 1, size):
            optimizer.tell([self._solution(search_space, t) for t in done[start : start + size]])
        return [float(x) for x in optimizer.ask()]

    def _solution(
        self, space: Mapping[str, BaseDistribution], trial: FrozenTrial
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float]:
        assert trial.value is not None
        unit = [_to_unit(dist, trial.params[name]) for name, dist in space.items()]
        return np.array(unit, dtype=np.float64), self._sign * trial.value


def _span(dist: BaseDistribution) -> tuple[float, float]:
    """The interval [0, 1] maps onto: an int's bins are centred on its values."""
    if isinstance(dist, IntDistribution):
        return dist.low - 0.5, dist.high + 0.5
    assert isinstance(dist, FloatDistribution)
    return dist.low, dist.high


def _to_unit(dist: BaseDistribution, value: ParamValue) -> float:
    low, high = _span(dist)
    return min(1.0, max(0.0, (float(value) - low) / (high - low)))


def _from_unit(dist: BaseDistribution, unit: float) -> ParamValue:
    """The value at ``unit`` in [0, 1] of a distribution (each int and choice an equal share)."""
    if isinstance(dist, CategoricalDistribution):
        return str(dist.choices[min(int(unit * len(dist.choices)), len(dist.choices) - 1)])
    low, high = _span(dist)
    value = low + unit * (high - low)
    if isinstance(dist, IntDistribution):
        return int(min(max(math.floor(value + 0.5), dist.low), dist.high))
    assert isinstance(dist, FloatDistribution)
    return min(max(value, dist.low), dist.high)


def _same_number(text: str, values: Sequence[str]) -> str | None:
    try:
        number = float(text)
    except ValueError:
        return None
    for value in values:
        try:
            if float(value) == number:
                return value
        except ValueError:
            continue
    return None
