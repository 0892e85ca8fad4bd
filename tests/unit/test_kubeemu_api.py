"""kubeemu's API surface through the official client: CRUD, Statuses, selectors, patches,
status subresource, deletion propagation, validation, discovery and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, dynamic

from kubeemu import KubeEmulator, validate_manifest

NS = "team-a"


@pytest.fixture
def emu() -> Iterator[KubeEmulator]:
    with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def core(emu: KubeEmulator) -> Any:  # the tests pass JSON dicts, which the client accepts
    return client.CoreV1Api(emu.api_client())


@pytest.fixture
def custom(emu: KubeEmulator) -> Any:  # the tests pass JSON dicts, which the client accepts
    return client.CustomObjectsApi(emu.api_client())


def _any(api: object) -> Any:
    """A client API typed ``Any``: the tests pass JSON dicts, which the client accepts."""
    return api


def _status(error: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body or "")
    return body


def _raw(
    emu: KubeEmulator, method: str, path: str, body: Any
) -> tuple[int, dict[str, Any], list[str]]:
    """A request the client's own type checks would refuse to send."""
    response = urllib3.request(
        method, emu.url + path, body=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    return response.status, json.loads(response.data), response.headers.getlist("Warning")


def _pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "python:3.11", "command": ["python", "-c", "pass"]}
            ],
        },
    }


def _pytorchjob(name: str, replicas: Any = 1) -> dict[str, Any]:
    replica = {
        "replicas": replicas,
        "restartPolicy": "Never",
        "template": {
            "spec": {"containers": [{"name": "pytorch", "image": "registry.local/app:v1"}]}
        },
    }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {"pytorchReplicaSpecs": {"Master": {**replica, "replicas": 1}, "Worker": replica}},
    }


def test_kubeconfig_with_the_default_client(emu: KubeEmulator, tmp_path: Path) -> None:
    previous = client.Configuration.get_default_copy()
    try:
        kube_config: Any = config  # untyped in the client
        kube_config.load_kube_config(
            config_file=str(emu.write_kubeconfig(tmp_path / "config", namespace=NS))
        )
        _, active = kube_config.list_kube_config_contexts(config_file=str(tmp_path / "config"))
        assert active["context"]["namespace"] == NS
        names = [ns.metadata.name for ns in _any(client.CoreV1Api()).list_namespace().items]
        assert {"default", "kube-system"} <= set(names)
        assert client.VersionApi().get_code().git_version.startswith("v1.")
    finally:
        client.Configuration.set_default(previous)


def test_crud_and_error_statuses(emu: KubeEmulator, core: Any) -> None:
    created = core.create_namespaced_config_map(
        NS, {"metadata": {"name": "cm"}, "data": {"a": "1"}}
    )
    meta = created.metadata
    assert meta.uid and meta.creation_timestamp and meta.namespace == NS
    assert int(meta.resource_version) > 0
    assert emu.get("namespaces", None, NS) is not None  # namespaces appear on first use
    assert core.read_namespaced_service_account("default", NS).metadata.name == "default"

    with pytest.raises(client.ApiException) as conflict:
        core.create_namespaced_config_map(NS, {"metadata": {"name": "cm"}})
    assert conflict.value.status == 409
    assert _status(conflict.value)["reason"] == "AlreadyExists"
    assert _status(conflict.value)["message"] == 'configmaps "cm" already exists'

    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_config_map("nope", NS)
    assert missing.value.status == 404
    assert _status(missing.value) | {"details": None} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": None,
    }

    generated = core.create_namespaced_secret(
        NS, {"metadata": {"generateName": "creds-"}, "stringData": {"k": "v"}}
    )
    assert generated.metadata.name.startswith("creds-") and len(generated.metadata.name) == 11
    assert generated.data == {"k": "dg=="} and generated.type == "Opaque"

    stale = core.read_namespaced_config_map("cm", NS)
    fresh = core.patch_namespaced_config_map("cm", NS, {"data": {"a": "2"}})
    assert int(fresh.metadata.resource_version) > int(stale.metadata.resource_version)
    stale.data = {"a": "3"}
    with pytest.raises(client.ApiException) as outdated:
        core.replace_namespaced_config_map("cm", NS, stale)
    assert outdated.value.status == 409 and _status(outdated.value)["reason"] == "Conflict"
    fresh.data = {"a": "4"}
    assert core.replace_namespaced_config_map("cm", NS, fresh).data == {"a": "4"}

    deleted = core.delete_namespaced_config_map("cm", NS)
    assert isinstance(deleted, dict) and deleted["status"] == "Success"
    with pytest.raises(client.ApiException) as gone:
        core.delete_namespaced_config_map("cm", NS)
    assert gone.value.status == 404


