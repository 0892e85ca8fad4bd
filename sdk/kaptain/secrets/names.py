"""Deterministic secret names: one set per action call, recorded in the workflow input."""

from __future__ import annotations

import secrets

from kaptain.contracts.names import model_slug


def new_nonce() -> str:
    """8 hex characters naming one action call's secrets."""
    return secrets.token_hex(4)


def secret_name(model_id: str, purpose: str, nonce: str) -> str:
    """``kaptain-<model slug>-<nonce>-<purpose>``, a valid Secret name (<= 63 chars).

    Args:
        model_id: The model's id.
        purpose: ``storage``, ``docker`` or ``registry-ca``.
        nonce: The action call's nonce (see :func:`new_nonce`).
    """
    slug = model_slug(model_id)[: 63 - len(f"kaptain--{nonce}-{purpose}")].rstrip("-")
    return f"kaptain-{slug}-{nonce}-{purpose}"
