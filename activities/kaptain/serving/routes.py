"""The router's route table and its traffic split.

The routes file (JSON) maps each deployment name to its namespace and revisions::

    {"deployments": {"dev-mnist": {"namespace": "default", "revisions": [
        {"revision": "r1", "weight": 70, "backends": ["http://127.0.0.1:40001"]},
        {"revision": "r2", "weight": 30, "backends": ["http://127.0.0.1:40002"]}]}}}

Weights are percentages. Revisions are chosen by smooth weighted round-robin (as nginx
does), which spreads them evenly: any window of 100 requests matches the weights exactly.
Replicas of a revision take turns.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DeploymentRoute", "RevisionRoute", "load_routes", "routes_document"]


@dataclass
class RevisionRoute:
    """One revision's share of a deployment's traffic.

    Attributes:
        revision: The revision's name.
        weight: Percent of the deployment's requests.
        backends: Base URLs of its replicas.
    """

    revision: str
    weight: int
    backends: list[str]
    _turns: Iterator[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._turns = itertools.cycle(self.backends)

    def next_backend(self) -> str:
        """The replica whose turn it is."""
        return next(self._turns)


@dataclass
class DeploymentRoute:
    """The revisions behind one deployment name.

    Attributes:
        namespace: The deployment's namespace (a metrics label).
        revisions: Revisions and their weights.
    """

    namespace: str
    revisions: list[RevisionRoute]
    _current: dict[str, int] = field(init=False, repr=False, default_factory=dict)

    def pick(self) -> RevisionRoute | None:
        """The next revision by smooth weighted round-robin (None when no weight is set)."""
        live = [r for r in self.revisions if r.weight > 0 and r.backends]
        if not live:
            return None
        total = sum(r.weight for r in live)
        for route in live:
            self._current[route.revision] = self._current.get(route.revision, 0) + route.weight
        chosen = max(live, key=lambda r: self._current[r.revision])
        self._current[chosen.revision] -= total
        return chosen


def load_routes(path: Path) -> dict[str, DeploymentRoute]:
    """Read the routes file (a missing file means no routes).

    Args:
        path: The routes file.

    Returns:
        Deployment name -> its route.
    """
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return {
        name: DeploymentRoute(
            namespace=entry.get("namespace", "default"),
            revisions=[
                RevisionRoute(r["revision"], int(r["weight"]), list(r["backends"]))
                for r in entry["revisions"]
            ],
        )
        for name, entry in document.get("deployments", {}).items()
    }


def routes_document(routes: dict[str, DeploymentRoute]) -> dict[str, Any]:
    """The JSON document of a route table (the inverse of :func:`load_routes`)."""
    return {
        "deployments": {
            name: {
                "namespace": route.namespace,
                "revisions": [
                    {"revision": r.revision, "weight": r.weight, "backends": r.backends}
                    for r in route.revisions
                ],
            }
            for name, route in routes.items()
        }
    }
