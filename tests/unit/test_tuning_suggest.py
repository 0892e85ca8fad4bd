"""The suggestion activity: algorithms, determinism, history replay, grid, setting checks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

import pytest
from temporalio.exceptions import ApplicationError

from kaptain.activities.tuning import TuningActivities, suggest
from kaptain.contracts.tune import (
    ParameterSpec,
    Suggestion,
    SuggestRequest,
    TrialRecord,
    TrialState,
)
from kaptain.exceptions import UnsupportedAlgorithmException
from kaptain.hyperparameter.algorithms import Algorithm
from kaptain.hyperparameter.settings import SUPPORTED_ALGORITHMS, validate_algorithm

LR = ParameterSpec(name="--lr", type="double", min=0.01, max=0.5)
BATCH = ParameterSpec(name="--batch", type="int", min=16, max=128)
EPOCHS = ParameterSpec(name="--epochs", type="discrete", values=["5", "10", "20"])
OPT = ParameterSpec(name="--opt", type="categorical", values=["sgd", "adam"])
ALL = [LR, BATCH, EPOCHS, OPT]
NUMERIC = [LR, BATCH, EPOCHS]  # cmaes refuses categorical parameters

CASES: list[tuple[str, list[ParameterSpec], dict[str, str]]] = [
    ("random", ALL, {}),
    ("grid", ALL, {"grid_points": "3"}),
    ("bayesianoptimization", ALL, {"n_initial_points": "3"}),
    ("tpe", ALL, {"n_startup_trials": "3"}),
    ("multivariate-tpe", ALL, {"n_startup_trials": "3"}),
    ("cmaes", NUMERIC, {}),
    ("sobol", ALL, {}),
    ("hyperband", ALL, {"eta": "2", "min_resource": "1"}),
]


def _request(
    algorithm: str,
    parameters: Sequence[ParameterSpec] = ALL,
    settings: Mapping[str, str] | None = None,
    *,
    number: int = 0,
    history: Sequence[TrialRecord] = (),
    objective_type: str = "maximize",
    seed: int = 0,
) -> SuggestRequest:
    return SuggestRequest.model_validate(
        {
            "algorithm": algorithm,
            "algorithm_setting": dict(settings or {}),
            "parameters": [spec.model_dump() for spec in parameters],
            "objective_type": objective_type,
            "seed": seed,
            "number": number,
            "history": [record.model_dump() for record in history],
        }
    )


def _score(values: Mapping[str, str]) -> float:
    """A toy objective over ALL (or a part of it)."""
    score = -((float(values["--lr"]) - 0.3) ** 2)
    if "--batch" in values:
        score -= abs(int(values["--batch"]) - 64) / 1000
    return score


def _run(
    algorithm: str,
    parameters: Sequence[ParameterSpec],
    settings: Mapping[str, str],
    trials: int,
    objective: Callable[[Mapping[str, str]], float] = _score,
    objective_type: str = "maximize",
) -> list[TrialRecord]:
    """Suggest, "train", record; like the TuneModel workflow with one trial at a time."""
    history: list[TrialRecord] = []
    for number in range(trials):
        answer = suggest(
            _request(
                algorithm,
                parameters,
                settings,
                number=number,
                history=history,
                objective_type=objective_type,
            )
        )
        assert answer.number == number
        assert not answer.exhausted
        history.append(
            TrialRecord(
                number=number,
                hyperparameters=answer.hyperparameters,
                state="succeeded",
                objective=objective(answer.hyperparameters),
            )
        )
    return history


def _assert_in_domain(parameters: Sequence[ParameterSpec], values: Mapping[str, str]) -> None:
    assert set(values) == {spec.name for spec in parameters}
    for spec in parameters:
        text = values[spec.name]
        if spec.type == "double":
            number = float(text)
            assert repr(number) == text
            assert spec.min is not None and spec.max is not None
            assert spec.min <= number <= spec.max
        elif spec.type == "int":
            assert str(int(text)) == text
            assert spec.min is not None and spec.max is not None
            assert spec.min <= int(text) <= spec.max
        else:
            assert text in spec.values


def _mixed_history(parameters: Sequence[ParameterSpec]) -> list[TrialRecord]:
    """Seven trials: five succeeded, one failed, one running."""
    history: list[TrialRecord] = []
    values = [
        {"--lr": "0.1", "--batch": "32", "--epochs": "5", "--opt": "sgd"},
        {"--lr": "0.25", "--batch": "64", "--epochs": "10", "--opt": "adam"},
        {"--lr": "0.4", "--batch": "100", "--epochs": "20", "--opt": "adam"},
        {"--lr": "0.33", "--batch": "70", "--epochs": "10", "--opt": "sgd"},
        {"--lr": "0.2", "--batch": "50", "--epochs": "5", "--opt": "adam"},
        {"--lr": "0.45", "--batch": "120", "--epochs": "20", "--opt": "sgd"},
        {"--lr": "0.05", "--batch": "16", "--epochs": "5", "--opt": "adam"},
    ]
    names = {spec.name for spec in parameters}
    for number, point in enumerate(values):
        own = {name: value for name, value in point.items() if name in names}
        state: TrialState = "running" if number == 6 else "failed" if number == 5 else "succeeded"
        objective = _score(own) if state == "succeeded" else None
        history.append(
            TrialRecord(number=number, hyperparameters=own, state=state, objective=objective)
        )
    return history


@pytest.mark.parametrize(("algorithm", "parameters", "settings"), CASES)
def test_each_algorithm_suggests_values_inside_the_domains(
    algorithm: str, parameters: list[ParameterSpec], settings: dict[str, str]
) -> None:
    for record in _run(algorithm, parameters, settings, 6):
        _assert_in_domain(parameters, record.hyperparameters)


def test_every_supported_algorithm_is_covered() -> None:
    assert {case[0] for case in CASES} == set(SUPPORTED_ALGORITHMS)


@pytest.mark.parametrize(("algorithm", "parameters", "settings"), CASES)
def test_the_same_request_gets_the_same_suggestion(
    algorithm: str, parameters: list[ParameterSpec], settings: dict[str, str]
) -> None:
    request = _request(
        algorithm, parameters, settings, number=7, history=_mixed_history(parameters)
    )
    first = suggest(request)
    assert suggest(request) == first
    assert suggest(SuggestRequest.model_validate_json(request.model_dump_json())) == first
    _assert_in_domain(parameters, first.hyperparameters)


_CHILD = """
import json, sys
from kaptain.activities.tuning import suggest
from kaptain.contracts.tune import SuggestRequest
requests = [SuggestRequest.model_validate(item) for item in json.load(sys.stdin)]
print(json.dumps([suggest(request).model_dump() for request in requests]))
"""


def test_the_same_request_gets_the_same_suggestion_in_other_processes() -> None:
    requests = [
        _request(algorithm, parameters, settings, number=7, history=_mixed_history(parameters))
        for algorithm, parameters, settings in CASES
    ]
    payload = json.dumps([request.model_dump() for request in requests])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"},
        )
        for hash_seed in ("1", "2")
    ]
    outputs = [child.communicate(payload, timeout=60)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    here = [suggest(request).model_dump() for request in requests]
    assert json.loads(outputs[0]) == here
    assert json.loads(outputs[1]) == here


def test_trials_get_different_suggestions_and_the_seed_matters() -> None:
    answers = {json.dumps(suggest(_request("random", number=n)).hyperparameters) for n in range(5)}
    assert len(answers) == 5
    assert suggest(_request("random", seed=1)) != suggest(_request("random", seed=2))
    assert suggest(_request("tpe", seed=1)) == suggest(
        _request("tpe", ALL, {"random_state": "1"}, seed=99)
    )


def test_replayed_history_steers_tpe() -> None:
    space = [LR, BATCH]
    history = _run("random", space, {}, 12)
    with_history = suggest(_request("tpe", space, number=12, history=history))
    without = suggest(_request("tpe", space, number=12))
    assert with_history.hyperparameters != without.hyperparameters


def test_the_record_of_the_trial_being_suggested_is_ignored() -> None:
    history = _run("tpe", [LR], {"n_startup_trials": "2"}, 4)
    first = suggest(_request("tpe", [LR], {"n_startup_trials": "2"}, number=4, history=history))
    started = TrialRecord(number=4, hyperparameters=first.hyperparameters, state="running")
    again = _request("tpe", [LR], {"n_startup_trials": "2"}, number=4, history=[*history, started])
    assert suggest(again) == first


def test_records_outside_the_space_are_left_out() -> None:
    odd = [
        TrialRecord(number=0, hyperparameters={"--lr": "7"}, state="succeeded", objective=1.0),
        TrialRecord(number=1, hyperparameters={"--lr": "x"}, state="succeeded", objective=1.0),
        TrialRecord(number=2, hyperparameters={}, state="failed"),
    ]
    clean = suggest(_request("tpe", [LR], number=3))
    assert suggest(_request("tpe", [LR], number=3, history=odd)) == clean


def _toy(values: Mapping[str, str]) -> float:
    return (float(values["--x"]) - 0.3) ** 2


X = ParameterSpec(name="--x", type="double", min=0.0, max=1.0)


def test_tpe_minimizes_and_maximizes_a_toy_objective() -> None:
    low = _run("tpe", [X], {}, 30, _toy, "minimize")
    best = min(low, key=lambda record: record.objective or 0.0)
    assert abs(float(best.hyperparameters["--x"]) - 0.3) < 0.1
    high = _run("tpe", [X], {}, 30, _toy, "maximize")
    best = max(high, key=lambda record: record.objective or 0.0)
    assert float(best.hyperparameters["--x"]) > 0.9


def test_cmaes_learns_from_the_history() -> None:
    space = [X, ParameterSpec(name="--y", type="double", min=0.0, max=1.0)]

    def bowl(values: Mapping[str, str]) -> float:
        return (float(values["--x"]) - 0.3) ** 2 + (float(values["--y"]) - 0.7) ** 2

    history = _run("cmaes", space, {"sigma": "0.3"}, 36, bowl, "minimize")
    first = min(bowl(record.hyperparameters) for record in history[:6])
    last = min(bowl(record.hyperparameters) for record in history[-6:])
    assert last < first
    assert last < 0.01


def _grid_request(
    parameters: Sequence[ParameterSpec], history: Sequence[TrialRecord], number: int
) -> SuggestRequest:
    return _request("grid", parameters, {"grid_points": "5"}, number=number, history=history)


def test_grid_enumerates_every_point_once_then_reports_exhausted() -> None:
    space = [X, ParameterSpec(name="--n", type="int", min=1, max=2), OPT]
    history: list[TrialRecord] = []
    for number in range(20):
        answer = suggest(_grid_request(space, history, number))
        assert not answer.exhausted
        state: TrialState = "failed" if number % 3 == 0 else "succeeded"
        history.append(
            TrialRecord(
                number=number, hyperparameters=answer.hyperparameters, state=state, objective=1.0
            )
        )
    points = {tuple(sorted(record.hyperparameters.items())) for record in history}
    assert len(points) == 20
    assert {dict(point)["--x"] for point in points} == {"0.0", "0.25", "0.5", "0.75", "1.0"}
    last = suggest(_grid_request(space, history, 20))
    assert last == Suggestion(number=20, hyperparameters={}, exhausted=True)


def test_grid_skips_running_points_and_matches_values_numerically() -> None:
    space = [ParameterSpec(name="--n", type="int", min=1, max=2)]
    running = TrialRecord(number=0, hyperparameters={"--n": "1.0"}, state="running")
    answer = suggest(_grid_request(space, [running], 1))
    assert answer.hyperparameters == {"--n": "2"}
    taken = TrialRecord(number=1, hyperparameters={"--n": "2"}, state="cancelled")
    assert suggest(_grid_request(space, [running, taken], 2)).exhausted


def test_sobol_indexes_its_sequence_by_trial_number() -> None:
    first = suggest(_request("sobol", [X], number=3))
    history = [TrialRecord(number=0, hyperparameters={"--x": "0.5"}, state="running")]
    assert suggest(_request("sobol", [X], number=3, history=history)) == first
    values = {suggest(_request("sobol", [X], number=n)).hyperparameters["--x"] for n in range(8)}
    assert len(values) == 8


def test_the_activity_runs_the_suggestion_and_refuses_bad_algorithms_for_good() -> None:
    activities = TuningActivities()
    request = _request("random", number=2)
    assert asyncio.run(activities.suggest(request)) == suggest(request)
    with pytest.raises(ApplicationError) as raised:
        asyncio.run(activities.suggest(_request("annealing")))
    assert raised.value.non_retryable
    assert raised.value.type == "UnsupportedAlgorithmException"


def test_a_package_missing_on_the_worker_fails_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(request: SuggestRequest) -> Suggestion:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    module = sys.modules["kaptain.activities.tuning.suggest"]  # the package re-exports suggest()
    monkeypatch.setattr(module, "suggest", missing)
    with pytest.raises(ApplicationError, match="torch") as raised:
        asyncio.run(TuningActivities().suggest(_request("bayesianoptimization")))
    assert raised.value.non_retryable


BAD: list[tuple[str, dict[str, object], list[ParameterSpec], str]] = [
    ("annealing", {}, ALL, "supported algorithms: random, grid"),
    ("hyperband", {"eta": 1}, ALL, ">= 2"),
    ("tpe", {"bogus": "1"}, ALL, "supported settings: n_ei_candidates, n_startup_trials"),
    ("tpe", {"n_ei_candidates": "0"}, ALL, ">= 1"),
    ("tpe", {"n_startup_trials": "many"}, ALL, "must be an integer"),
    ("tpe", {"n_EI_candidates": 5, "n_ei_candidates": 6}, ALL, "twice"),
    ("tpe", {"gamma": "0.25"}, ALL, "deprecated"),
    ("random", {"random_state": True}, ALL, "must be an integer"),
    ("random", {"random_state": -1}, ALL, ">= 0"),
    ("random", {"sigma": "0.1"}, ALL, "supported settings: random_state"),
    ("bayesianoptimization", {"acq_func": "EI"}, ALL, "scikit-optimize"),
    ("bayesianoptimization", {"n_initial_points": 0}, ALL, ">= 1"),
    ("cmaes", {"sigma": "-0.1"}, NUMERIC, "> 0"),
    ("cmaes", {"sigma": "nan"}, NUMERIC, "finite"),
    ("cmaes", {"restart_strategy": "ipop"}, NUMERIC, "no longer restarts"),
    ("cmaes", {}, ALL, "categorical"),
    ("cmaes", {}, [EPOCHS], "at least one double or int"),
    ("grid", {}, ALL, "grid_points"),
    ("grid", {"grid_points": "1"}, ALL, ">= 2"),
    ("grid", {}, [ParameterSpec(name="--n", type="int", min=0, max=10**6)], "more than"),
    ("sobol", {"n_startup_trials": "3"}, ALL, "supported settings: random_state"),
]


@pytest.mark.parametrize(("algorithm", "settings", "parameters", "message"), BAD)
def test_unsupported_algorithms_and_settings_are_refused(
    algorithm: str, settings: dict[str, object], parameters: list[ParameterSpec], message: str
) -> None:
    with pytest.raises(UnsupportedAlgorithmException, match=message):
        validate_algorithm(algorithm, settings, parameters)


GOOD: list[tuple[str | Algorithm | None, dict[str, object], tuple[str, dict[str, str]]]] = [
    (None, {}, ("random", {})),
    (" RANDOM ", {"random_state": 7}, ("random", {"random_state": "7"})),
    (
        "grid",
        {"grid_points": 4, "random_state": "1"},
        ("grid", {"grid_points": "4", "random_state": "1"}),
    ),
    (
        "bayesianoptimization",
        {"random_state": 1, "n_initial_points": "5"},
        ("bayesianoptimization", {"random_state": "1", "n_initial_points": "5"}),
    ),
    (
        Algorithm.TPE,
        {"random_state": "3", "n_EI_candidates": 12, "n_startup_trials": 0},
        ("tpe", {"random_state": "3", "n_ei_candidates": "12", "n_startup_trials": "0"}),
    ),
    (
        "multivariate-tpe",
        {"n_ei_candidates": " 8 "},
        ("multivariate-tpe", {"n_ei_candidates": "8"}),
    ),
    (
        "cmaes",
        {"random_state": 2, "sigma": 0.5, "restart_strategy": "None"},
        ("cmaes", {"random_state": "2", "sigma": "0.5", "restart_strategy": "none"}),
    ),
    ("sobol", {"random_state": "9"}, ("sobol", {"random_state": "9"})),
]


@pytest.mark.parametrize(("algorithm", "settings", "expected"), GOOD)
def test_supported_settings_are_accepted_and_made_canonical(
    algorithm: str | Algorithm | None,
    settings: dict[str, object],
    expected: tuple[str, dict[str, str]],
) -> None:
    parameters = NUMERIC if expected[0] == "cmaes" else ALL
    assert validate_algorithm(algorithm, settings, parameters) == expected


@pytest.mark.parametrize(("algorithm", "settings", "expected"), GOOD)
def test_canonical_settings_run_on_the_worker(
    algorithm: str | Algorithm | None,
    settings: dict[str, object],
    expected: tuple[str, dict[str, str]],
) -> None:
    name, canonical = expected
    parameters = NUMERIC if name == "cmaes" else ALL
    history = _mixed_history(parameters)
    answer = suggest(_request(name, parameters, canonical, number=7, history=history))
    _assert_in_domain(parameters, answer.hyperparameters)
