"""``kaptain.utils`` and the ``kaptain`` CLI on the Kubernetes platform (API emulator).

Objects are selected by Kaptain's labels: look-alikes without them, created directly in the
emulator, are never listed and never deleted, even when named. The worker stays within its
Role while listing and deleting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaptain import utils
from kaptain.activities.kubernetes.permissions import WORKER_PERMISSIONS
from kaptain.cli.exit_codes import EXIT_NOT_FOUND, EXIT_OK
from kaptain.cli.main import main
from kaptain.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, MODEL_ID_LABEL
from kaptain.exceptions import ResourceNotFoundException
from kubestack import KubeStack

LONG_AGO = "2020-01-01T00:00:00Z"
KAPTAIN_LABELS = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, MODEL_ID_LABEL: "dev-other"}


def _obj(kind: str, api: str, name: str, labels: dict[str, str] | None, **body: Any) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "creationTimestamp": LONG_AGO}
    if labels:
        meta["labels"] = dict(labels)
        meta["annotations"] = {MODEL_ID_LABEL: "dev/other"}
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


def _isvc(name: str, labels: dict[str, str] | None) -> Any:
    # A runtime that does not exist: the emulated KServe fails the revision (NotReady).
    model = {"modelFormat": {"name": "sklearn"}, "runtime": "no-such-runtime",
             "storageUri": "s3://kaptain/none"}  # fmt: skip
    return _obj("InferenceService", "serving.kserve.io/v1beta1", name, labels,
                spec={"predictor": {"model": model}})  # fmt: skip


def _names(kube: KubeStack, resource: str) -> set[str]:
    return {o["metadata"]["name"] for o in kube.emulator.objects(resource, "default")}


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main([*argv, "--output", "json"]) == EXIT_OK
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_only_what_kaptain_labelled_is_listed_and_deleted(
    kube: KubeStack, capsys: pytest.CaptureFixture[str]
) -> None:
    model = kube.model()
    assert model.train(workers=1, hyperparameters={"--epochs": 1})
    [trained] = _names(kube, "pytorchjobs")
    emulator = kube.emulator
    # Look-alikes Kaptain did not create, and stale leftovers that it did.
    foreign_job = _obj("PyTorchJob", "kubeflow.org/v1", "foreign-job", None, spec={})
    emulator.put_object(foreign_job)
    emulator.put_object(_obj("Secret", "v1", "foreign-secret", None, type="Opaque"))
    emulator.put_object(_obj("Secret", "v1", "kaptain-dev-other-1a2b3c4d-storage",
                             KAPTAIN_LABELS, type="Opaque"))  # fmt: skip
    emulator.put_object(_obj("ServiceAccount", "v1", "kaptain-dev-other", KAPTAIN_LABELS))
    emulator.put_object(_isvc("dev-other", KAPTAIN_LABELS))
    emulator.put_object(_isvc("foreign-isvc", None))

    diagnosis = _json(capsys, "diagnose")
    assert [j["name"] for j in diagnosis["jobs"]] == [trained]
    assert diagnosis["jobs"][0]["status"] == "Succeeded"
    assert [s["name"] for s in diagnosis["secrets"]] == ["kaptain-dev-other-1a2b3c4d-storage"]
    assert [a["name"] for a in diagnosis["serviceaccounts"]] == ["kaptain-dev-other"]
    [service] = diagnosis["deployments"]
    assert service["name"] == "dev-other" and service["model"] == "dev/other"
    assert service["ready"] is False
    assert sorted(diagnosis["stale"]) == [
        "secret/kaptain-dev-other-1a2b3c4d-storage",
        "serviceaccount/kaptain-dev-other",
    ]

    # clean: the dry run deletes nothing; --force deletes only the stale labelled ones
    dry = _json(capsys, "clean")
    assert dry["dry_run"] and len(dry["would_delete"]) == 2 and dry["deleted"] == []
    assert "kaptain-dev-other" in _names(kube, "serviceaccounts")
    forced = _json(capsys, "clean", "--force")
    assert {d["name"] for d in forced["deleted"] if d["deleted"]} == {
        "kaptain-dev-other-1a2b3c4d-storage",
        "kaptain-dev-other",
    }
    assert _names(kube, "secrets") == {"foreign-secret"}

    # named look-alikes are not found, and stay
    with pytest.raises(ResourceNotFoundException):
        utils.delete_job("foreign-job")
    with pytest.raises(ResourceNotFoundException):
        utils.delete_resource("inferenceservice", "foreign-isvc")
    assert main(["jobs", "delete", "foreign-job"]) == EXIT_NOT_FOUND
    assert "foreign-job" in _names(kube, "pytorchjobs")

    # not-ready inference services go without force; the look-alike stays
    utils.delete_inference_services()
    assert _names(kube, "inferenceservices") == {"foreign-isvc"}

    utils.delete_job(trained, kind="pytorchjob")
    assert _names(kube, "pytorchjobs") == {"foreign-job"}
    assert _names(kube, "secrets") == {"foreign-secret"}

    used = {r.permission for r in emulator.requests if r.user_agent.startswith("kaptain-worker")}
    granted = {(g, r, v) for (g, r), verbs in WORKER_PERMISSIONS.items() for v in verbs}
    assert used <= granted, used - granted
