"""What a platform engineer applies (deploy/): least privilege, consistency, valid objects.

- The worker's Role grants exactly ``WORKER_PERMISSIONS`` (what the Kubernetes activities use)
  and the user Role exactly ``USER_PERMISSIONS``: no wildcard, no extra verb or resource.
- The kustomize base lists every file in it; the Deployment runs as the ServiceAccount that the
  RoleBinding binds to the worker's Role, with the ConfigMap that points it at Temporal.
- Every core object round-trips through the ``kubernetes`` client's models, so a misspelled
  field (which the client's models drop) fails here instead of on a cluster.
- The image runs ``python -m kaptain.worker``; Temporal's Helm values agree with the database
  manifest and the worker's ConfigMap; Kaptain's search attributes are registered (by the
  worker's init container) and the README gives the commands to do it by hand.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from kaptain.activities.kubernetes.permissions import USER_PERMISSIONS, WORKER_PERMISSIONS
from kaptain.contracts.names import TASK_QUEUE, SearchAttribute

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
TEMPORAL = DEPLOY / "temporal"

Permissions = Mapping[tuple[str, str], frozenset[str]]
Manifest = dict[str, Any]

MODELS = {
    "ConfigMap": "V1ConfigMap",
    "Deployment": "V1Deployment",
    "Role": "V1Role",
    "RoleBinding": "V1RoleBinding",
    "Secret": "V1Secret",
    "Service": "V1Service",
    "ServiceAccount": "V1ServiceAccount",
    "StatefulSet": "V1StatefulSet",
}
"""Kind -> the kubernetes client's model of its ``v1`` API version."""

REMOVED_CHART_KEYS = ("cassandra", "elasticsearch", "prometheus", "grafana", "mysql", "postgresql")
"""Top-level keys that Temporal's chart (1.x) refuses: its sub-charts were removed."""


def load_documents(path: Path) -> list[Manifest]:
    """Every document of a (multi-document) YAML file; empty documents are skipped."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in documents:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
    return documents


def manifests(*paths: Path) -> list[Manifest]:
    """Every object in the given files."""
    return [doc for path in paths for doc in load_documents(path)]


def base_files() -> list[Path]:
    """The manifests of the kustomize base (everything but kustomization.yaml)."""
    return sorted(
        path
        for path in BASE.iterdir()
        if path.suffix in {".yaml", ".yml"} and path.name != "kustomization.yaml"
    )


def base_objects() -> dict[tuple[str, str], Manifest]:
    """The base's objects by (kind, name); a (kind, name) may appear once."""
    objects: dict[tuple[str, str], Manifest] = {}
    for doc in manifests(*base_files()):
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in objects, f"{key} is defined twice in deploy/base"
        objects[key] = doc
    return objects


def the(kind: str, name: str) -> Manifest:
    """The base's object of that kind and name."""
    objects = base_objects()
    assert (kind, name) in objects, f"deploy/base has no {kind} {name}"
    return objects[(kind, name)]


def of_kind(kind: str) -> list[Manifest]:
    """The base's objects of one kind."""
    return [doc for (k, _), doc in base_objects().items() if k == kind]


def role_permissions(role: Manifest) -> dict[tuple[str, str], frozenset[str]]:
    """A Role's rules as (API group, resource) -> verbs, insisting on one rule per pair."""
    granted: dict[tuple[str, str], frozenset[str]] = {}
    name = role["metadata"]["name"]
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, (
            f"Role {name}: a rule may only name apiGroups, resources and verbs "
            f"(no resourceNames, no nonResourceURLs): {rule}"
        )
        assert len(rule["apiGroups"]) == 1, f"Role {name}: one API group per rule: {rule}"
        assert len(rule["resources"]) == 1, f"Role {name}: one resource per rule: {rule}"
        verbs = rule["verbs"]
        assert verbs == sorted(set(verbs)), f"Role {name}: verbs sorted, each once: {rule}"
        assert "*" not in [*rule["apiGroups"], *rule["resources"], *verbs], (
            f"Role {name}: no wildcards: {rule}"
        )
        key = (rule["apiGroups"][0], rule["resources"][0])
        assert key not in granted, f"Role {name}: {key} has two rules"
        granted[key] = frozenset(verbs)
    return granted


