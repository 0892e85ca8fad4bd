from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kaptain.exceptions import InvalidConfigurationException, ModelValidationException
from kaptain.platform.config import (
    ConfigurationProvider,
    DockerConfigurationProvider,
    DockerRegistryCertificateProvider,
    EnvironmentVariableConfigurationProvider,
    FileBasedConfigurationProvider,
    LocalStorageConfigurationProvider,
    S3ConfigurationProvider,
    defaults,
)

pytestmark = pytest.mark.usefixtures("clean_env")

PASSWORD = "hunter2-very-secret"
AUTH = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
DOCKER_CONFIG = json.dumps(
    {
        "auths": {
            "https://index.docker.io/v1/": {"auth": AUTH},
            "registry.local:5000": {"username": "bob", "password": PASSWORD},
            "ghcr.io": {},
        }
    }
)
PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUQ2xhc3NpY1Rlc3RDZXJ0aWZpY2F0ZTAKBggqhkjOPQQD\n"
    "-----END CERTIFICATE-----\n"
)
SECRET_KEY = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- the interfaces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        ConfigurationProvider,
        FileBasedConfigurationProvider,
        EnvironmentVariableConfigurationProvider,
    ],
)
def test_interfaces_are_abstract(cls: type[ConfigurationProvider]) -> None:
    with pytest.raises(TypeError):
        cls()


def test_s3_is_file_and_env_based() -> None:
    assert issubclass(S3ConfigurationProvider, FileBasedConfigurationProvider)
    assert issubclass(S3ConfigurationProvider, EnvironmentVariableConfigurationProvider)
    assert issubclass(DockerConfigurationProvider, FileBasedConfigurationProvider)
    assert issubclass(DockerRegistryCertificateProvider, FileBasedConfigurationProvider)


def test_invalid_configuration_is_a_validation_error() -> None:
    assert issubclass(InvalidConfigurationException, ModelValidationException)


# -- Docker -----------------------------------------------------------------------------


def test_docker_config() -> None:
    provider = DockerConfigurationProvider(DOCKER_CONFIG)
    assert provider.registries() == [
        "https://index.docker.io/v1/",
        "registry.local:5000",
        "ghcr.io",
    ]
    assert provider.get_secret_body() == {".dockerconfigjson": DOCKER_CONFIG}
    assert provider.secret_kind == "kubernetes.io/dockerconfigjson"
    assert provider.config_json == DOCKER_CONFIG


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ("https://index.docker.io/v1/", ("alice", PASSWORD)),
        ("docker.io", ("alice", PASSWORD)),
        ("index.docker.io", ("alice", PASSWORD)),
        ("registry.local:5000", ("bob", PASSWORD)),
        ("https://registry.local:5000/v2/", ("bob", PASSWORD)),
        ("registry.local:5000/kaptain/mnist", ("bob", PASSWORD)),
        ("ghcr.io", None),
        ("quay.io", None),
    ],
)
def test_docker_credentials_for(registry: str, expected: tuple[str, str] | None) -> None:
    assert DockerConfigurationProvider(DOCKER_CONFIG).credentials_for(registry) == expected


def test_docker_password_with_colon() -> None:
    auth = base64.b64encode(b"user:pa:ss").decode()
    provider = DockerConfigurationProvider(json.dumps({"auths": {"r": {"auth": auth}}}))
    assert provider.credentials_for("r") == ("user", "pa:ss")


def test_docker_empty() -> None:
    provider = DockerConfigurationProvider.empty()
    assert provider.registries() == []
    assert json.loads(provider.get_secret_body()[".dockerconfigjson"]) == {"auths": {}}


