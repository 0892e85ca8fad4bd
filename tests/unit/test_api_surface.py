"""The public API of the seed page (Kaptain SDK 1.3.x), checked name by name.

Every class and function on ``/work/shared/seed/kaptain-sdk-api.txt`` must import from
the documented module and keep the documented parameter names, order and defaults, so that
notebooks written against the original SDK run unchanged. Where we extend a signature the
extension must be keyword-only with a default (it cannot shift a positional argument).

``kaptain.utils``'s signatures are checked in ``test_utils_inventory.py``.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kaptain import constants, envs, exceptions

REQUIRED = inspect.Parameter.empty
"""Marker of a parameter without a default."""

VAR_KEYWORD = "**"
"""Prefix marking a ``**kwargs`` parameter in the tables below."""

Params = list[tuple[str, Any]]


def resolve(dotted: str) -> Any:
    """Import ``module.path:Qual.name`` the way a notebook would."""
    module_name, _, qualname = dotted.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


# -- modules on the seed page --------------------------------------------------------------

SEED_MODULES = [
    "kaptain.config",
    "kaptain.envs",
    "kaptain.exceptions",
    "kaptain.model",
    "kaptain.model.models",
    "kaptain.model.frameworks",
    "kaptain.model.states",
    "kaptain.hyperparameter",
    "kaptain.hyperparameter.algorithms",
    "kaptain.hyperparameter.domains",
    "kaptain.platform.config",
    "kaptain.platform.config.provider",
    "kaptain.platform.config.certificates",
    "kaptain.platform.config.docker",
    "kaptain.platform.config.defaults",
    "kaptain.platform.config.s3",
    "kaptain.platform.model_export_util",
    "kaptain.platform.metadata_util",
]


@pytest.mark.parametrize("module", SEED_MODULES)
def test_seed_module_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


# -- signatures, in the order of the seed page -----------------------------------------------

SIGNATURES: list[tuple[str, Params]] = [
    # kaptain.config
    (
        "kaptain.config:Config.__init__",
        [
            ("docker_config_provider", REQUIRED),
            ("storage_config_provider", REQUIRED),
            ("docker_registry_url", None),
            ("docker_registry_certificate_provider", None),
            # The seed shows ``base_dir=os.getcwd()``, evaluated once at import. Ours is
            # None, meaning "the cwd at the time of the call" (see test_config_base_dir_*).
            ("base_dir", None),
            ("base_model_storage_uri", "s3://kaptain/models"),
        ],
    ),
    # kaptain.model.models
    (
        "kaptain.model.models:Model.__init__",
        [
            ("id", REQUIRED),
            ("name", REQUIRED),
            ("description", REQUIRED),
            ("version", REQUIRED),
            ("framework", REQUIRED),
            ("framework_version", REQUIRED),
            ("main_file", REQUIRED),
            ("image_name", REQUIRED),
            ("base_image", REQUIRED),
            ("extra_files", None),
            ("requirements", None),
            ("labels", None),
            ("config", None),
            ("serving_config", None),
        ],
    ),
    ("kaptain.model.models:Model.build", [("verbose", None)]),
    (
        "kaptain.model.models:Model.train",
        [
            ("hyperparameters", REQUIRED),
            ("args", None),
            ("gpus", None),
            ("cpu", None),
            ("memory", None),
            ("resources", None),
            ("workers", 2),
            ("verbose", None),
            ("ttl_seconds_after_finished", None),
            ("force_cleanup", None),
            ("timeout", constants.DEFAULT_TIMEOUT_SECONDS),
        ],
    ),
    (
        "kaptain.model.models:Model.tune",
        [
            ("hyperparameters", REQUIRED),
            ("objectives", REQUIRED),
            ("objective_goal", None),
            ("objective_type", "maximize"),
            ("workers", 2),
            ("gpus", None),
            ("cpu", None),
            ("memory", None),
            ("resources", None),
            ("trials", 16),
            ("parallel_trials", 2),
            ("failed_trials", 4),
            ("algorithm", "random"),
            ("algorithm_setting", None),
            ("args", None),
            ("verbose", None),
            ("delete_experiment", None),
            ("ttl_seconds_after_finished", None),
            ("timeout", constants.DEFAULT_TIMEOUT_SECONDS),
        ],
    ),
    (
        "kaptain.model.models:Model.deploy",
        [
            ("model_uri", None),
            ("autoscale", 2),
            ("gpus", None),
            ("cpu", None),
            ("memory", None),
            ("resources", None),
            ("replace", False),
            ("transformer", None),
            ("**kwargs", REQUIRED),
        ],
    ),
    (
        "kaptain.model.models:Model.deploy_canary",
        [("canary_traffic_percentage", REQUIRED), ("model_uri", None), ("**kwargs", REQUIRED)],
    ),
    ("kaptain.model.models:Model.rollback_canary", []),
    ("kaptain.model.models:Model.promote_canary", []),
    ("kaptain.model.models:Model.undeploy", []),
    (
        "kaptain.model.models:Model.log_data",
        [
            ("name", REQUIRED),
            ("uri", REQUIRED),
            ("description", None),
            ("features", None),
            ("version", None),
        ],
    ),
    (
        "kaptain.model.models:Model.log_metrics",
        [("metrics", REQUIRED), ("metrics_type", REQUIRED), ("uri", None)],
    ),
    ("kaptain.model.models:Model.meta", []),
    ("kaptain.model.models:Model.save_as_json", [("path", ""), ("overwrite", False)]),
    # A classmethod: ``cls`` is bound, so the signature starts at model_uri.
    ("kaptain.model.models:Model.load_from_json", [("model_uri", REQUIRED), ("config", REQUIRED)]),
    # kaptain.model.frameworks (ModelFramework.of is referenced by the notebooks)
    ("kaptain.model.frameworks:ModelFramework.of", [("framework", REQUIRED)]),
    # kaptain.hyperparameter
    ("kaptain.hyperparameter.algorithms:Algorithm.of", [("algorithm", REQUIRED)]),
    ("kaptain.hyperparameter.domains:Double.__init__", [("min", REQUIRED), ("max", REQUIRED)]),
    ("kaptain.hyperparameter.domains:Integer.__init__", [("min", REQUIRED), ("max", REQUIRED)]),
    ("kaptain.hyperparameter.domains:Discrete.__init__", [("values", REQUIRED)]),
    ("kaptain.hyperparameter.domains:Categorical.__init__", [("values", REQUIRED)]),
    # kaptain.platform.config
    (
        "kaptain.platform.config.certificates:DockerRegistryCertificateProvider.__init__",
        [("certificate_body", REQUIRED), ("certificate_path", None)],
    ),
    (
        "kaptain.platform.config.docker:DockerConfigurationProvider.__init__",
        [("config_json", REQUIRED)],
    ),
    (
        "kaptain.platform.config.s3:S3ConfigurationProvider.__init__",
        [
            ("aws_access_key_id", REQUIRED),
            ("aws_secret_access_key", REQUIRED),
            ("aws_session_token", None),
            ("region_name", "us-east-1"),
            ("s3_endpoint", None),
            ("s3_signature_version", None),
            ("s3_force_path_style", False),
        ],
    ),
    ("kaptain.platform.config.s3:S3ConfigurationProvider.get_secret_body", []),
    # Trainer helpers (KAPTAIN.md, seen in the tutorials)
    (
        "kaptain.platform.model_export_util:ModelExportUtil.upload_model",
        [("local_path", REQUIRED), ("extra_files", None)],
    ),
    ("kaptain.platform.metadata_util:MetadataUtil.record_metrics", [("metrics", REQUIRED)]),
]


def _documented_view(target: Callable[..., Any]) -> tuple[Params, list[inspect.Parameter]]:
    """The parameters (without self) as a table, and the extra keyword-only ones."""
    parameters = list(inspect.signature(target).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    table: Params = []
    extras: list[inspect.Parameter] = []
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            extras.append(parameter)
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
            table.append((VAR_KEYWORD + parameter.name, parameter.default))
        else:
            table.append((parameter.name, parameter.default))
    return table, extras


@pytest.mark.parametrize(
    ("dotted", "expected"), SIGNATURES, ids=[dotted for dotted, _ in SIGNATURES]
)
def test_documented_signature(dotted: str, expected: Params) -> None:
    target = resolve(dotted)
    table, extras = _documented_view(target)
    assert [name for name, _ in table] == [name for name, _ in expected]
    for (name, default), (_, wanted) in zip(table, expected, strict=True):
        assert default == wanted, f"{dotted}: default of {name} is {default!r}, not {wanted!r}"
        assert type(default) is type(wanted), f"{dotted}: default of {name} has another type"
    # Our own additions may only be keyword-only parameters with a default.
    for parameter in extras:
        assert parameter.default is not REQUIRED, f"{dotted}: extra {parameter.name} required"


def test_load_from_json_is_a_classmethod() -> None:
    from kaptain.model.models import Model

    assert isinstance(inspect.getattr_static(Model, "load_from_json"), classmethod)


@pytest.mark.parametrize(
    "dotted",
    [
        "kaptain.hyperparameter.algorithms:Algorithm.of",
        "kaptain.platform.metadata_util:MetadataUtil.record_metrics",
    ],
)
def test_static_methods(dotted: str) -> None:
    module_name, _, qualname = dotted.partition(":")
    owner_name, _, method = qualname.rpartition(".")
    owner = resolve(f"{module_name}:{owner_name}")
    assert isinstance(inspect.getattr_static(owner, method), staticmethod)


@pytest.mark.parametrize("name", ["hyperparameters", "metrics"])
def test_model_properties(name: str) -> None:
    from kaptain.model.models import Model

    assert isinstance(inspect.getattr_static(Model, name), property)


def test_model_export_util_needs_no_arguments() -> None:
    from kaptain.platform.model_export_util import ModelExportUtil

    parameters = list(inspect.signature(ModelExportUtil).parameters.values())
    assert all(p.default is not REQUIRED for p in parameters)
    assert isinstance(ModelExportUtil(), ModelExportUtil)


# -- class hierarchy -------------------------------------------------------------------------

HIERARCHY = [
    ("kaptain.hyperparameter.domains:Double", "kaptain.hyperparameter.domains:Domain"),
    ("kaptain.hyperparameter.domains:Integer", "kaptain.hyperparameter.domains:Domain"),
    ("kaptain.hyperparameter.domains:Discrete", "kaptain.hyperparameter.domains:Domain"),
    ("kaptain.hyperparameter.domains:Categorical", "kaptain.hyperparameter.domains:Domain"),
    (
        "kaptain.platform.config.provider:FileBasedConfigurationProvider",
        "kaptain.platform.config.provider:ConfigurationProvider",
    ),
    (
        "kaptain.platform.config.provider:EnvironmentVariableConfigurationProvider",
        "kaptain.platform.config.provider:ConfigurationProvider",
    ),
    (
        "kaptain.platform.config.certificates:DockerRegistryCertificateProvider",
        "kaptain.platform.config.provider:FileBasedConfigurationProvider",
    ),
    (
        "kaptain.platform.config.docker:DockerConfigurationProvider",
        "kaptain.platform.config.provider:FileBasedConfigurationProvider",
    ),
    (
        "kaptain.platform.config.s3:S3ConfigurationProvider",
        "kaptain.platform.config.provider:FileBasedConfigurationProvider",
    ),
    (
        "kaptain.platform.config.s3:S3ConfigurationProvider",
        "kaptain.platform.config.provider:EnvironmentVariableConfigurationProvider",
    ),
]


@pytest.mark.parametrize(("child", "parent"), HIERARCHY)
def test_class_hierarchy(child: str, parent: str) -> None:
    assert issubclass(resolve(child), resolve(parent))


def test_configuration_provider_is_abstract() -> None:
    from kaptain.platform.config.provider import ConfigurationProvider

    assert inspect.isabstract(ConfigurationProvider)
    assert "get_secret_body" in ConfigurationProvider.__abstractmethods__


@pytest.mark.parametrize(
    ("dotted", "value", "member"),
    [
        ("kaptain.hyperparameter.algorithms:Algorithm", "random", "RANDOM"),
        ("kaptain.model.frameworks:ModelFramework", "pytorch", "PYTORCH"),
        ("kaptain.model.frameworks:ModelFramework", "tensorflow", "TENSORFLOW"),
    ],
)
def test_of_returns_the_member(dotted: str, value: str, member: str) -> None:
    enum = resolve(dotted)
    assert enum.of(value) is getattr(enum, member)


# -- kaptain.config: base_dir means "cwd at call time" ---------------------------------------


def _providers() -> tuple[Any, Any]:
    from kaptain.platform.config.docker import DockerConfigurationProvider
    from kaptain.platform.config.local import LocalStorageConfigurationProvider

    return DockerConfigurationProvider.empty(), LocalStorageConfigurationProvider()


def test_config_base_dir_defaults_to_cwd_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaptain.config import Config

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    assert Config(*_providers()).base_dir == str(first.resolve())
    monkeypatch.chdir(second)
    assert Config(*_providers()).base_dir == str(second.resolve())
    assert os.getcwd() == str(second.resolve())


def test_config_keeps_an_explicit_base_dir(tmp_path: Path) -> None:
    from kaptain.config import Config

    assert Config(*_providers(), base_dir=str(tmp_path)).base_dir == str(tmp_path)


# -- kaptain.envs: every property readable and settable -------------------------------------

ENVS: list[tuple[str, str, Any, Any]] = [
    # property, variable, default, a value to set
    ("VERBOSE", "KAPTAIN_SDK_VERBOSE", False, True),
    ("DEBUG", "KAPTAIN_SDK_DEBUG", False, True),
    ("LOG_TIMEFORMAT", "KAPTAIN_SDK_LOG_TIMEFORMAT", "%Y-%m-%d %H:%M:%S", "%H:%M"),
    ("DOCKER_BUILDER_CPU_LIMIT", "DOCKER_BUILDER_CPU_LIMIT", "1", "2"),
    ("DOCKER_BUILDER_MEM_LIMIT", "DOCKER_BUILDER_MEM_LIMIT", "1G", "4G"),
    ("DOCKER_BUILDER_CPU_REQUEST", "DOCKER_BUILDER_CPU_REQUEST", "500m", "250m"),
    ("DOCKER_BUILDER_MEM_REQUEST", "DOCKER_BUILDER_MEM_REQUEST", "500M", "1G"),
    ("KAPTAIN_SDK_DELETE_EXPERIMENT", "KAPTAIN_SDK_DELETE_EXPERIMENT", False, True),
    ("KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", "KAPTAIN_SDK_TTL_SECONDS_AFTER_FINISHED", None, 30),
    ("KAPTAIN_SDK_FORCE_CLEANUP", "KAPTAIN_SDK_FORCE_CLEANUP", False, True),
]


@pytest.mark.parametrize(("name", "variable", "default", "value"), ENVS, ids=[e[0] for e in ENVS])
def test_envs_property_readable_and_settable(
    monkeypatch: pytest.MonkeyPatch, name: str, variable: str, default: Any, value: Any
) -> None:
    # Registers the variable with monkeypatch (restored afterwards); blank = unset.
    monkeypatch.setenv(variable, "")
    assert isinstance(inspect.getattr_static(type(envs), name), property)
    assert getattr(envs, name) == default
    setattr(envs, name, value)
    assert getattr(envs, name) == value
    assert os.environ[variable].strip() != ""
    monkeypatch.setenv(variable, "")
    assert getattr(envs, name) == default


# -- kaptain.exceptions ------------------------------------------------------------------------

SEED_EXCEPTIONS = [
    "InvalidModelProperty",
    "UndefinedModelProperty",
    "UnsupportedAlgorithmException",
    "UnsupportedModelDeploymentException",
    "UnsupportedMetricsTypeException",
    "ModelDeploymentException",
    "ModelValidationException",
    "ModelAlreadyExistsException",
    "ImageBuildException",
    "WorkloadDeploymentError",
]

OUR_EXCEPTIONS = [
    "UnsupportedModelFrameworkException",
    "InvalidConfigurationException",
    "TrainingFailedException",
    "PlatformUnavailableException",
]


@pytest.mark.parametrize("name", SEED_EXCEPTIONS + OUR_EXCEPTIONS)
def test_exception_is_a_kaptain_exception(name: str) -> None:
    cls = getattr(exceptions, name)
    assert isinstance(cls, type)
    assert issubclass(cls, exceptions.KaptainException)
    assert issubclass(cls, Exception)
    assert cls.__module__ == "kaptain.exceptions"
    error = cls("message naming something")
    assert str(error) == "message naming something"


def test_exceptions_all_lists_every_class() -> None:
    assert set(SEED_EXCEPTIONS + OUR_EXCEPTIONS + ["KaptainException"]) <= set(exceptions.__all__)
