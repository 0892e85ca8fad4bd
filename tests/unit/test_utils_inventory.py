"""The pure parts of ``kaptain.utils``: kinds, overview, plans, tables, platform status."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kaptain.activities.kubernetes.inventory import managed_resource, status_of, with_users
from kaptain.activities.local.inventory import SECRET_NAME, job_status
from kaptain.contracts.common import JobKind
from kaptain.contracts.inventory import ManagedResource, ResourceKind, RunRef
from kaptain.contracts.names import WorkflowName
from kaptain.exceptions import ModelValidationException, ResourceNotFoundException
from kaptain.secrets.names import secret_name
from kaptain.utils import plans, views
from kaptain.utils.kinds import JOB_KIND_NAMES, RESOURCE_KIND_NAMES, parse_kind
from kaptain.utils.overview import Overview, RunInfo

NOW = datetime(2030, 1, 1, tzinfo=UTC)
OLD = (NOW - timedelta(hours=1)).isoformat()
TUNE_ID = "kaptain/default/dev/mnist/tune"
TRAIN_ID = "kaptain/default/dev/mnist/train"


def job(name: str, *, owner: str = TRAIN_ID, revision: str = "a" * 32, **fields: Any) -> Any:
    values: dict[str, Any] = {"kind": ResourceKind.PYTORCHJOB, "name": name, "namespace": "default",
              "model": "dev-mnist", "model_id": "dev/mnist", "revision": revision,
              "owner": owner, "status": "Succeeded", "finished": True, "created": OLD}  # fmt: skip
    values.update(fields)
    return ManagedResource(**values)


def secret(name: str, *, model: str = "dev-mnist", **fields: Any) -> ManagedResource:
    values: dict[str, Any] = {"kind": ResourceKind.SECRET, "name": name, "model": model,
                              "created": OLD}  # fmt: skip
    values.update(fields)
    return ManagedResource(**values)


def run(workflow_id: str, workflow_type: str, *, revision: str = "", **fields: Any) -> RunInfo:
    return RunInfo(workflow_id, f"run-{workflow_id}", workflow_type, model_id="dev/mnist",
                   revision=revision, started=NOW, **fields)  # fmt: skip


@pytest.mark.parametrize("spelled", ["pytorchjob", "PyTorchJob", "pytorchjobs", " TFJob "])
def test_kinds_are_read_as_users_spell_them(spelled: str) -> None:
    assert parse_kind(spelled, JOB_KIND_NAMES, "delete_job").value in ("pytorchjob", "tfjob")


@pytest.mark.parametrize("bad", ["deployment", "secret", "", "pod"])
def test_unknown_kinds_name_the_accepted_ones(bad: str) -> None:
    with pytest.raises(ModelValidationException, match="'tfjob', 'pytorchjob', 'experiment'"):
        parse_kind(bad, RESOURCE_KIND_NAMES, "delete_resource")


def test_trial_jobs_group_into_experiments_named_like_them() -> None:
    revision = "b" * 32
    trials = [job(f"dev-mnist-bbbbbbbb-t{n}", owner=TUNE_ID, revision=revision) for n in (0, 1)]
    overview = Overview("default", [job("dev-mnist-aaaaaaaa"), *trials], taken_at=NOW)
    [experiment] = overview.experiments()
    assert experiment.name == "dev-mnist-bbbbbbbb"
    assert [t.name for t in experiment.trials] == ["dev-mnist-bbbbbbbb-t0", "dev-mnist-bbbbbbbb-t1"]
    assert experiment.status == "Finished" and experiment.finished
    # a running TuneModel run of that revision makes it running; one without jobs is listed too
    overview.runs = [
        run(TUNE_ID, WorkflowName.TUNE_MODEL, revision=revision),
        run(TUNE_ID, WorkflowName.TUNE_MODEL, revision="c" * 32, status="Failed"),
    ]
    [running] = overview.experiments()
    assert running.status == "Running" and not running.finished
    assert plans.deletable_experiments(overview, force=False) == []
    plan = plans.experiments_plan(overview, [running], "x")
    assert plan.cancel == [RunRef(workflow_id=TUNE_ID, run_id=f"run-{TUNE_ID}")]
    assert [r.name for r in plan.resources] == [t.name for t in trials]


def test_running_jobs_cancel_only_their_own_run() -> None:
    running = job("dev-mnist-aaaaaaaa", status="Running", finished=False)
    overview = Overview("default", [running, job("dev-mnist-dddddddd", revision="d" * 32)])
    # a newer run of the same model is not this job's run
    overview.runs = [run(TRAIN_ID, WorkflowName.TRAIN_MODEL, revision="e" * 32)]
    assert plans.jobs_plan(overview, [running], "x").cancel == []
    overview.runs.append(run(TRAIN_ID, WorkflowName.TRAIN_MODEL, revision="a" * 32))
    assert len(plans.jobs_plan(overview, [running], "x").cancel) == 1
    assert [j.name for j in plans.deletable_jobs(overview, force=False)] == ["dev-mnist-dddddddd"]
    assert len(plans.deletable_jobs(overview, force=True)) == 2


def test_a_trial_job_cancels_its_trial_run() -> None:
    trial = job("dev-mnist-bbbbbbbb-t3", owner=TUNE_ID, revision="b" * 32, finished=False)
    trial_id = f"{TUNE_ID}/bbbbbbbb/trial-3"
    overview = Overview("default", [trial], [run(trial_id, WorkflowName.TRIAL_RUN)])
    assert plans.jobs_plan(overview, [trial], "x").cancel[0].workflow_id == trial_id
    assert plans.deletable_jobs(overview, force=True) == []  # left to the experiment


def test_stale_means_unused_old_and_no_run_of_the_model() -> None:
    items = [
        secret("kaptain-dev-mnist-00000000-storage"),
        secret("kaptain-dev-mnist-11111111-storage", used_by=["pytorchjob/x"]),
        secret("kaptain-dev-mnist-22222222-storage", created=NOW.isoformat()),
        secret("kaptain-dev-other-33333333-storage", model="dev-other"),
    ]
    overview = Overview("default", items, taken_at=NOW)
    assert [i.name for i in overview.stale()] == [items[0].name, items[3].name]
    overview.runs = [run(TRAIN_ID, WorkflowName.TRAIN_MODEL)]  # dev/mnist is busy
    assert [i.name for i in overview.stale()] == [items[3].name]
    assert plans.stale_plan(overview).describe() == [f"secret/{items[3].name}"]


def test_deployments_merge_serve_runs_and_platform_services() -> None:
    isvc = ManagedResource(kind=ResourceKind.INFERENCESERVICE, name="dev-other",
                           model_id="dev/other", status="NotReady")  # fmt: skip
    serving = run("kaptain/default/dev/mnist/serving", WorkflowName.SERVE_MODEL)
    overview = Overview("default", [isvc], [serving])
    overview.serving = {"dev-mnist": {"ready": True, "phase": "serving", "url": "http://x"}}
    mnist, other = overview.deployments()
    assert (mnist.name, mnist.ready, mnist.url) == ("dev-mnist", True, "http://x")
    assert (other.name, other.ready, other.run) == ("dev-other", False, None)
    assert plans.deletable_deployments(overview, force=False) == [other]
    plan = plans.deployments_plan(overview, [mnist, other], "x")
    assert plan.undeploy == [serving]  # through the ServeModel workflow
    assert [(r.name, r.model_id) for r in plan.resources] == [("dev-other", "dev/other")]
    assert plans.find_deployment(overview, "dev/mnist") is not None
    with pytest.raises(ResourceNotFoundException, match="no inferenceservice named 'nope'"):
        plans.find_deployment(overview, "nope")


def test_find_job_respects_the_kind() -> None:
    overview = Overview("default", [job("dev-mnist-aaaaaaaa")])
    assert plans.find_job(overview, "dev-mnist-aaaaaaaa", None).name == "dev-mnist-aaaaaaaa"
    with pytest.raises(ResourceNotFoundException, match="no tfjob named"):
        plans.find_job(overview, "dev-mnist-aaaaaaaa", ResourceKind.TFJOB)


def test_tables_align_and_say_when_empty() -> None:
    rows = [views.job_row(job("dev-mnist-aaaaaaaa"))]
    text = views.table(rows, views.COLUMNS["jobs"], "none")
    header, line = text.splitlines()
    assert header.split() == ["KIND", "NAME", "MODEL", "STATUS", "EXPERIMENT", "AGE"]
    assert line.split()[:4] == ["pytorchjob", "dev-mnist-aaaaaaaa", "dev/mnist", "Succeeded"]
    assert views.table([], views.COLUMNS["jobs"], "none") == "none"
    assert views.age((NOW - timedelta(minutes=7)).isoformat(), NOW) == "7m"
    assert views.age(None) == "-"


def test_kubernetes_status_and_references() -> None:
    tfjob = {"status": {"conditions": [{"type": "Running", "status": "True"}]}}
    assert status_of(ResourceKind.TFJOB, tfjob) == ("Running", False)
    done = {"status": {"conditions": [{"type": "Succeeded", "status": "True"}]}}
    assert status_of(ResourceKind.PYTORCHJOB, done) == ("Succeeded", True)
    assert status_of(ResourceKind.JOB, {"status": {"conditions": [
        {"type": "Complete", "status": "True"}]}}) == ("Complete", True)  # fmt: skip
    assert status_of(ResourceKind.INFERENCESERVICE, {}) == ("NotReady", False)
    labels = {"app.kubernetes.io/managed-by": "kaptain", "kaptain.d2iq.io/model-id": "dev-mnist"}
    pod = {"metadata": {"name": "p", "labels": labels}, "status": {"phase": "Running"},
           "spec": {"containers": [{"envFrom": [{"secretRef": {"name": "s1"}}]}],
                    "imagePullSecrets": [{"name": "s2"}]}}  # fmt: skip
    isvc = {"metadata": {"name": "i", "labels": labels},
            "spec": {"predictor": {"serviceAccountName": "sa"}}}  # fmt: skip
    account = {"metadata": {"name": "sa", "labels": labels}, "secrets": [{"name": "s3"}]}
    objects: list[tuple[ResourceKind, dict[str, Any]]] = [
        (ResourceKind.POD, pod),
        (ResourceKind.INFERENCESERVICE, isvc),
        (ResourceKind.SERVICEACCOUNT, account),
        *[(ResourceKind.SECRET, {"metadata": {"name": n, "labels": labels}})
          for n in ("s1", "s2", "s3", "s4")],
    ]  # fmt: skip
    items = with_users([managed_resource(k, o) for k, o in objects], objects)
    kinds = (ResourceKind.SECRET, ResourceKind.SERVICEACCOUNT)
    used = {i.name: i.used_by for i in items if i.kind in kinds}
    assert used == {"sa": ["inferenceservice/i"], "s1": ["pod/p"], "s2": ["pod/p"],
                    "s3": ["serviceaccount/sa"], "s4": []}  # fmt: skip


def test_local_job_status_and_secret_names(tmp_path: Path) -> None:
    assert job_status(tmp_path, JobKind.PYTORCH, 2) == ("Created", False)
    for name in ("master-0", "worker-0"):
        (tmp_path / f"{name}.exit").write_text("0")
    assert job_status(tmp_path, JobKind.PYTORCH, 2) == ("Succeeded", True)
    (tmp_path / "worker-0.exit").write_text("3")
    assert job_status(tmp_path, JobKind.PYTORCH, 2) == ("Failed", True)
    assert SECRET_NAME.match(secret_name("dev/mnist", "registry-ca", "0a1b2c3d"))
    assert SECRET_NAME.match("my-own-credentials") is None


SEED_UTILS: list[tuple[str, list[tuple[str, object]]]] = [
    ("diagnose", []),
    ("list_jobs", []),
    ("delete_job", [("name", inspect.Parameter.empty), ("kind", None)]),
    ("list_experiments", []),
    ("delete_experiment", [("name", inspect.Parameter.empty)]),
    ("list_inference_services", []),
    ("delete_inference_service", [("name", inspect.Parameter.empty)]),
    ("delete_jobs", [("force", False)]),
    ("delete_experiments", [("force", False)]),
    ("delete_inference_services", [("force", False)]),
    ("clean", [("force", False)]),
    ("clean_all", [("force", False)]),
    ("list_all_resources", []),
    ("delete_resource", [("kind", inspect.Parameter.empty), ("name", inspect.Parameter.empty)]),
]


@pytest.mark.parametrize(("name", "params"), SEED_UTILS)
def test_seed_signatures_of_kaptain_utils(name: str, params: list[tuple[str, object]]) -> None:
    import kaptain.utils

    function = getattr(kaptain.utils, name)
    signature = inspect.signature(function)
    assert [(p.name, p.default) for p in signature.parameters.values()] == params
    assert name in kaptain.utils.__all__
    assert function.__doc__
