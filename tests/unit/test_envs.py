from __future__ import annotations

import os
import types

import pytest

from kaptain import constants, envs
from kaptain.exceptions import ModelValidationException

pytestmark = pytest.mark.usefixtures("clean_env")

BOOL_PROPERTIES = [
    ("VERBOSE", "KAPTAIN_SDK_VERBOSE"),
    ("DEBUG", "KAPTAIN_SDK_DEBUG"),
    ("KAPTAIN_SDK_DELETE_EXPERIMENT", "KAPTAIN_SDK_DELETE_EXPERIMENT"),
    ("KAPTAIN_SDK_FORCE_CLEANUP", "KAPTAIN_SDK_FORCE_CLEANUP"),
]

STR_PROPERTIES = [
    ("LOG_TIMEFORMAT", "KAPTAIN_SDK_LOG_TIMEFORMAT", "%Y-%m-%d %H:%M:%S"),
    ("DOCKER_BUILDER_CPU_LIMIT", "DOCKER_BUILDER_CPU_LIMIT", "1"),
    ("DOCKER_BUILDER_MEM_LIMIT", "DOCKER_BUILDER_MEM_LIMIT", "1G"),
    ("DOCKER_BUILDER_CPU_REQUEST", "DOCKER_BUILDER_CPU_REQUEST", "500m"),
    ("DOCKER_BUILDER_MEM_REQUEST", "DOCKER_BUILDER_MEM_REQUEST", "500M"),
]

TRUTH_TABLE = [
    ("true", True),
    ("TRUE", True),
    ("True", True),
    ("yes", True),
    ("YES", True),
    ("y", True),
    ("Y", True),
    ("1", True),
    (" true ", True),
    ("false", False),
    ("no", False),
    ("n", False),
    ("0", False),
    ("on", False),
    ("2", False),
    ("maybe", False),
]


def test_module_is_replaced_by_the_property_class() -> None:
    assert isinstance(envs, types.ModuleType)
    assert type(envs).__name__ == "_M"


@pytest.mark.parametrize(("attribute", "variable"), BOOL_PROPERTIES)
def test_bool_defaults_to_false(attribute: str, variable: str) -> None:
    assert variable not in os.environ
    assert getattr(envs, attribute) is False


@pytest.mark.parametrize(("attribute", "variable"), BOOL_PROPERTIES)
@pytest.mark.parametrize(("raw", "expected"), TRUTH_TABLE)
def test_bool_truthiness(
    monkeypatch: pytest.MonkeyPatch, attribute: str, variable: str, raw: str, expected: bool
) -> None:
    monkeypatch.setenv(variable, raw)
    assert getattr(envs, attribute) is expected


@pytest.mark.parametrize(("attribute", "variable"), BOOL_PROPERTIES)
def test_bool_setter_writes_environment(attribute: str, variable: str) -> None:
    setattr(envs, attribute, True)
    assert os.environ[variable] == "true"
    assert getattr(envs, attribute) is True
    setattr(envs, attribute, False)
    assert os.environ[variable] == "false"
    assert getattr(envs, attribute) is False


@pytest.mark.parametrize(("attribute", "variable"), BOOL_PROPERTIES)
def test_bool_setter_rejects_non_bools(attribute: str, variable: str) -> None:
    with pytest.raises(ModelValidationException, match=variable):
        setattr(envs, attribute, "yes")
    assert variable not in os.environ


def test_blank_bool_takes_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_VERBOSE", "  ")
    assert envs.get_env_bool("KAPTAIN_SDK_VERBOSE", default=True) is True
    assert envs.VERBOSE is False


def test_values_are_read_at_access_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert envs.VERBOSE is False
    monkeypatch.setenv("KAPTAIN_SDK_VERBOSE", "yes")
    assert envs.VERBOSE is True
    monkeypatch.delenv("KAPTAIN_SDK_VERBOSE")
    assert envs.VERBOSE is False