def test_invalid_core_objects_answer_422(emu: KubeEmulator, core: Any) -> None:
    with pytest.raises(client.ApiException) as invalid:
        core.create_namespaced_pod(
            NS, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
        )
    assert invalid.value.status == 422
    status = _status(invalid.value)
    assert status["reason"] == "Invalid"
    assert status["message"] == 'Pod "p" is invalid: spec.containers[0].image: Required value'
    assert status["details"]["causes"][0]["field"] == "spec.containers[0].image"

    with pytest.raises(client.ApiException) as bad_label:
        core.create_namespaced_config_map(
            NS, {"metadata": {"name": "c", "labels": {"model": "dev/mnist"}}}
        )
    assert (
        bad_label.value.status == 422
        and "a valid label must be" in _status(bad_label.value)["message"]
    )

    code, status, _ = _raw(
        emu,
        "POST",
        f"/api/v1/namespaces/{NS}/configmaps",
        {"metadata": {"name": "c"}, "data": {"epochs": 5}},
    )
    assert (code, status["reason"]) == (400, "BadRequest")
    assert (
        "cannot unmarshal number into Go struct field data[epochs] of type string"
        in status["message"]
    )

    with pytest.raises(client.ApiException) as no_account:
        pod = _pod("p")
        pod["spec"]["serviceAccountName"] = "missing"
        core.create_namespaced_pod(NS, pod)
    assert no_account.value.status == 403 and _status(no_account.value)["reason"] == "Forbidden"


def test_unknown_fields_are_pruned_with_a_warning_or_refused_when_strict(
    emu: KubeEmulator, core: Any
) -> None:
    path = f"/api/v1/namespaces/{NS}/configmaps"
    body = {"metadata": {"name": "cm"}, "data": {"a": "b"}, "dataa": {"typo": "x"}}
    code, created, warnings = _raw(emu, "POST", path, body)
    assert code == 201 and "dataa" not in created and created["data"] == {"a": "b"}
    assert warnings == ['299 - "unknown field \\"dataa\\""']
    code, status, _ = _raw(
        emu, "POST", path + "?fieldValidation=Strict", {**body, "metadata": {"name": "cm2"}}
    )
    assert (code, status["message"]) == (400, 'strict decoding error: unknown field "dataa"')
    assert core.list_namespaced_config_map(NS, field_selector="metadata.name=cm2").items == []


def test_label_and_field_selectors(emu: KubeEmulator, core: Any) -> None:
    for name, labels in [
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "x", "tier": "db"}),
        ("c", {"app": "y"}),
        ("d", {}),
    ]:
        emu.put_object(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": NS, "labels": labels},
            }
        )

    def names(**kwargs: str) -> list[str]:
        return [cm.metadata.name for cm in core.list_namespaced_config_map(NS, **kwargs).items]

    assert names(label_selector="app=x") == ["a", "b"]
    assert names(label_selector="app==x,tier!=web") == ["b"]
    assert names(label_selector="app in (x, y),tier notin (db)") == ["a", "c"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!app") == ["d", "kube-root-ca.crt"]
    assert names(field_selector="metadata.name=c") == ["c"]
    assert names(field_selector="metadata.name!=c,metadata.name!=kube-root-ca.crt") == [
        "a",
        "b",
        "d",
    ]

    page = core.list_namespaced_config_map(NS, limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = core.list_namespaced_config_map(NS, limit=10, _continue=page.metadata._continue)
    assert [i.metadata.name for i in page.items + rest.items] == names()

    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": NS, "uid": "u-1"},
        "spec": {"containers": []},
        "status": {"phase": "Failed"},
    }
    emu.put_object(pod)
    emu.recorder.emit(pod, "Warning", "BackOff", "Back-off", "kubelet")
    emu.recorder.emit(
        {**pod, "metadata": {**pod["metadata"], "name": "q"}}, "Normal", "Pulled", "ok", "kubelet"
    )
    events = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=p,involvedObject.kind=Pod"
    )
    assert [(e.reason, e.type) for e in events.items] == [("BackOff", "Warning")]
    with pytest.raises(client.ApiException) as unsupported:
        core.list_namespaced_event(NS, field_selector="message=x")
    assert unsupported.value.status == 400


