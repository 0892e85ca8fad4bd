"""The example notebook, executed headlessly in a real Jupyter kernel (nbclient + ipykernel).

The kernel inherits the test's environment: the session's Temporal server, a fresh task
queue served by a real local worker, and a private ``KAPTAIN_HOME`` -- never the user's
stack. ``KAPTAIN_TEMPORAL_UI`` makes every action print its run's link, and a distinct
``KAPTAIN_SDK_LOG_TIMEFORMAT`` shows the SDK's lines honour it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from harness import REPO, WorkerProcess

NOTEBOOK = REPO / "examples" / "mnist" / "mnist.ipynb"
UI = "http://kaptain-ui.test:8233"
STAMP = re.compile(r"^<\d\d:\d\d:\d\d> ", re.MULTILINE)
CELL_TIMEOUT_SECONDS = 300
NBFORMAT: Any = nbformat  # untyped


def text_of(cell: Any, stream: str | None = None) -> str:
    """Everything a cell printed (on one stream, or all), plus its text results."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and stream in (None, output["name"]):
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data") and stream is None:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def data_of(cell: Any, mime: str) -> str:
    for output in cell.get("outputs", []):
        if output["output_type"] in ("execute_result", "display_data") and mime in output["data"]:
            return str(output["data"][mime])
    raise AssertionError(f"no {mime} output in cell: {cell['source'][:80]!r}")


def cell_running(cells: list[Any], source: str) -> Any:
    [cell] = [c for c in cells if c["cell_type"] == "code" and source in c["source"]]
    return cell


@pytest.fixture
def executed(worker: WorkerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """The notebook's cells after a full run (the example file itself is left untouched)."""
    monkeypatch.setenv("KAPTAIN_TEMPORAL_UI", UI)
    monkeypatch.setenv("KAPTAIN_SDK_LOG_TIMEFORMAT", "<%H:%M:%S>")
    monkeypatch.delenv("KAPTAIN_SDK_DEBUG", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend
    notebook: Any = NBFORMAT.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        client.execute()
    finally:
        NBFORMAT.write(notebook, tmp_path / "executed.ipynb")  # for a look after a failure
    return list(notebook.cells)


@pytest.mark.slow
@pytest.mark.timeout(900)  # the whole flow: about a minute to train and tune, plus serving
def test_the_example_notebook_runs_the_whole_flow(executed: list[Any]) -> None:
    build = text_of(cell_running(executed, "model.build()"))
    assert f"follow it at {UI}/namespaces/default/workflows/kaptain%2Fbuild%2F" in build
    assert STAMP.search(build), build  # Kaptain's lines, in KAPTAIN_SDK_LOG_TIMEFORMAT

    train = cell_running(executed, "model.train(\n")
    out = text_of(train, "stdout")
    assert f"follow it at {UI}/" in out
    assert re.search(r"^<[\d:]+> \[master-0\] rank 0/2", out, re.MULTILINE), out[-3000:]
    assert re.search(r"^<[\d:]+> \[worker-0\] rank 1/2", out, re.MULTILINE), out[-3000:]
    assert "'accuracy'" in text_of(train)  # the metrics, the cell's result

    [error] = [o for o in cell_running(executed, "workers=0")["outputs"] if "ename" in o]
    assert error["ename"] == "ModelValidationException"
    assert len(error["traceback"]) == 1  # one line, no stack trace
    assert "KAPTAIN_SDK_DEBUG=1" in error["traceback"][0]

    tune = cell_running(executed, "model.tune(")
    assert f"follow it at {UI}/" in text_of(tune, "stdout")
    assert "trials" in text_of(tune, "stderr")  # the progress bar
    assert "succeeded" in text_of(tune)  # the trials table

    assert data_of(cell_running(executed, "model.plot_trials()"), "image/png")

    history = text_of(cell_running(executed, "model.history()"))
    assert "'train'" in history and "'tune'" in history

    view = data_of(executed[[c["source"] for c in executed].index("model")], "text/html")
    assert "kaptain-model" in view and "<b>tuned</b>" in view
    assert f'href="{UI}/namespaces/default/workflows/kaptain%2F' in view  # runs link to the UI

    prediction = text_of(cell_running(executed, "requests.post("))
    assert "predicted:" in prediction
    assert "undeployed" in text_of(cell_running(executed, "model.undeploy()"))
