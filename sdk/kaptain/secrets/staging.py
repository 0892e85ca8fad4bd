"""Stage an action's credentials where its platform reads them, and name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kaptain.platform.config.provider import ConfigurationProvider
from kaptain.secrets.local import LocalSecretStore
from kaptain.secrets.names import new_nonce, secret_name
from kaptain.stack.paths import state_paths


class SecretStager(Protocol):
    """Where staged secrets go: a local 0600 file or a Kubernetes Secret."""

    def put(self, name: str, model_id: str, secret_type: str, body: dict[str, str]) -> str:
        """Create or replace a secret; returns its name."""
        ...

    def delete(self, name: str) -> bool:
        """Delete a secret; False when it did not exist."""
        ...


class LocalStager:
    """Stages into the local platform's secret directory (``$KAPTAIN_HOME/secrets``)."""

    def __init__(self, store: LocalSecretStore | None = None) -> None:
        self._store = store or LocalSecretStore(state_paths().secrets)

    def put(self, name: str, model_id: str, secret_type: str, body: dict[str, str]) -> str:
        """Write the body as a private file (model id and type are not needed locally)."""
        return self._store.put(name, body)

    def delete(self, name: str) -> bool:
        """Remove the file."""
        return self._store.delete(name)


@dataclass(frozen=True)
class StagedCredentials:
    """Names of the secrets staged for one action call (None: nothing to stage)."""

    storage: str | None = None
    docker_config: str | None = None
    registry_ca: str | None = None

    @property
    def names(self) -> list[str]:
        """Every staged name."""
        return [n for n in (self.storage, self.docker_config, self.registry_ca) if n]


def stage_credentials(
    stager: SecretStager,
    model_id: str,
    *,
    storage: ConfigurationProvider | None,
    docker_config: ConfigurationProvider | None = None,
    registry_ca: ConfigurationProvider | None = None,
) -> StagedCredentials:
    """Stage the given providers' secret bodies under fresh deterministic names.

    A provider whose body is empty stages nothing. If staging fails half-way, what was
    staged is deleted again before the error propagates.
    """
    nonce = new_nonce()
    staged: dict[str, str] = {}
    try:
        for purpose, provider in (
            ("storage", storage),
            ("docker", docker_config),
            ("registry-ca", registry_ca),
        ):
            if provider is None:
                continue
            body = provider.get_secret_body()
            if not body or _empty_docker_config(body):
                continue
            name = secret_name(model_id, purpose, nonce)
            staged[purpose] = stager.put(name, model_id, provider.secret_kind, body)
    except BaseException:
        for name in staged.values():
            stager.delete(name)
        raise
    return StagedCredentials(
        storage=staged.get("storage"),
        docker_config=staged.get("docker"),
        registry_ca=staged.get("registry-ca"),
    )


def _empty_docker_config(body: dict[str, str]) -> bool:
    import json

    raw = body.get(".dockerconfigjson")
    if raw is None:
        return False
    try:
        return not json.loads(raw).get("auths")
    except ValueError:
        return False
