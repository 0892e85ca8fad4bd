"""Credentials and endpoint of S3 or S3-compatible (MinIO) blob storage."""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Self
from urllib.parse import urlsplit, urlunsplit

from kaptain.envs import is_true
from kaptain.exceptions import InvalidConfigurationException
from kaptain.platform.config import defaults
from kaptain.platform.config.provider import (
    EnvironmentVariableConfigurationProvider,
    FileBasedConfigurationProvider,
    mask,
    read_config_file,
)

__all__ = ["S3ConfigurationProvider"]

_DEFAULT_REGION: Final = defaults.DEFAULT_AWS_REGION
_FALSE_VALUES: Final = frozenset({"0", "false", "no", "n", "off"})


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidConfigurationException(f"Expected a string, got {type(value).__name__}")
    return value.strip() or None


def _required(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfigurationException(f"S3 configuration: {name} must not be blank")
    return value.strip()


def _endpoint(value: str | None) -> str | None:
    endpoint = _optional(value)
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidConfigurationException(
            f"S3 endpoint must be a complete http(s) URL such as 'http://minio:9000', "
            f"got {_display_url(endpoint)!r}"
        )
    return endpoint.rstrip("/")


def _display_url(url: str) -> str:
    """Hides a ``user:password@`` part of a URL."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"****@{host}"))


def _nested(value: str | None) -> dict[str, str]:
    """Reads a nested AWS config value: the indented ``key = value`` lines under ``s3 =``."""
    result: dict[str, str] = {}
    for line in (value or "").splitlines():
        key, equals, item = line.partition("=")
        if equals and key.strip():
            result[key.strip()] = item.strip()
    return result


def _parse_ini(text: str, path: str, what: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.MissingSectionHeaderError as error:
        raise InvalidConfigurationException(
            f"{what} file {path} is malformed (line {error.lineno}: no [section] header)"
        ) from None
    except configparser.ParsingError as error:
        lines = ", ".join(str(lineno) for lineno, _ in error.errors)
        raise InvalidConfigurationException(
            f"{what} file {path} is malformed (line {lines})"
        ) from None
    except configparser.Error as error:
        raise InvalidConfigurationException(
            f"{what} file {path} is malformed ({type(error).__name__})"
        ) from None
    return parser


class S3ConfigurationProvider(
    FileBasedConfigurationProvider, EnvironmentVariableConfigurationProvider
):
    """S3 configuration, from arguments, from the AWS files or from the environment.

    The provider can be used as a configuration object, or to resolve the configuration
    both on the development side and in containers, where it arrives as environment
    variables from a Secret (:meth:`get_secret_body` writes them, :meth:`from_env` reads
    them back). Constructor arguments are the subset of boto3's configuration Kaptain needs.
    """

    def __init__(
        self,
        aws_access_key_id: str,
        aws_secret_access_key: str,
        aws_session_token: str | None = None,
        region_name: str = _DEFAULT_REGION,
        s3_endpoint: str | None = None,
        s3_signature_version: str | None = None,
        s3_force_path_style: bool = False,
        *,
        s3_verify_ssl: bool = True,
    ) -> None:
        """Creates the provider.

        Args:
            aws_access_key_id: The access key to authenticate with S3.
            aws_secret_access_key: The secret key to authenticate with S3.
            aws_session_token: The session token to authenticate with S3.
            region_name: The name of the AWS region (blank means ``us-east-1``).
            s3_endpoint: The complete URL of the S3 endpoint, required for S3-compatible
                storage such as MinIO, e.g. ``http://minio.kubeflow:9000``.
            s3_signature_version: The signature version when signing requests.
            s3_force_path_style: Use path-style instead of virtual-host-style bucket URLs.
            s3_verify_ssl: Verify the endpoint's TLS certificate.

        Raises:
            InvalidConfigurationException: The key id or secret is blank, or the endpoint
                is not an http(s) URL.
        """
        self._access_key_id = _required(aws_access_key_id, "aws_access_key_id")
        self._secret_access_key = _required(aws_secret_access_key, "aws_secret_access_key")
        self._session_token = _optional(aws_session_token)
        self._region = _optional(region_name) or _DEFAULT_REGION
        self._endpoint = _endpoint(s3_endpoint)
        self._signature_version = _optional(s3_signature_version)
        self._force_path_style = bool(s3_force_path_style)
        self._verify_ssl = bool(s3_verify_ssl)

    @classmethod
    def from_file(
        cls,
        path: str | None = None,
        profile: str = defaults.DEFAULT_AWS_PROFILE,
        config_path: str | None = None,
    ) -> Self:
        """Reads a profile from the AWS credentials and config files.

        Keys and session token come from the credentials file; region, endpoint
        (``endpoint_url``, top-level or in a nested ``s3 =`` block), ``addressing_style =
        path`` and ``signature_version`` from the config file's ``[profile NAME]`` (or
        ``[default]``) section, falling back to the credentials file's section. A missing
        config file is fine.

        Args:
            path: Credentials file; defaults to ``$AWS_SHARED_CREDENTIALS_FILE`` or
                ``~/.aws/credentials`` (resolved now).
            profile: The profile to read.
            config_path: Config file; defaults to ``$AWS_CONFIG_FILE`` or ``~/.aws/config``.

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: The credentials file is missing or malformed, or
                lacks the profile or its keys; the message names the file.
        """
        credentials_file = path if path is not None else str(defaults.aws_credentials_path())
        config_file = config_path if config_path is not None else str(defaults.aws_config_path())
        credentials = _parse_ini(
            read_config_file(credentials_file, "AWS credentials"),
            credentials_file,
            "AWS credentials",
        )
        if not credentials.has_section(profile):
            raise InvalidConfigurationException(
                f"Profile {profile!r} not found in AWS credentials file {credentials_file}"
            )
        config_section: Mapping[str, str] = {}
        if Path(config_file).expanduser().is_file():
            config = _parse_ini(
                read_config_file(config_file, "AWS config"), config_file, "AWS config"
            )
            name = profile if profile == defaults.DEFAULT_AWS_PROFILE else f"profile {profile}"
            if config.has_section(name):
                config_section = config[name]
        credentials_section = credentials[profile]

        def setting(key: str) -> str | None:
            return config_section.get(key) or credentials_section.get(key)

        def required(key: str) -> str:
            value = credentials_section.get(key)
            if value is None or not value.strip():
                raise InvalidConfigurationException(
                    f"{key} is missing from profile {profile!r} in {credentials_file}"
                )
            return value

        s3 = {**_nested(credentials_section.get("s3")), **_nested(config_section.get("s3"))}
        return cls(
            aws_access_key_id=required("aws_access_key_id"),
            aws_secret_access_key=required("aws_secret_access_key"),
            aws_session_token=credentials_section.get("aws_session_token"),
            region_name=setting("region") or _DEFAULT_REGION,
            s3_endpoint=s3.get("endpoint_url") or setting("endpoint_url"),
            s3_signature_version=s3.get("signature_version") or setting("signature_version"),
            s3_force_path_style=s3.get("addressing_style", "").lower() == "path",
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Reads the variables :meth:`get_secret_body` writes (and boto3's own names).

        ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` are required;
        ``AWS_SESSION_TOKEN``, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``, ``S3_ENDPOINT`` or
        ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (a bare ``host:port`` gets the
        scheme of ``S3_USE_HTTPS``), ``S3_SIGNATURE_VERSION``, ``S3_FORCE_PATH_STYLE`` and
        ``S3_VERIFY_SSL`` are optional.

        Args:
            env: The variables; defaults to the process environment.

        Returns:
            The provider.

        Raises:
            InvalidConfigurationException: A required variable is unset or blank (the
                message names it), or the endpoint is invalid.
        """
        source: Mapping[str, str] = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = source.get(name)
            return value.strip() if value and value.strip() else None

        def required(name: str) -> str:
            value = get(name)
            if value is None:
                raise InvalidConfigurationException(f"Environment variable {name} is not set")
            return value

        endpoint = get("S3_ENDPOINT") or get("AWS_ENDPOINT_URL_S3") or get("AWS_ENDPOINT_URL")
        if endpoint is not None and "://" not in endpoint:
            use_https = (get("S3_USE_HTTPS") or "1").lower() not in _FALSE_VALUES
            endpoint = f"{'https' if use_https else 'http'}://{endpoint}"
        return cls(
            aws_access_key_id=required("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=required("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=get("AWS_SESSION_TOKEN"),
            region_name=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or _DEFAULT_REGION,
            s3_endpoint=endpoint,
            s3_signature_version=get("S3_SIGNATURE_VERSION"),
            s3_force_path_style=is_true(get("S3_FORCE_PATH_STYLE")),
            s3_verify_ssl=(get("S3_VERIFY_SSL") or "1").lower() not in _FALSE_VALUES,
        )

    @property
    def aws_access_key_id(self) -> str:
        """The access key id."""
        return self._access_key_id

    @property
    def aws_secret_access_key(self) -> str:
        """The secret access key."""
        return self._secret_access_key

    @property
    def aws_session_token(self) -> str | None:
        """The session token, if any."""
        return self._session_token

    @property
    def region_name(self) -> str:
        """The AWS region."""
        return self._region

    @property
    def s3_endpoint(self) -> str | None:
        """The endpoint URL, if not AWS's."""
        return self._endpoint

    @property
    def s3_signature_version(self) -> str | None:
        """The signature version, if set."""
        return self._signature_version

    @property
    def s3_force_path_style(self) -> bool:
        """Whether path-style bucket URLs are used."""
        return self._force_path_style

    @property
    def s3_verify_ssl(self) -> bool:
        """Whether the endpoint's TLS certificate is verified."""
        return self._verify_ssl

    def get_secret_body(self) -> dict[str, str]:
        """Transforms the configuration into environment variables for a Secret.

        The variables are read by :meth:`from_env`, by
        :func:`kaptain.storage.open_location`, by boto3 itself (``AWS_*``, including
        ``AWS_ENDPOINT_URL_S3``) and by KServe's storage initializer (``S3_*``).

        Returns:
            ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (when
            set), ``AWS_REGION``, ``AWS_DEFAULT_REGION``, ``S3_ENDPOINT`` and
            ``AWS_ENDPOINT_URL_S3`` (when set), ``S3_SIGNATURE_VERSION`` (when set),
            ``S3_FORCE_PATH_STYLE`` (``true``/``false``), ``S3_USE_HTTPS`` and
            ``S3_VERIFY_SSL`` (``1``/``0``).
        """
        body = {
            "AWS_ACCESS_KEY_ID": self._access_key_id,
            "AWS_SECRET_ACCESS_KEY": self._secret_access_key,
        }
        if self._session_token:
            body["AWS_SESSION_TOKEN"] = self._session_token
        body["AWS_REGION"] = self._region
        body["AWS_DEFAULT_REGION"] = self._region
        if self._endpoint:
            body["S3_ENDPOINT"] = self._endpoint
            body["AWS_ENDPOINT_URL_S3"] = self._endpoint
        if self._signature_version:
            body["S3_SIGNATURE_VERSION"] = self._signature_version
        body["S3_FORCE_PATH_STYLE"] = "true" if self._force_path_style else "false"
        plain_http = self._endpoint is not None and self._endpoint.startswith("http://")
        body["S3_USE_HTTPS"] = "0" if plain_http else "1"
        body["S3_VERIFY_SSL"] = "1" if self._verify_ssl else "0"
        return body

    def _fields(self) -> tuple[object, ...]:
        return (
            self._access_key_id,
            self._secret_access_key,
            self._session_token,
            self._region,
            self._endpoint,
            self._signature_version,
            self._force_path_style,
            self._verify_ssl,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, S3ConfigurationProvider):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    @property
    def description(self) -> str:
        """Region, endpoint and flags; keys and token masked."""
        endpoint = None if self._endpoint is None else _display_url(self._endpoint)
        return (
            f"aws_access_key_id={mask(self._access_key_id)}, "
            f"aws_secret_access_key={mask(self._secret_access_key)}, "
            f"aws_session_token={mask(self._session_token)}, "
            f"region_name={self._region!r}, s3_endpoint={endpoint!r}, "
            f"s3_signature_version={self._signature_version!r}, "
            f"s3_force_path_style={self._force_path_style}, s3_verify_ssl={self._verify_ssl}"
        )
