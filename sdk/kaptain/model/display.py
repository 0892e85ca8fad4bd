"""A rich HTML view of a :class:`~kaptain.model.models.Model` for notebooks.

Jupyter shows ``Model._repr_html_()`` when a cell ends with the model: its identity, state
and revision, hyperparameters, metrics, and its latest runs from the tracking history, each
linked to its page in the Temporal Web UI when the UI's address is known
(``KAPTAIN_TEMPORAL_UI``, or the embedded stack's). Rendering never raises: what cannot be
read is shown as such.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kaptain.client.settings import ClientSettings
from kaptain.contracts import TrackingRecord
from kaptain.model.runs import run_link

if TYPE_CHECKING:
    from kaptain.model.models import Model

LATEST_RUNS = 8
"""How many tracking records the view lists, newest first."""

_STYLE = "border-collapse:collapse;margin:4px 0;font-size:90%"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"


def ui_settings() -> ClientSettings:
    """Where run links point: ``KAPTAIN_TEMPORAL_UI``, else the embedded stack's UI.

    Reads the stack's record only (never starts it).
    """
    settings = ClientSettings.from_env()
    if settings.ui_url or settings.address is not None:
        return settings
    try:
        from kaptain.stack.stack import status

        info = status()
    except Exception:  # a view must render whatever the stack's state
        return settings
    if info is None:
        return settings
    return settings.model_copy(update={"ui_url": info.ui_url, "namespace": info.namespace})


def _text(value: Any) -> str:
    return html.escape(str(value))


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f'<th style="{_CELL}">{_text(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_STYLE}"><tr>{head}</tr>{body}</table>'


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else _text(value)


def metrics_table(metrics: Mapping[str, Mapping[str, Any]] | None) -> str:
    """``metric | min | max | latest`` rows, or a note when there are none."""
    if not metrics:
        return "<p><i>no metrics yet</i></p>"
    rows = [
        [_text(name), *(_number(values.get(k, "")) for k in ("min", "max", "latest"))]
        for name, values in sorted(metrics.items())
    ]
    return _table(["metric", "min", "max", "latest"], rows)


def outcome(record: TrackingRecord) -> str:
    """A record's result in a few words: its state, reason, or logged values."""
    details = record.details
    if record.action in ("log_metrics", "log_data"):
        shown = details.get("metrics") or details.get("name") or ""
        return _text(shown)
    parts = [record.state or ("failed" if details.get("succeeded") is False else "")]
    if details.get("reason") and details.get("reason") not in ("Succeeded", record.state):
        parts.append(str(details["reason"]))
    return _text(", ".join(part for part in parts if part))


def runs_table(records: list[TrackingRecord], settings: ClientSettings) -> str:
    """The newest :data:`LATEST_RUNS` records, each with its Temporal UI link if any."""
    if not records:
        return "<p><i>no runs recorded yet</i></p>"
    rows = []
    for record in sorted(records, key=lambda r: r.timestamp, reverse=True)[:LATEST_RUNS]:
        workflow_id = record.details.get("workflow_id")
        link = (
            run_link(settings, str(workflow_id), record.details.get("run_id"))
            if workflow_id
            else None
        )
        run = (
            f'<a href="{_text(link)}" target="_blank">{_text(workflow_id)}</a>'
            if link
            else _text(workflow_id or "")
        )
        rows.append(
            [
                _text(record.timestamp[:19].replace("T", " ")),
                _text(record.action),
                f"<code>{_text(record.revision[:12])}</code>",
                outcome(record),
                run,
            ]
        )
    return _table(["time (UTC)", "action", "revision", "outcome", "run"], rows)


def model_html(model: Model) -> str:
    """The notebook view of ``model`` (what ``_repr_html_`` returns).

    Args:
        model: The model.

    Returns:
        An HTML fragment.
    """
    meta = model.meta()
    try:
        runs = runs_table(model.history(), ui_settings())
    except Exception as err:  # storage unreachable, no credentials: still show the model
        runs = f"<p><i>history unavailable: {_text(err)}</i></p>"
    hyperparameters = meta.hyperparameters or {}
    facts = [
        ("state", f"<b>{_text(meta.state)}</b>"),
        ("revision", f"<code>{_text(meta.revision)}</code>"),
        ("framework", _text(f"{meta.framework} {meta.framework_version}")),
        ("image", _text(model.image)),
        ("model URI", _text(meta.model_uri or "-")),
    ]
    return (
        f'<div class="kaptain-model"><h4 style="margin:4px 0">{_text(meta.name)} '
        f"<small>({_text(meta.id)}, version {_text(meta.version)})</small></h4>"
        f"<p>{_text(meta.description)}</p>"
        + _table(["", ""], [[_text(k), v] for k, v in facts])
        + "<b>Hyperparameters</b>"
        + (
            _table(["flag", "value"], [[_text(k), _text(v)] for k, v in hyperparameters.items()])
            if hyperparameters
            else "<p><i>none yet</i></p>"
        )
        + "<b>Metrics</b>"
        + metrics_table(meta.metrics)
        + "<b>Latest runs</b>"
        + runs
        + "</div>"
    )


__all__ = ["LATEST_RUNS", "metrics_table", "model_html", "outcome", "runs_table", "ui_settings"]
