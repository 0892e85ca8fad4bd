from __future__ import annotations

import math
from typing import Any

import pytest

from kaptain.exceptions import ModelValidationException, UnsupportedAlgorithmException
from kaptain.hyperparameter import Algorithm, Categorical, Discrete, Domain, Double, Integer


def test_double() -> None:
    domain = Double(0.01, 0.5)
    assert (domain.min, domain.max) == (0.01, 0.5)
    assert domain.to_dict() == {"type": "double", "min": 0.01, "max": 0.5}
    assert repr(domain) == "Double(min=0.01, max=0.5)"


def test_double_accepts_ints_as_floats() -> None:
    assert Double(min=1, max=2).to_dict() == {"type": "double", "min": 1.0, "max": 2.0}


def test_integer() -> None:
    domain = Integer(1, 10)
    assert domain.to_dict() == {"type": "int", "min": 1, "max": 10}
    assert repr(domain) == "Integer(min=1, max=10)"


def test_discrete_numbers_and_numeric_strings() -> None:
    assert Discrete([0.1, 0.5, 1]).to_dict() == {"type": "discrete", "values": [0.1, 0.5, 1]}
    assert Discrete(["5", "10"]).values == ["5", "10"]


def test_categorical() -> None:
    domain = Categorical(["sgd", "adam"])
    assert domain.to_dict() == {"type": "categorical", "values": ["sgd", "adam"]}
    assert repr(domain) == "Categorical(values=['sgd', 'adam'])"


def test_values_are_copies() -> None:
    domain = Categorical(["a", "b"])
    domain.values.append("c")
    assert domain.values == ["a", "b"]


INVALID: list[tuple[Any, ...]] = [
    (Double, (0.5, 0.5), "less than"),
    (Double, (1.0, 0.0), "less than"),
    (Double, ("0.1", 1.0), "number"),
    (Double, (0.0, True), "number"),
    (Double, (0.0, math.inf), "finite"),
    (Double, (math.nan, 1.0), "finite"),
    (Double, (None, 1.0), "number"),
    (Integer, (3, 3), "less than"),
    (Integer, (5, 1), "less than"),
    (Integer, (1.5, 3), "int"),
    (Integer, (1, "3"), "int"),
    (Integer, (False, 3), "int"),
    (Discrete, ([],), "empty"),
    (Discrete, ("0.1",), "list"),
    (Discrete, ([0.1, "abc"],), "number"),
    (Discrete, ([0.1, None],), "number"),
    (Discrete, ([0.1, math.nan],), "finite"),
    (Discrete, ([True, 2],), "number"),
    (Discrete, ([1, 1.0],), "twice"),
    (Discrete, (["5", 5],), "twice"),
    (Discrete, (["inf"],), "number"),
    (Categorical, ([],), "empty"),
    (Categorical, ("adam",), "list"),
    (Categorical, (["a", 1],), "strings"),
    (Categorical, (["a", "b", "a"],), "duplicates"),
    (Categorical, (None,), "list"),
]


@pytest.mark.parametrize(("cls", "args", "message"), INVALID)
def test_invalid_domains(cls: type[Domain], args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ModelValidationException, match=message):
        cls(*args)


@pytest.mark.parametrize(
    "domain",
    [Double(0.0, 1.0), Integer(-3, 3), Discrete([1, 2.5, "4"]), Categorical(["x", "y"])],
)
def test_round_trip_through_dict(domain: Domain) -> None:
    assert Domain.from_dict(domain.to_dict()) == domain


def test_from_dict_errors() -> None:
    with pytest.raises(ModelValidationException, match="Unknown domain type"):
        Domain.from_dict({"type": "uniform"})
    with pytest.raises(ModelValidationException, match="'max'"):
        Domain.from_dict({"type": "double", "min": 0.1})


def test_equality_and_hash() -> None:
    assert Double(0.1, 0.2) == Double(0.1, 0.2)
    assert Double(0.1, 0.2) != Double(0.1, 0.3)
    assert Integer(1, 2) != Double(1, 2)
    assert Categorical(["a"]) != "a"
    assert len({Integer(1, 2), Integer(1, 2), Categorical(["a"])}) == 2


def test_domain_is_abstract() -> None:
    with pytest.raises(TypeError):
        Domain()  # type: ignore[abstract]


ALGORITHM_NAMES = [
    ("random", Algorithm.RANDOM),
    ("grid", Algorithm.GRID),
    ("bayesianoptimization", Algorithm.BAYESIAN_OPTIMIZATION),
    ("tpe", Algorithm.TPE),
    ("multivariate-tpe", Algorithm.MULTIVARIATE_TPE),
    ("cmaes", Algorithm.CMAES),
    ("sobol", Algorithm.SOBOL),
    ("hyperband", Algorithm.HYPERBAND),
    ("Random", Algorithm.RANDOM),
    (" TPE ", Algorithm.TPE),
    ("BayesianOptimization", Algorithm.BAYESIAN_OPTIMIZATION),
]


@pytest.mark.parametrize(("name", "expected"), ALGORITHM_NAMES)
def test_algorithm_of(name: str, expected: Algorithm) -> None:
    assert Algorithm.of(name) is expected


def test_algorithm_of_none_and_member() -> None:
    assert Algorithm.of(None) is None
    assert Algorithm.of(Algorithm.SOBOL) is Algorithm.SOBOL


@pytest.mark.parametrize("name", ["", "  ", "genetic", "bayesian", "multivariate_tpe"])
def test_algorithm_of_unknown_lists_supported(name: str) -> None:
    with pytest.raises(UnsupportedAlgorithmException) as error:
        Algorithm.of(name)
    for member in Algorithm:
        assert member.value in str(error.value)


def test_algorithm_members_are_katib_names() -> None:
    assert [member.value for member in Algorithm] == [
        "random",
        "grid",
        "bayesianoptimization",
        "tpe",
        "multivariate-tpe",
        "cmaes",
        "sobol",
        "hyperband",
    ]