def expected_rules(permissions: Permissions) -> str:
    """The rules block a Role needs for these permissions (shown when a Role is wrong)."""
    rules = [
        {"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
        for (group, resource), verbs in permissions.items()
    ]
    return yaml.safe_dump({"rules": rules}, default_flow_style=None, sort_keys=False)


def assert_grants_exactly(role: Manifest, permissions: Permissions) -> None:
    """The Role grants every (group, resource, verb) of ``permissions`` and nothing else."""
    granted = role_permissions(role)
    wanted = {
        (group, resource, verb)
        for (group, resource), verbs in permissions.items()
        for verb in verbs
    }
    have = {
        (group, resource, verb) for (group, resource), verbs in granted.items() for verb in verbs
    }
    missing, extra = sorted(wanted - have), sorted(have - wanted)
    assert not missing and not extra, (
        f"Role {role['metadata']['name']} is out of step with permissions.py: "
        f"missing {missing}, not needed {extra}. It should read:\n"
        f"{expected_rules(permissions)}"
    )


def worker_pod() -> Manifest:
    """The pod template's spec of the worker's Deployment."""
    spec: Manifest = the("Deployment", "kaptain-worker")["spec"]["template"]["spec"]
    return spec


def container(name: str, *, init: bool = False) -> Manifest:
    """A container (or init container) of the worker's pod."""
    key = "initContainers" if init else "containers"
    found = [c for c in worker_pod().get(key, []) if c["name"] == name]
    assert len(found) == 1, f"the worker's pod has no {key[:-1]} {name!r}"
    spec: Manifest = found[0]
    return spec


def env_sources(spec: Manifest) -> list[tuple[str, str, bool]]:
    """A container's envFrom as (kind, name, optional)."""
    sources: list[tuple[str, str, bool]] = []
    for source in spec.get("envFrom", []):
        for kind in ("configMapRef", "secretRef"):
            if kind in source:
                ref = source[kind]
                sources.append((kind, ref["name"], bool(ref.get("optional", False))))
    return sources


def worker_config() -> dict[str, str]:
    """The data of the ConfigMap the worker reads its settings from."""
    names = [name for kind, name, _ in env_sources(container("worker")) if kind == "configMapRef"]
    assert len(names) == 1, "the worker reads exactly one ConfigMap"
    data: dict[str, str] = the("ConfigMap", names[0])["data"]
    return data


# --- RBAC --------------------------------------------------------------------------------


def test_worker_role_grants_exactly_the_worker_permissions() -> None:
    assert_grants_exactly(the("Role", "kaptain-worker"), WORKER_PERMISSIONS)


def test_user_role_grants_exactly_the_user_permissions() -> None:
    assert_grants_exactly(the("Role", "kaptain-user"), USER_PERMISSIONS)


def test_rbac_stays_in_the_namespace() -> None:
    kinds = {kind for kind, _ in base_objects()}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}, "the base grants nothing cluster-wide"
    for role in of_kind("Role"):
        assert "namespace" not in role["metadata"], "the overlay chooses the namespace"


def test_the_worker_runs_as_the_service_account_bound_to_its_role() -> None:
    account = worker_pod()["serviceAccountName"]
    assert ("ServiceAccount", account) in base_objects()
    assert worker_pod().get("automountServiceAccountToken", True), "the worker needs its token"
    bindings = of_kind("RoleBinding")
    assert len(bindings) == 1, "one binding: the worker's (kaptain-user is bound by the admin)"
    binding = bindings[0]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "kaptain-worker",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account}]


# --- kustomize base ----------------------------------------------------------------------