BAD_DOCKER = [
    ("not json", "not valid JSON"),
    ("", "not valid JSON"),
    ("[]", "no 'auths'"),
    ("{}", "no 'auths'"),
    ('{"auths": []}', "no 'auths'"),
    ('{"auths": {"r": "x"}}', "must be an object"),
    ('{"auths": {"r": {"auth": "***"}}}', "invalid 'auth'"),
    ('{"auths": {"r": {"auth": "' + base64.b64encode(b"nocolon").decode() + '"}}}', "'auth'"),
    ('{"auths": {"r": {"auth": 5}}}', "'auth'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_DOCKER)
def test_docker_bad_input(text: str, message: str) -> None:
    with pytest.raises(InvalidConfigurationException, match=message):
        DockerConfigurationProvider(text)


def test_docker_bad_json_does_not_echo_secrets() -> None:
    text = '{"auths": {"r": {"auth": "' + AUTH + '"}}'  # missing brace
    with pytest.raises(InvalidConfigurationException) as error:
        DockerConfigurationProvider(text)
    assert AUTH not in str(error.value)


def test_docker_not_a_string() -> None:
    with pytest.raises(InvalidConfigurationException, match="JSON string"):
        DockerConfigurationProvider({"auths": {}})  # type: ignore[arg-type]


def test_docker_from_default_file(clean_env: Path) -> None:
    write(clean_env / ".docker" / "config.json", DOCKER_CONFIG)
    provider = DockerConfigurationProvider.from_file()
    assert provider.credentials_for("docker.io") == ("alice", PASSWORD)
    assert str(clean_env / ".docker" / "config.json") in repr(provider)


def test_docker_default_path_follows_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    assert defaults.docker_config_path() == tmp_path / "elsewhere" / ".docker" / "config.json"


def test_docker_from_explicit_file(tmp_path: Path) -> None:
    path = write(tmp_path / "cfg.json", DOCKER_CONFIG)
    assert DockerConfigurationProvider.from_file(str(path)).registries()[1] == "registry.local:5000"


def test_docker_missing_file_names_path(clean_env: Path) -> None:
    with pytest.raises(InvalidConfigurationException, match="not found") as error:
        DockerConfigurationProvider.from_file()
    assert str(clean_env / ".docker" / "config.json") in str(error.value)


def test_docker_file_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigurationException, match=str(tmp_path)):
        DockerConfigurationProvider.from_file(str(tmp_path))


# -- registry certificate ---------------------------------------------------------------


def test_certificate() -> None:
    provider = DockerRegistryCertificateProvider(PEM)
    assert provider.get_secret_body() == {"ca.crt": PEM}
    assert provider.certificate_path is None
    assert provider.certificate_body == PEM
    assert provider.secret_kind == "Opaque"


def test_certificate_from_default_file(clean_env: Path) -> None:
    path = write(clean_env / ".tls" / "certificate.crt", PEM + PEM)
    provider = DockerRegistryCertificateProvider.from_file()
    assert provider.certificate_path == str(path)
    assert provider.get_secret_body() == {"ca.crt": PEM + PEM}
    assert "certificates=2" in repr(provider)


def test_certificate_missing_file_names_path(clean_env: Path) -> None:
    with pytest.raises(InvalidConfigurationException) as error:
        DockerRegistryCertificateProvider.from_file()
    assert str(clean_env / ".tls" / "certificate.crt") in str(error.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("hello", "not a PEM"),
        ("", "not a PEM"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n", "truncated"),
        ("-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----", "not a PEM"),
    ],
)
def test_certificate_bad_input(body: str, message: str) -> None:
    with pytest.raises(InvalidConfigurationException, match=message):
        DockerRegistryCertificateProvider(body)


def test_certificate_bad_file_names_path(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.crt", "nope")
    with pytest.raises(InvalidConfigurationException, match=str(path)):
        DockerRegistryCertificateProvider.from_file(str(path))


# -- S3 ---------------------------------------------------------------------------------


def s3(**overrides: object) -> S3ConfigurationProvider:
    kwargs: dict[str, object] = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET_KEY}
    kwargs.update(overrides)
    return S3ConfigurationProvider(**kwargs)  # type: ignore[arg-type]


def test_s3_defaults() -> None:
    provider = s3()
    assert provider.region_name == "us-east-1"
    assert provider.s3_endpoint is None
    assert provider.s3_force_path_style is False
    assert provider.s3_verify_ssl is True
    assert provider.get_secret_body() == {
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "S3_FORCE_PATH_STYLE": "false",
        "S3_USE_HTTPS": "1",
        "S3_VERIFY_SSL": "1",
    }


def test_s3_positional_seed_signature() -> None:
    provider = S3ConfigurationProvider(
        KEY_ID, SECRET_KEY, TOKEN, "eu-west-1", "http://minio.kubeflow:9000/", "s3v4", True
    )
    assert provider.get_secret_body() == {
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "S3_ENDPOINT": "http://minio.kubeflow:9000",
        "AWS_ENDPOINT_URL_S3": "http://minio.kubeflow:9000",
        "S3_SIGNATURE_VERSION": "s3v4",
        "S3_FORCE_PATH_STYLE": "true",
        "S3_USE_HTTPS": "0",
        "S3_VERIFY_SSL": "1",
    }


def test_s3_https_endpoint_without_verification() -> None:
    body = s3(s3_endpoint="https://minio:9000", s3_verify_ssl=False).get_secret_body()
    assert (body["S3_USE_HTTPS"], body["S3_VERIFY_SSL"]) == ("1", "0")


BAD_S3: list[tuple[dict[str, object], str]] = [
    ({"aws_access_key_id": ""}, "aws_access_key_id"),
    ({"aws_access_key_id": "  "}, "aws_access_key_id"),
    ({"aws_access_key_id": None}, "aws_access_key_id"),
    ({"aws_secret_access_key": ""}, "aws_secret_access_key"),
    ({"s3_endpoint": "minio:9000"}, "complete http"),
    ({"s3_endpoint": "ftp://minio"}, "complete http"),
    ({"s3_endpoint": "http://"}, "complete http"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_S3)
def test_s3_bad_input(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfigurationException, match=message):
        s3(**overrides)


def test_s3_blank_optionals_are_unset() -> None:
    provider = s3(aws_session_token=" ", region_name="", s3_signature_version="")
    assert provider.aws_session_token is None
    assert provider.region_name == "us-east-1"
    assert provider.s3_signature_version is None


CREDENTIALS = f"""
[default]
aws_access_key_id = {KEY_ID}
aws_secret_access_key = {SECRET_KEY}

[minio]
aws_access_key_id = minio
aws_secret_access_key = minio123
aws_session_token = {TOKEN}
region = ap-south-1
"""

CONFIG = """
[default]
region = eu-central-1

[profile minio]
s3 =
    endpoint_url = http://minio.kubeflow:9000
    addressing_style = path
    signature_version = s3v4

[profile top]
endpoint_url = https://storage.example.com
"""


def test_s3_from_default_files(clean_env: Path) -> None:
    write(clean_env / ".aws" / "credentials", CREDENTIALS)
    write(clean_env / ".aws" / "config", CONFIG)
    assert S3ConfigurationProvider.from_file() == s3(region_name="eu-central-1")


def test_s3_from_named_profile_with_nested_s3_block(clean_env: Path) -> None:
    write(clean_env / ".aws" / "credentials", CREDENTIALS)
    write(clean_env / ".aws" / "config", CONFIG)
    provider = S3ConfigurationProvider.from_file(profile="minio")
    assert provider == S3ConfigurationProvider(
        "minio", "minio123", TOKEN, "ap-south-1", "http://minio.kubeflow:9000", "s3v4", True
    )


def test_s3_from_file_top_level_endpoint(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "creds", "[top]\naws_access_key_id = a\naws_secret_access_key = b\n"
    )
    config = write(tmp_path / "config", CONFIG)
    provider = S3ConfigurationProvider.from_file(str(credentials), "top", str(config))
    assert provider.s3_endpoint == "https://storage.example.com"
    assert provider.region_name == "us-east-1"


def test_s3_from_file_without_config_file(clean_env: Path) -> None:
    write(clean_env / ".aws" / "credentials", CREDENTIALS)
    assert S3ConfigurationProvider.from_file().region_name == "us-east-1"


def test_s3_from_file_honours_aws_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(write(tmp_path / "c", CREDENTIALS)))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(write(tmp_path / "k", CONFIG)))
    assert S3ConfigurationProvider.from_file().region_name == "eu-central-1"


