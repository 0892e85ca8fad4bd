"""Rows of what ``kaptain.utils`` lists: plain dicts for JSON, and aligned text tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from kaptain.contracts.inventory import ManagedResource
from kaptain.utils.overview import Deployment, Experiment, is_trial
from kaptain.utils.overview import experiment_name as _experiment_name

Row = dict[str, Any]


def job_row(job: ManagedResource) -> Row:
    """A training or build job."""
    return {
        "kind": job.kind.value,
        "name": job.name,
        "namespace": job.namespace,
        "model": job.model_id or job.model,
        "status": job.status,
        "finished": job.finished,
        "experiment": _experiment_name(job.model, job.revision) if is_trial(job) else "",
        "created": job.created,
    }


def experiment_row(experiment: Experiment) -> Row:
    """A tuning experiment."""
    return {
        "kind": "experiment",
        "name": experiment.name,
        "model": experiment.model_id,
        "revision": experiment.revision,
        "status": experiment.status,
        "finished": experiment.finished,
        "trials": [job.name for job in experiment.trials],
        "created": experiment.run.started.isoformat()
        if experiment.run and experiment.run.started
        else min((j.created or "" for j in experiment.trials), default=None),
    }


def deployment_row(deployment: Deployment) -> Row:
    """An inference service."""
    return {
        "kind": "inferenceservice",
        "name": deployment.name,
        "model": deployment.model_id,
        "status": deployment.status,
        "ready": deployment.ready,
        "url": deployment.url,
        "workflow_id": deployment.run.workflow_id if deployment.run else "",
        "created": deployment.resource.created if deployment.resource else None,
    }


def resource_row(item: ManagedResource) -> Row:
    """Any other managed object (Secret, ServiceAccount, pod)."""
    return {
        "kind": item.kind.value,
        "name": item.name,
        "namespace": item.namespace,
        "model": item.model_id or item.model,
        "status": item.status,
        "used_by": list(item.used_by),
        "created": item.created,
    }


def age(created: str | None, now: datetime | None = None) -> str:
    """``42s``, ``7m``, ``3h``, ``2d`` since ``created`` (ISO 8601); ``-`` when unknown."""
    if not created:
        return "-"
    when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


COLUMNS: dict[str, Sequence[str]] = {
    "jobs": ("kind", "name", "model", "status", "experiment", "age"),
    "experiments": ("name", "model", "status", "trials", "age"),
    "inferenceservices": ("name", "model", "status", "url"),
    "resources": ("kind", "name", "model", "status", "used_by", "age"),
}
"""Columns of each table."""


def _cell(row: Row, column: str) -> str:
    if column == "age":
        return age(row.get("created"))
    value = row.get(column)
    if isinstance(value, list):
        return str(len(value)) if column == "trials" else ",".join(value) or "-"
    return str(value) if value not in (None, "") else "-"


def table(rows: list[Row], columns: Sequence[str], empty: str) -> str:
    """An aligned text table (upper-case headers), or ``empty`` when there are no rows."""
    if not rows:
        return empty
    cells = [[_cell(row, column) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]
    return "\n".join(lines)


def printer(emit: Callable[[str], None]) -> Callable[[str, list[Row], str], None]:
    """A function printing one titled table through ``emit``."""

    def show(title: str, rows: list[Row], key: str) -> None:
        emit(f"{title}:")
        emit(table(rows, COLUMNS[key], "  (none)"))

    return show