def test_kustomization_lists_every_file_of_the_base() -> None:
    (kustomization,) = load_documents(BASE / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    assert sorted(listed) == [path.name for path in base_files()]
    assert "namespace" not in kustomization, "the base works in any namespace"


def test_example_overlay_sets_namespace_and_image() -> None:
    (overlay,) = load_documents(DEPLOY / "overlays" / "example" / "kustomization.yaml")
    assert overlay["resources"] == ["../../base"]
    assert overlay["namespace"]
    images = {image["name"] for image in overlay["images"]}
    assert images == {c["image"].split(":")[0] for c in worker_pod()["containers"]}


def test_the_worker_serves_the_kubernetes_platform() -> None:
    worker = container("worker")
    assert worker["args"] == ["--platform", "kubernetes"]
    assert "command" not in worker, "the image's ENTRYPOINT runs python -m kaptain.worker"
    assert env_sources(worker) == [
        ("configMapRef", "kaptain-worker", False),
        ("secretRef", "kaptain-worker-env", True),
    ]
    assert the("Deployment", "kaptain-worker")["spec"]["replicas"] == 1
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(worker["resources"][part])


def test_the_worker_is_locked_down_and_writes_only_to_tmp() -> None:
    pod = worker_pod()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for spec in [*pod["containers"], *pod["initContainers"]]:
        context = spec["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
    worker = container("worker")
    mounts = {mount["mountPath"]: mount["name"] for mount in worker["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = {item["name"]: item.get("value") for item in worker["env"]}
    assert env["KAPTAIN_HOME"].startswith("/tmp/")
    assert env["HOME"] == "/tmp"


def test_the_config_map_points_the_worker_at_temporal() -> None:
    config = worker_config()
    required = {"KAPTAIN_TEMPORAL_ADDRESS", "KAPTAIN_TEMPORAL_NAMESPACE", "KAPTAIN_TASK_QUEUE"}
    assert required <= set(config)
    host, _, port = config["KAPTAIN_TEMPORAL_ADDRESS"].rpartition(":")
    assert host and port == "7233"
    assert config["KAPTAIN_TASK_QUEUE"] == TASK_QUEUE
    assert all(isinstance(value, str) for value in config.values())


def test_the_worker_registers_the_search_attributes_before_it_starts() -> None:
    init = container("register-search-attributes", init=True)
    assert init["image"] == container("worker")["image"], "the worker image carries the CLI"
    assert env_sources(init) == env_sources(container("worker"))
    assert init["command"] == ["temporal"]
    args: list[str] = init["args"]
    assert args[:3] == ["operator", "search-attribute", "create"]
    flags = dict(zip(args[3::2], args[4::2], strict=True))
    assert flags["--address"] == "$(KAPTAIN_TEMPORAL_ADDRESS)"
    assert flags["--namespace"] == "$(KAPTAIN_TEMPORAL_NAMESPACE)"
    assert flags["--type"] == "Keyword"
    names = [value for flag, value in zip(args[3::2], args[4::2], strict=True) if flag == "--name"]
    assert names == list(SearchAttribute.ALL)


# --- objects against the Kubernetes API models -------------------------------------------


def core_objects() -> Iterator[tuple[str, Manifest]]:
    """Every Kubernetes object that deploy/ applies with kubectl, with its file's name."""
    for path in [*base_files(), TEMPORAL / "postgres.yaml"]:
        for doc in load_documents(path):
            yield f"{path.parent.name}/{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc


@pytest.mark.parametrize(
    ("where", "manifest"), [pytest.param(where, doc, id=where) for where, doc in core_objects()]
)
def test_objects_round_trip_through_the_kubernetes_models(where: str, manifest: Manifest) -> None:
    kind = manifest["kind"]
    assert kind in MODELS, f"{where}: add the kubernetes client model of {kind} to MODELS"
    assert manifest["apiVersion"].split("/")[-1] == "v1", f"{where}: {manifest['apiVersion']}"
    with ApiClient() as client:
        model = client._ApiClient__deserialize(manifest, MODELS[kind])
        again = client.sanitize_for_serialization(model)
    assert again == manifest, f"{where}: a field the API does not know (misspelt?)"


# --- worker image ------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    instructions: list[tuple[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_image_runs_the_kaptain_worker() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    last = {keyword: args for keyword, args in instructions}
    assert json.loads(last["ENTRYPOINT"]) == ["python", "-m", "kaptain.worker"]
    assert json.loads(last["CMD"]) == ["--platform", "kubernetes"]
    assert find_spec("kaptain.worker.__main__") is not None
    user = last["USER"].split(":")[0]
    assert user not in {"root", "0"}
    assert user == str(worker_pod()["securityContext"]["runAsUser"])


def source_roots() -> set[str]:
    """The folders the wheel is built from (pyproject's hatch settings)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    hatch = pyproject["tool"]["hatch"]["build"]
    roots = {path.split("/")[0] for path in hatch["targets"]["wheel"]["packages"]}
    assert roots == set(hatch["dev-mode-dirs"])
    return roots


def test_the_image_installs_the_project_without_torch() -> None:
    instructions = dockerfile_instructions()
    copied = {
        source.rstrip("/")
        for keyword, args in instructions
        if keyword == "COPY"
        for source in args.split()[:-1]
    }
    assert source_roots() | {"pyproject.toml", "README.md"} <= copied
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install --no-cache-dir ." in runs
    assert "torch" not in runs


def test_the_dockerignore_keeps_the_sources_in_the_context() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not ignored & (source_roots() | {"pyproject.toml", "README.md"})
    assert ".venv" in ignored


# --- Temporal ----------------------------------------------------------------------------


def helm_values() -> Manifest:
    """deploy/temporal/values.yaml."""
    (values,) = load_documents(TEMPORAL / "values.yaml")
    return values


def test_helm_values_use_the_charts_current_layout() -> None:
    values = helm_values()
    assert not set(values) & set(REMOVED_CHART_KEYS), "the 1.x chart fails on these keys"
    persistence = values["server"]["config"]["persistence"]
    assert "default" not in persistence and "visibility" not in persistence, "legacy layout"
    assert set(persistence["datastores"]) == {
        persistence["defaultStore"],
        persistence["visibilityStore"],
    }
    assert values["server"]["replicaCount"] == 1
    assert values["web"]["enabled"] is True
    assert values["admintools"]["enabled"] is True


def test_helm_values_reach_the_evaluation_database() -> None:
    objects = {
        (doc["kind"], doc["metadata"]["name"]): doc for doc in manifests(TEMPORAL / "postgres.yaml")
    }
    service = objects[("Service", "temporal-postgres")]
    (statefulset,) = [doc for (kind, _), doc in objects.items() if kind == "StatefulSet"]
    (postgres,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in postgres["env"]}
    for store in helm_values()["server"]["config"]["persistence"]["datastores"].values():
        sql = store["sql"]
        assert sql["pluginName"] == "postgres12"
        assert (
            sql["connectAddr"]
            == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
        )
        assert sql["user"] == env["POSTGRES_USER"]["value"]
        secret = objects[("Secret", sql["existingSecret"])]
        assert sql["secretKey"] in secret["stringData"]
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": sql["existingSecret"],
            "key": sql["secretKey"],
        }
        assert sql["createDatabase"] is True and sql["manageSchema"] is True


def test_temporal_serves_the_namespace_and_address_the_worker_uses() -> None:
    namespaces = helm_values()["server"]["config"]["namespaces"]
    assert namespaces["create"] is True
    created = {namespace["name"] for namespace in namespaces["namespace"]}
    assert worker_config()["KAPTAIN_TEMPORAL_NAMESPACE"] in created
    # Helm release "temporal" (README) names the frontend Service temporal-frontend.
    host = worker_config()["KAPTAIN_TEMPORAL_ADDRESS"].split(":")[0]
    assert host.split(".")[0] == "temporal-frontend"


def test_readme_documents_the_search_attribute_commands() -> None:
    readme = (DEPLOY / "README.md").read_text()
    commands = re.findall(r"temporal operator search-attribute create(?:[^\n]*\\\n)*[^\n]*", readme)
    assert commands, "deploy/README.md gives no `temporal operator search-attribute create`"
    documented = " ".join(commands)
    assert "--type Keyword" in documented
    for name in SearchAttribute.ALL:
        assert f"--name {name}" in documented
    assert "https://go.temporal.io/helm-charts" in readme
    assert "kubectl apply -k" in readme
