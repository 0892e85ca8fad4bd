"""What the local platform holds that Kaptain created: job directories and secret files.

Jobs are the directories ``<jobs>/<namespace>/<name>/`` with the ``job.json`` the worker
wrote when it started them; secrets are the files the SDK staged under ``<home>/secrets``
with Kaptain's names (``kaptain-<model>-<nonce>-<purpose>``). Anything else in those folders
was not made by Kaptain and is never listed or deleted. Local deployments belong to their
ServeModel workflow (the SDK lists them through Temporal), so they are not listed here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity

from kaptain.activities.errors import permanent
from kaptain.activities.local.files import lock_is_held
from kaptain.activities.local.jobs import LocalJobActivities
from kaptain.activities.replica_env import replica_names
from kaptain.contracts.common import JobKind
from kaptain.contracts.inventory import (
    DeleteOutcome,
    Inventory,
    InventoryQuery,
    ManagedResource,
    ResourceKind,
    ResourceRef,
)
from kaptain.contracts.names import ActivityName, model_slug
from kaptain.contracts.train import JobRef

SECRET_NAME = re.compile(
    r"^kaptain-(?P<model>[a-z0-9][-a-z0-9]*)-[0-9a-f]{8}-(?P<purpose>[a-z-]+)$"
)
"""Names the SDK gives staged secrets (:func:`kaptain.secrets.names.secret_name`)."""

_JOB_KINDS = {JobKind.PYTORCH: ResourceKind.PYTORCHJOB, JobKind.TENSORFLOW: ResourceKind.TFJOB}
_LOCAL_KINDS = (ResourceKind.PYTORCHJOB, ResourceKind.TFJOB, ResourceKind.SECRET)


def job_status(base: Path, kind: JobKind, replicas: int) -> tuple[str, bool]:
    """``(status, finished)`` of a local job from its replicas' lock and exit files."""
    codes = []
    for name in replica_names(kind, replicas):
        exit_file = base / f"{name}.exit"
        if exit_file.exists():
            codes.append(exit_file.read_text().strip())
        elif lock_is_held(base / f"{name}.lock"):
            return "Running", False
        elif (base / f"{name}.json").exists():
            codes.append("lost")
        else:
            return "Created", False
    return ("Succeeded" if all(code == "0" for code in codes) else "Failed"), True


def _created(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


class LocalInventoryActivities:
    """List and delete the local platform's managed jobs and secrets.

    Args:
        jobs: The job activities (their idempotent delete stops replicas first).
        jobs_dir: Root of the job directories (``<home>/jobs``).
        secrets_dir: The secrets folder (``<home>/secrets``).
    """

    def __init__(self, jobs: LocalJobActivities, jobs_dir: Path, secrets_dir: Path) -> None:
        self._jobs = jobs
        self._jobs_dir = jobs_dir
        self._secrets_dir = secrets_dir

    @activity.defn(name=ActivityName.INVENTORY_LIST)
    async def list_resources(self, query: InventoryQuery) -> Inventory:
        """Jobs of the namespace and staged secrets (local secrets have no namespace)."""
        kinds = set(query.kinds or _LOCAL_KINDS)
        jobs = self._job_items(query.namespace)
        items = [job for job in jobs if job.kind in kinds]
        if ResourceKind.SECRET in kinds:
            items += self._secret_items([job for job in jobs if not job.finished])
        return Inventory(items=items)

    def _plans(self, namespace: str) -> list[tuple[Path, dict[str, Any]]]:
        plans = []
        for plan_file in sorted((self._jobs_dir / namespace).glob("*/job.json")):
            try:
                plans.append((plan_file.parent, json.loads(plan_file.read_text())))
            except (OSError, ValueError):
                continue  # being written or removed right now
        return plans

    def _job_items(self, namespace: str) -> list[ManagedResource]:
        items = []
        for base, plan in self._plans(namespace):
            spec = plan.get("spec") or {}
            kind = JobKind(spec["kind"])
            status, finished = job_status(base, kind, int(spec["replicas"]))
            refs = [r.get("credentials_ref") for r in plan.get("replicas") or []]
            items.append(
                ManagedResource(
                    kind=_JOB_KINDS[kind],
                    name=base.name,
                    namespace=namespace,
                    model=model_slug(spec["model_id"]),
                    model_id=spec["model_id"],
                    revision=spec.get("revision", ""),
                    owner=spec.get("workflow_id", ""),
                    status=status,
                    finished=finished,
                    created=_created(base / "job.json"),
                    used_by=sorted({ref for ref in refs if ref}),
                    logs=[
                        f"file://{base}/{name}.log"
                        for name in replica_names(kind, int(spec["replicas"]))
                    ],
                )
            )
        return items

    def _secret_items(self, running_jobs: list[ManagedResource]) -> list[ManagedResource]:
        items = []
        for path in sorted(self._secrets_dir.glob("*.json")):
            match = SECRET_NAME.match(path.stem)
            if match is None:
                continue
            users = [job.name for job in running_jobs if path.stem in job.used_by]
            items.append(
                ManagedResource(
                    kind=ResourceKind.SECRET,
                    name=path.stem,
                    model=match["model"],
                    status="InUse" if users else "Active",
                    created=_created(path),
                    used_by=users,
                )
            )
        return items

    @activity.defn(name=ActivityName.INVENTORY_DELETE)
    async def delete_resource(self, ref: ResourceRef) -> DeleteOutcome:
        """Delete one job (stopping its replicas) or one staged secret.

        Raises:
            ApplicationError: ``ModelValidationException`` for a kind the local platform
                does not have or a name Kaptain did not give.
        """
        if ref.kind is ResourceKind.SECRET:
            return self._delete_secret(ref)
        if ref.kind not in (ResourceKind.PYTORCHJOB, ResourceKind.TFJOB):
            raise permanent(
                "ModelValidationException",
                f"the local platform has no {ref.kind.value} {ref.name!r} to delete",
            )
        base = self._jobs_dir / ref.namespace / ref.name
        try:
            spec = json.loads((base / "job.json").read_text())["spec"]
        except FileNotFoundError:
            if base.exists():
                raise permanent(
                    "ModelValidationException",
                    f"{base} was not created by Kaptain; not deleting it",
                ) from None
            return DeleteOutcome(ref=ref, deleted=False, message="already gone")
        kind = JobKind(spec["kind"])
        if _JOB_KINDS[kind] is not ref.kind:
            raise permanent(
                "ModelValidationException",
                f"{ref.name!r} is a {_JOB_KINDS[kind].value}, not a {ref.kind.value}",
            )
        job = JobRef(
            name=ref.name, namespace=ref.namespace, kind=kind, replicas=int(spec["replicas"])
        )
        deleted = await self._jobs.delete_job(job)
        return DeleteOutcome(ref=ref, deleted=deleted, message="deleted" if deleted else "gone")

    def _delete_secret(self, ref: ResourceRef) -> DeleteOutcome:
        if SECRET_NAME.match(ref.name) is None:
            raise permanent(
                "ModelValidationException",
                f"secret {ref.name!r} was not staged by Kaptain; not deleting it",
            )
        try:
            (self._secrets_dir / f"{ref.name}.json").unlink()
        except FileNotFoundError:
            return DeleteOutcome(ref=ref, deleted=False, message="already gone")
        return DeleteOutcome(ref=ref, deleted=True, message="deleted")