def test_patches_and_status_subresource() -> None:
    with KubeEmulator(controllers=False) as emu:  # no operator writing status meanwhile
        _patches_and_status(emu, client.CustomObjectsApi(emu.api_client()))


def _patches_and_status(emu: KubeEmulator, custom: Any) -> None:
    args = ("kubeflow.org", "v1", NS, "pytorchjobs")
    created = custom.create_namespaced_custom_object(
        *args, _pytorchjob("job", 2) | {"status": {"x": 1}}
    )
    assert "status" not in created  # status is dropped on create (status subresource)
    assert created["metadata"]["generation"] == 1

    merged = custom.patch_namespaced_custom_object(
        *args, "job", {"metadata": {"labels": {"a": "b"}}}
    )
    assert merged["metadata"]["labels"] == {"a": "b"} and merged["metadata"]["generation"] == 1
    spec_patch = [
        {"op": "replace", "path": "/spec/pytorchReplicaSpecs/Worker/replicas", "value": 3}
    ]
    patched = custom.patch_namespaced_custom_object(
        *args, "job", spec_patch, _content_type="application/json-patch+json"
    )
    assert patched["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 3
    assert patched["metadata"]["generation"] == 2

    status = {"status": {"conditions": [{"type": "Created", "status": "True"}]}}
    ignored = custom.patch_namespaced_custom_object(*args, "job", status)
    assert "status" not in ignored or ignored["status"] != status["status"]
    updated = custom.patch_namespaced_custom_object_status(*args, "job", status)
    assert updated["status"]["conditions"][0]["type"] == "Created"
    assert custom.get_namespaced_custom_object_status(*args, "job")["status"] == updated["status"]
    assert updated["metadata"]["generation"] == 2

    core: Any = client.CoreV1Api(emu.api_client())
    core.create_namespaced_pod(NS, _pod("p"))
    patched_pod = core.patch_namespaced_pod("p", NS, {"metadata": {"labels": {"x": "y"}}})
    assert patched_pod.metadata.labels == {"x": "y"}
    status_body = {"status": {"conditions": [{"type": "Custom", "status": "True"}]}}
    pod_status = core.patch_namespaced_pod_status("p", NS, status_body)
    assert any(c.type == "Custom" for c in pod_status.status.conditions)
    with pytest.raises(client.ApiException) as unsupported:
        custom.patch_namespaced_custom_object(
            *args,
            "job",
            {"metadata": {"labels": {"c": "d"}}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert unsupported.value.status == 415


def test_crd_schema_validation(custom: Any) -> None:
    args = ("kubeflow.org", "v1", NS, "pytorchjobs")
    with pytest.raises(client.ApiException) as invalid:
        custom.create_namespaced_custom_object(*args, _pytorchjob("bad", replicas="two"))
    assert invalid.value.status == 422
    status = _status(invalid.value)
    assert status["reason"] == "Invalid"
    assert (
        "spec.pytorchReplicaSpecs.Worker.replicas in body must be of type integer"
        in status["message"]
    )

    good = _pytorchjob("good", replicas=2)
    good["spec"]["runPolicy"] = {"cleanPodPolicy": "None"}
    accepted = custom.create_namespaced_custom_object(*args, good)
    assert accepted["spec"]["runPolicy"]["suspend"] is False  # the schema's default applied

    no_pytorch = _pytorchjob("other")
    no_pytorch["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0][
        "name"
    ] = "main"
    with pytest.raises(client.ApiException) as denied:
        custom.create_namespaced_custom_object(*args, no_pytorch)
    assert denied.value.status == 422
    assert "There is no container named pytorch in Master" in _status(denied.value)["message"]


def test_validate_manifest() -> None:
    assert validate_manifest(_pytorchjob("ok", replicas=2)) == []
    problems = validate_manifest(_pytorchjob("bad", replicas="2") | {"extra": True})
    assert 'unknown field "extra"' in problems
    assert any("must be of type integer" in p for p in problems)
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "dev-mnist"},
        "spec": {
            "predictor": {
                "canaryTrafficPercent": "ten",
                "model": {"modelFormat": {"name": "pytorch"}},
            }
        },
    }
    assert any("canaryTrafficPercent" in p for p in validate_manifest(isvc))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"image": "x"}]},
    }
    assert validate_manifest(pod) == ["spec.containers[0].name: Required value"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
    }
    assert validate_manifest(job) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"'
    ]