@pytest.mark.parametrize(("attribute", "variable", "default"), STR_PROPERTIES)
def test_string_defaults(attribute: str, variable: str, default: str) -> None:
    assert getattr(envs, attribute) == default


@pytest.mark.parametrize(("attribute", "variable", "default"), STR_PROPERTIES)
def test_string_read_and_write(
    monkeypatch: pytest.MonkeyPatch, attribute: str, variable: str, default: str
) -> None:
    monkeypatch.setenv(variable, "7")
    assert getattr(envs, attribute) == "7"
    setattr(envs, attribute, "3")
    assert os.environ[variable] == "3"
    assert getattr(envs, attribute) == "3"


@pytest.mark.parametrize(("attribute", "variable", "default"), STR_PROPERTIES)
def test_string_setter_rejects_blank(attribute: str, variable: str, default: str) -> None:
    with pytest.raises(ModelValidationException, match=variable):
        setattr(envs, attribute, " ")


def test_builder_defaults_come_from_constants() -> None:
    assert envs.DOCKER_BUILDER_CPU_LIMIT == constants.DEFAULT_DOCKER_BUILDER_CPU_LIMIT
    assert envs.DOCKER_BUILDER_MEM_LIMIT == constants.DEFAULT_DOCKER_BUILDER_MEM_LIMIT
    assert envs.DOCKER_BUILDER_CPU_REQUEST == constants.DEFAULT_DOCKER_BUILDER_CPU_REQUEST
    assert envs.DOCKER_BUILDER_MEM_REQUEST == constants.DEFAULT_DOCKER_BUILDER_MEM_REQUEST


def test_builder_setter_stringifies_numbers() -> None:
    envs.set_env_str("DOCKER_BUILDER_CPU_LIMIT", 2)
    assert envs.DOCKER_BUILDER_CPU_LIMIT == "2"


def test_ttl_unset_is_none() -> None:
    assert envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED is None


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("600", 600), (" 42 ", 42), ("", None)])
def test_ttl_reads_integers(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int | None
) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", raw)
    assert expected == envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED


@pytest.mark.parametrize("raw", ["ten", "1.5", "-1", "1e3"])
def test_ttl_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", raw)
    with pytest.raises(ModelValidationException, match="KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED"):
        _ = envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED


def test_ttl_setter_writes_and_removes() -> None:
    envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED = 300
    assert os.environ["KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED"] == "300"
    assert envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED == 300
    envs.KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED = None
    assert "KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED" not in os.environ


@pytest.mark.parametrize("value", [-5, True, "300", 1.5])
def test_ttl_setter_rejects_invalid(value: object) -> None:
    with pytest.raises(ModelValidationException, match="KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED"):
        envs.set_env_optional_int("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", value)  # type: ignore[arg-type]


def test_set_env_bool_none_removes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPTAIN_SDK_DEBUG", "true")
    envs.set_env_bool("KAPTAIN_SDK_DEBUG", None)
    assert "KAPTAIN_SDK_DEBUG" not in os.environ


@pytest.mark.parametrize(("raw", "expected"), [*TRUTH_TABLE, (None, False)])
def test_is_true(raw: str | None, expected: bool) -> None:
    assert envs.is_true(raw) is expected


def test_env_var_names() -> None:
    assert envs.EnvVar.VERBOSE == "KAPTAIN_SDK_VERBOSE"
    assert envs.EnvVar.TTL_SECONDS_AFTER_FINISHED == "KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED"
    assert envs.EnvVar.DOCKER_BUILDER_MEM_REQUEST == "DOCKER_BUILDER_MEM_REQUEST"


def test_constants() -> None:
    assert constants.DEFAULT_TIMEOUT_SECONDS == 3600
    assert constants.DEFAULT_BASE_MODEL_STORAGE_URI == "s3://kaptain/models"
    assert constants.MANAGED_BY_LABEL == "app.kubernetes.io/managed-by"
    assert constants.MANAGED_BY_VALUE == "kaptain"
    assert constants.MODEL_ID_LABEL == "kaptain.d2iq.io/model-id"
