from __future__ import annotations

from decimal import Decimal

import pytest

from kaptain.contracts import ModelState as ContractState
from kaptain.contracts import ResourceSpec
from kaptain.exceptions import ModelValidationException, UnsupportedModelFrameworkException
from kaptain.model import frameworks
from kaptain.model.frameworks import ModelFramework
from kaptain.model.resources import Resources, parse_quantity, resolve_resources, to_quantity
from kaptain.model.states import ModelState

ALIASES = [
    ("tf", ModelFramework.TENSORFLOW),
    ("tensorflow", ModelFramework.TENSORFLOW),
    ("TensorFlow", ModelFramework.TENSORFLOW),
    ("pytorch", ModelFramework.PYTORCH),
    ("PyTorch", ModelFramework.PYTORCH),
    ("torch", ModelFramework.PYTORCH),
    ("sklearn", ModelFramework.SKLEARN),
    ("scikit-learn", ModelFramework.SKLEARN),
    ("xgboost", ModelFramework.XGBOOST),
    ("mxnet", ModelFramework.MXNET),
    ("onnx", ModelFramework.ONNX),
    (" ONNX ", ModelFramework.ONNX),
    (ModelFramework.PYTORCH, ModelFramework.PYTORCH),
]


@pytest.mark.parametrize(("name", "expected"), ALIASES)
def test_framework_aliases(name: str | ModelFramework, expected: ModelFramework) -> None:
    assert frameworks.of(name) is expected
    assert ModelFramework.of(name) is expected


@pytest.mark.parametrize("name", ["", "   ", "caffe", "jax", None, 3])
def test_unknown_framework_lists_supported(name: object) -> None:
    with pytest.raises(UnsupportedModelFrameworkException) as error:
        frameworks.of(name)  # type: ignore[arg-type]
    assert "pytorch" in str(error.value)
    assert "tensorflow" in str(error.value)


def test_framework_values_unchanged() -> None:
    assert [member.value for member in ModelFramework] == [
        "tensorflow",
        "pytorch",
        "sklearn",
        "xgboost",
        "mxnet",
        "onnx",
    ]


def test_states_are_the_contract_enum() -> None:
    assert ModelState is ContractState
    assert ModelState.UNTRAINED.value == "untrained"


VALID_QUANTITIES = [
    ("1", Decimal(1)),
    ("500m", Decimal("0.5")),
    ("0.5", Decimal("0.5")),
    (".5", Decimal("0.5")),
    ("2G", Decimal(2 * 10**9)),
    ("2Gi", Decimal(2 * 2**30)),
    ("512M", Decimal(512 * 10**6)),
    ("128Mi", Decimal(128 * 2**20)),
    ("1k", Decimal(1000)),
    ("1Ki", Decimal(1024)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("2E", Decimal(2 * 10**18)),
    ("1Ei", Decimal(2**60)),
    ("0", Decimal(0)),
    ("100u", Decimal("0.0001")),
]


@pytest.mark.parametrize(("text", "value"), VALID_QUANTITIES)
def test_valid_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value
    assert to_quantity(text, "cpu") == text


@pytest.mark.parametrize(
    "text", ["2GG", "", " ", "-1", "abc", "1K", "1 G", "G", "1.2.3", "1e", "1mi", "+1", "0x10"]
)
def test_invalid_quantities(text: str) -> None:
    with pytest.raises(ModelValidationException, match="memory_limit") as error:
        to_quantity(text, "memory_limit")
    assert repr(text) in str(error.value)


@pytest.mark.parametrize(("number", "text"), [(1, "1"), (0.5, "0.5"), (2.0, "2"), (1e-7, "1e-07")])
def test_numbers_become_quantities(number: float, text: str) -> None:
    assert to_quantity(number, "cpu") == text


@pytest.mark.parametrize("number", [-1, -0.5, float("nan"), float("inf"), True, None, [1]])
def test_invalid_numbers(number: object) -> None:
    with pytest.raises(ModelValidationException, match="cpu"):
        to_quantity(number, "cpu")  # type: ignore[arg-type]


def test_resources_to_spec() -> None:
    resources = Resources(
        cpu_request=1,
        cpu_limit="2",
        memory_request="1Gi",
        memory_limit="2G",
        gpu_request=1,
        gpu_limit=1,
    )
    assert resources.to_spec() == ResourceSpec(
        cpu_request="1",
        cpu_limit="2",
        memory_request="1Gi",
        memory_limit="2G",
        gpu_request=1,
        gpu_limit=1,
    )
    assert resources.cpu_request == "1"
    assert resources.gpu_limit == 1
    assert resources == Resources(
        cpu_request="1",
        cpu_limit=2,
        memory_request="1Gi",
        memory_limit="2G",
        gpu_request=1,
        gpu_limit=1,
    )
    assert repr(Resources(cpu_limit=1)) == "Resources(cpu_limit='1')"


def test_resources_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Resources(1)  # type: ignore[call-arg]


INVALID_RESOURCES: list[tuple[dict[str, object], str]] = [
    ({"cpu_request": "2GG"}, "cpu_request"),
    ({"cpu_limit": "-1"}, "cpu_limit"),
    ({"memory_request": ""}, "memory_request"),
    ({"memory_limit": "abc"}, "memory_limit"),
    ({"gpu_request": -1}, "gpu_request"),
    ({"gpu_limit": 1.5}, "gpu_limit"),
    ({"gpu_limit": True}, "gpu_limit"),
    ({"cpu_request": "2", "cpu_limit": "1500m"}, "CPU request"),
    ({"memory_request": "2Gi", "memory_limit": "2G"}, "Memory request"),
    ({"gpu_request": 1, "gpu_limit": 2}, "GPU request"),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID_RESOURCES)
def test_invalid_resources(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ModelValidationException, match=message):
        Resources(**kwargs)  # type: ignore[arg-type]


def test_resolve_simple_sets_request_and_limit() -> None:
    assert resolve_resources(cpu=1, memory="2G", gpus=0) == ResourceSpec(
        cpu_request="1",
        cpu_limit="1",
        memory_request="2G",
        memory_limit="2G",
        gpu_request=0,
        gpu_limit=0,
    )


def test_resolve_nothing() -> None:
    assert resolve_resources() == ResourceSpec()


def test_resolve_advanced() -> None:
    resources = Resources(cpu_request=1, memory_limit="2G", gpu_limit=1)
    assert resolve_resources(resources=resources) == resources.to_spec()
    spec = ResourceSpec(cpu_limit="1")
    assert resolve_resources(resources=spec) is spec


@pytest.mark.parametrize(
    "simple", [{"cpu": "1"}, {"memory": "1G"}, {"gpus": 0}, {"cpu": 1, "gpus": 1}]
)
def test_resolve_rejects_both(simple: dict[str, object]) -> None:
    with pytest.raises(ModelValidationException, match="not both"):
        resolve_resources(resources=Resources(cpu_limit=1), **simple)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"gpus": -1}, "gpus"), ({"cpu": "x"}, "cpu"), ({"memory": "2GG"}, "memory")],
)
def test_resolve_invalid_simple(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ModelValidationException, match=message):
        resolve_resources(**kwargs)  # type: ignore[arg-type]


def test_resolve_rejects_foreign_resources() -> None:
    with pytest.raises(ModelValidationException, match="Resources"):
        resolve_resources(resources={"cpu": 1})  # type: ignore[arg-type]