def test_s3_from_file_missing_file_names_path(clean_env: Path) -> None:
    with pytest.raises(InvalidConfigurationException) as error:
        S3ConfigurationProvider.from_file()
    assert str(clean_env / ".aws" / "credentials") in str(error.value)


def test_s3_from_file_missing_profile(clean_env: Path) -> None:
    write(clean_env / ".aws" / "credentials", CREDENTIALS)
    with pytest.raises(InvalidConfigurationException, match="'prod' not found"):
        S3ConfigurationProvider.from_file(profile="prod")


def test_s3_from_file_missing_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c", "[default]\naws_access_key_id = a\n")
    with pytest.raises(InvalidConfigurationException, match="aws_secret_access_key") as error:
        S3ConfigurationProvider.from_file(str(path))
    assert str(path) in str(error.value)


def test_s3_from_malformed_file_does_not_echo_secrets(tmp_path: Path) -> None:
    path = write(tmp_path / "c", f"aws_secret_access_key = {SECRET_KEY}\n[default]\n")
    with pytest.raises(InvalidConfigurationException, match="malformed") as error:
        S3ConfigurationProvider.from_file(str(path))
    assert SECRET_KEY not in str(error.value)
    path = write(tmp_path / "d", f"[default]\naws_access_key_id = a\n  {SECRET_KEY}\n[x\n")
    with pytest.raises(InvalidConfigurationException, match="malformed") as error:
        S3ConfigurationProvider.from_file(str(path))
    assert SECRET_KEY not in str(error.value)


