"""Credentials by reference: workflows carry a secret's name, never its body."""

from kaptain.secrets.local import LocalSecretStore, storage_secret_name

__all__ = ["LocalSecretStore", "storage_secret_name"]