def test_delete_propagation(emu: KubeEmulator, core: Any) -> None:
    batch: Any = client.BatchV1Api(emu.api_client())

    def job(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
            "spec": {"template": {"spec": {"containers": []}}},
        }

    def owned_pod(name: str, owner: str) -> dict[str, Any]:
        ref = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": owner,
            "uid": f"uid-{owner}",
            "controller": True,
        }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "ownerReferences": [ref]},
            "spec": {"containers": []},
            "status": {"phase": "Succeeded"},
        }

    for name in ("orphan", "cascade"):
        emu.put_object(job(name))
        emu.put_object(owned_pod(f"{name}-pod", name))
    batch.delete_namespaced_job("orphan", NS)  # batch/v1 default: orphan the pods
    remaining = emu.get("pods", NS, "orphan-pod")
    assert remaining is not None and "ownerReferences" not in remaining["metadata"]
    batch.delete_namespaced_job("cascade", NS, propagation_policy="Foreground")
    assert emu.get("pods", NS, "cascade-pod") is None
    assert emu.get("jobs", NS, "cascade") is None


def test_discovery_and_dynamic_client(emu: KubeEmulator) -> None:
    api = emu.api_client()
    groups = client.ApisApi(api).get_api_versions()
    assert {"batch", "kubeflow.org", "serving.kserve.io"} <= {g.name for g in groups.groups}
    core_resources = client.CoreV1Api(api).get_api_resources()
    assert {"pods", "pods/log", "secrets", "serviceaccounts", "events", "namespaces"} <= {
        r.name for r in core_resources.resources
    }
    dynamic_client: Any = dynamic.DynamicClient  # untyped in the client
    dyn = dynamic_client(api)
    jobs = dyn.resources.get(api_version="kubeflow.org/v1", kind="PyTorchJob")
    jobs.create(body=_pytorchjob("dyn"), namespace=NS)
    assert [item.metadata.name for item in jobs.get(namespace=NS).items] == ["dyn"]
    isvc = dyn.resources.get(api_version="serving.kserve.io/v1beta1", kind="InferenceService")
    assert isvc.namespaced and isvc.get(namespace=NS).items == []
    assert "/apis" in {r.path for r in emu.requests.nonresource}  # discovery is not RBAC'd here
    assert all(r.resource for r in emu.requests)


def test_audit_log_names_every_permission_used(emu: KubeEmulator, core: Any) -> None:
    custom: Any = client.CustomObjectsApi(emu.api_client())
    core.create_namespaced_secret(NS, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    custom.create_namespaced_custom_object(
        "kubeflow.org", "v1", NS, "pytorchjobs", _pytorchjob("j")
    )
    custom.get_namespaced_custom_object_status("kubeflow.org", "v1", NS, "pytorchjobs", "j")
    with pytest.raises(client.ApiException):
        core.read_namespaced_pod_log("missing", NS)
    core.delete_namespaced_secret("s", NS)
    assert emu.requests.permissions(NS) == {
        ("", "secrets", "create"),
        ("kubeflow.org", "pytorchjobs", "create"),
        ("kubeflow.org", "pytorchjobs/status", "get"),
        ("", "pods/log", "get"),
        ("", "secrets", "delete"),
    }
    log_request = emu.requests.matching(resource="pods/log")[0]
    assert (log_request.namespace, log_request.name, log_request.code) == (NS, "missing", 404)
