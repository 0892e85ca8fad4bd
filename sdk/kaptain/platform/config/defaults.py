"""Default locations of configuration files, resolved when called (never at import).

``$HOME`` (and the AWS overrides ``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE``) are
read at each call, so a notebook that changes them is honoured.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = [
    "DEFAULT_AWS_PROFILE",
    "DEFAULT_AWS_REGION",
    "aws_config_path",
    "aws_credentials_path",
    "docker_config_path",
    "home_dir",
    "registry_certificate_path",
]

DEFAULT_AWS_REGION: Final = "us-east-1"
"""Region used when none is configured."""

DEFAULT_AWS_PROFILE: Final = "default"
"""Profile read from the AWS files when none is named."""


def home_dir() -> Path:
    """The user's home directory (``$HOME``), resolved now.

    Returns:
        The home directory.
    """
    return Path(os.path.expanduser("~"))


def docker_config_path() -> Path:
    """Default Docker configuration file: ``$HOME/.docker/config.json``.

    Returns:
        The path.
    """
    return home_dir() / ".docker" / "config.json"


def registry_certificate_path() -> Path:
    """Default registry CA certificate file: ``$HOME/.tls/certificate.crt``.

    Returns:
        The path.
    """
    return home_dir() / ".tls" / "certificate.crt"


def aws_credentials_path() -> Path:
    """Default AWS credentials file: ``$AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``.

    Returns:
        The path.
    """
    override = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "").strip()
    return Path(override).expanduser() if override else home_dir() / ".aws" / "credentials"


def aws_config_path() -> Path:
    """Default AWS config file: ``$AWS_CONFIG_FILE`` or ``~/.aws/config``.

    Returns:
        The path.
    """
    override = os.environ.get("AWS_CONFIG_FILE", "").strip()
    return Path(override).expanduser() if override else home_dir() / ".aws" / "config"
