"""Credentials by reference: workflows carry a secret's name, never its body."""

from kaptain.secrets.local import LocalSecretStore
from kaptain.secrets.names import new_nonce, secret_name
from kaptain.secrets.staging import (
    LocalStager,
    SecretStager,
    StagedCredentials,
    stage_credentials,
)

__all__ = [
    "LocalSecretStore",
    "LocalStager",
    "SecretStager",
    "StagedCredentials",
    "new_nonce",
    "secret_name",
    "stage_credentials",
]