def test_s3_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("S3_ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("S3_SIGNATURE_VERSION", "s3v4")
    monkeypatch.setenv("S3_FORCE_PATH_STYLE", "yes")
    monkeypatch.setenv("S3_VERIFY_SSL", "0")
    assert S3ConfigurationProvider.from_env() == S3ConfigurationProvider(
        KEY_ID,
        SECRET_KEY,
        TOKEN,
        "eu-west-3",
        "http://minio:9000",
        "s3v4",
        True,
        s3_verify_ssl=False,
    )


def test_s3_from_env_minimal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    assert S3ConfigurationProvider.from_env() == s3()


@pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_s3_from_env_missing_names_variable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if name != missing:
            monkeypatch.setenv(name, "x")
    with pytest.raises(InvalidConfigurationException, match=missing):
        S3ConfigurationProvider.from_env()


@pytest.mark.parametrize(
    ("variables", "endpoint", "region"),
    [
        ({"AWS_ENDPOINT_URL_S3": "http://a:1"}, "http://a:1", "us-east-1"),
        ({"AWS_ENDPOINT_URL": "http://b:2"}, "http://b:2", "us-east-1"),
        (
            {"S3_ENDPOINT": "http://c:3", "AWS_ENDPOINT_URL": "http://b:2"},
            "http://c:3",
            "us-east-1",
        ),
        ({"S3_ENDPOINT": "minio:9000", "S3_USE_HTTPS": "0"}, "http://minio:9000", "us-east-1"),
        ({"S3_ENDPOINT": "minio:9000"}, "https://minio:9000", "us-east-1"),
        ({"AWS_DEFAULT_REGION": "sa-east-1"}, None, "sa-east-1"),
        ({"AWS_DEFAULT_REGION": "sa-east-1", "AWS_REGION": "af-south-1"}, None, "af-south-1"),
    ],
)
def test_s3_from_env_fallbacks(
    variables: dict[str, str], endpoint: str | None, region: str
) -> None:
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", **variables}
    provider = S3ConfigurationProvider.from_env(env)
    assert (provider.s3_endpoint, provider.region_name) == (endpoint, region)


@pytest.mark.parametrize(
    "provider",
    [
        s3(),
        s3(aws_session_token=TOKEN, region_name="eu-west-1"),
        s3(s3_endpoint="http://minio:9000", s3_force_path_style=True, s3_signature_version="s3v4"),
        s3(s3_endpoint="https://minio:9000", s3_verify_ssl=False),
    ],
)
def test_s3_secret_body_round_trips_through_from_env(provider: S3ConfigurationProvider) -> None:
    assert S3ConfigurationProvider.from_env(provider.get_secret_body()) == provider


def test_s3_repr_masks_userinfo_in_endpoint() -> None:
    provider = s3(s3_endpoint="http://user:pw-in-url@minio:9000")
    assert "pw-in-url" not in repr(provider)
    assert "minio:9000" in repr(provider)


# -- local ------------------------------------------------------------------------------


def test_local_provider(tmp_path: Path) -> None:
    provider = LocalStorageConfigurationProvider(str(tmp_path / "models"))
    assert provider.get_secret_body() == {}
    assert provider.root == str(tmp_path / "models")
    assert provider.root_uri == (tmp_path / "models").as_uri()
    assert LocalStorageConfigurationProvider().root is None
    assert LocalStorageConfigurationProvider().root_uri is None


def test_local_provider_expands_home(clean_env: Path) -> None:
    assert LocalStorageConfigurationProvider("~/m").root == str(clean_env / "m")


def test_local_provider_rejects_blank() -> None:
    with pytest.raises(InvalidConfigurationException):
        LocalStorageConfigurationProvider(" ")


# -- no secret in str() or repr() -------------------------------------------------------


def all_providers() -> list[tuple[ConfigurationProvider, list[str]]]:
    return [
        (DockerConfigurationProvider(DOCKER_CONFIG), [PASSWORD, AUTH]),
        (DockerRegistryCertificateProvider(PEM, "/x/ca.crt"), ["MIIBszCCAVmgAwIBAgIU"]),
        (
            s3(aws_session_token=TOKEN, s3_endpoint="http://minio:9000"),
            [SECRET_KEY, KEY_ID, TOKEN],
        ),
        (LocalStorageConfigurationProvider("/data/models"), []),
    ]


@pytest.mark.parametrize(("provider", "secrets"), all_providers())
def test_str_and_repr_hide_secrets(provider: ConfigurationProvider, secrets: list[str]) -> None:
    for text in (str(provider), repr(provider), f"{provider}", provider.description):
        assert text.startswith(type(provider).__name__) or text == provider.description
        for secret in secrets:
            assert secret not in text
    assert type(provider).__name__ in repr(provider)


def test_s3_repr_is_informative() -> None:
    text = repr(s3(aws_session_token=TOKEN, s3_endpoint="http://minio:9000"))
    assert "****" in text
    assert "http://minio:9000" in text
    assert "us-east-1" in text
