"""Exactly the API access the Kubernetes activities use: the worker's Role is checked against it.

``deploy/base/role.yaml`` must grant these (group, resource, verbs) and nothing more; a test
compares the two, and the integration tests check every request the activities make against
this list (the API emulator records them).
"""

from __future__ import annotations

from typing import Final

WORKER_PERMISSIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("", "secrets"): frozenset({"get", "delete", "list", "create", "update"}),
    ("", "pods"): frozenset({"get", "list"}),
    ("", "pods/log"): frozenset({"get"}),
    ("", "events"): frozenset({"list"}),
    ("batch", "jobs"): frozenset({"create", "get", "list", "watch", "delete"}),
    ("kubeflow.org", "pytorchjobs"): frozenset({"create", "get", "list", "watch", "delete"}),
    ("kubeflow.org", "tfjobs"): frozenset({"create", "get", "list", "watch", "delete"}),
    # kaptain.utils: list what Kaptain created, delete it after checking its labels.
    ("", "serviceaccounts"): frozenset({"get", "list", "delete", "create", "update"}),
    ("serving.kserve.io", "inferenceservices"): frozenset(
        {"get", "list", "delete", "create", "update", "patch", "watch"}
    ),
    # Serving (KubeServingActivities): a deployment's KServe storage Secret and ServiceAccount
    # are created/updated above; each revision's queue-proxy metrics through the API server.
    ("", "services/proxy"): frozenset({"get"}),
}
"""(API group, resource) -> verbs the worker's service account needs in its namespace."""

USER_PERMISSIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("", "secrets"): frozenset({"create", "update", "delete"}),
    ("", "pods/log"): frozenset({"get"}),
}
"""What a notebook user's account needs (``kaptain.cluster``): staging credentials as Secrets
(replaced when a name is taken, deleted when a run does not start) and reading pod logs for
``verbose`` runs; nothing else."""
