"""The notebook side of the SDK: the HTML view, the tuning plot, one-line errors in IPython."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import pytest

from kaptain.config import Config
from kaptain.contracts import MetricSummary, TrackingRecord, TrialRecord
from kaptain.exceptions import ModelValidationException
from kaptain.model import display, notebook_errors, plots
from kaptain.model.models import Model
from kaptain.platform.config.docker import DockerConfigurationProvider
from kaptain.platform.config.local import LocalStorageConfigurationProvider
from kaptain.tracking import TrackingStore

matplotlib.use("Agg")
UI = "http://ui.example:8233"


def model_in(tmp_path: Path, description: str = "digits") -> Model:
    return Model(
        id="dev/mnist",
        name="MNIST",
        description=description,
        version="0.0.1",
        framework="pytorch",
        framework_version="2.13.0",
        main_file="trainer.py",
        image_name="registry.local/kaptain/mnist",
        base_image="python:3.11",
        config=Config(
            DockerConfigurationProvider.empty(),
            LocalStorageConfigurationProvider(str(tmp_path / "models")),
            base_model_storage_uri=f"file://{tmp_path}/models",
        ),
    )


def trial(number: int, objective: float | None, lr: str, state: str = "succeeded") -> TrialRecord:
    metrics = (
        {} if objective is None else {"accuracy": MetricSummary(min=0, max=1, latest=objective)}
    )
    return TrialRecord(
        number=number,
        hyperparameters={"--lr": lr},
        state=state,  # type: ignore[arg-type]
        objective=objective,
        metrics=metrics,
    )


# -- the HTML view ---------------------------------------------------------------------------


def test_html_view_shows_state_results_and_runs_linked_to_the_ui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPTAIN_TEMPORAL_UI", UI)
    monkeypatch.delenv("KAPTAIN_TEMPORAL_ADDRESS", raising=False)
    model = model_in(tmp_path, description="<script>alert(1)</script>")
    store = TrackingStore.open(model.config.base_model_storage_uri)
    store.append(
        TrackingRecord(
            model_id="dev/mnist",
            revision="abc123def4567890",
            action="train",
            timestamp="2025-01-02T03:04:05+00:00",
            state="trained",
            details={"workflow_id": "kaptain/default/dev/mnist/train", "run_id": "r-1"},
        )
    )
    model.log_metrics({"accuracy": 0.9}, "testing")
    html = model._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html  # escaped
    assert "<b>untrained</b>" in html and model.revision in html
    link = f"{UI}/namespaces/default/workflows/kaptain%2Fdefault%2Fdev%2Fmnist%2Ftrain/r-1"
    assert f'href="{link}"' in html
    assert html.index("log_metrics") < html.index(">train<")  # newest first
    assert "2025-01-02 03:04:05" in html


def test_html_view_renders_when_the_history_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = model_in(tmp_path)

    def unreachable() -> list[TrackingRecord]:
        raise OSError("storage unreachable")

    monkeypatch.setattr(model, "history", unreachable)
    html = display.model_html(model)
    assert "history unavailable: storage unreachable" in html and "MNIST" in html


def test_metrics_table_lists_min_max_latest() -> None:
    html = display.metrics_table({"loss": {"min": 0.1, "max": 2.0, "latest": 0.123456}})
    assert ">loss<" in html and ">0.1235<" in html
    assert "no metrics yet" in display.metrics_table(None)


# -- the tuning plot ---------------------------------------------------------------------------


def test_plot_shows_each_objective_and_the_best_so_far() -> None:
    trials = [
        trial(0, 0.5, "0.1"),
        trial(1, 0.8, "0.2"),
        trial(2, 0.7, "0.3"),
        trial(3, None, "1", "failed"),
    ]
    ax = plots.plot_trials(trials, maximize=True)
    best = ax.get_lines()[0]
    assert list(best.get_xdata()) == [0, 1, 2] and list(best.get_ydata()) == [0.5, 0.8, 0.8]
    assert ax.get_ylabel() == "accuracy"
    assert "maximize accuracy" in ax.get_title()
    assert len(ax.collections) == 2  # the trials, and the one without an objective


def test_the_direction_is_told_by_the_trial_that_became_the_model() -> None:
    trials = [trial(0, 0.5, "0.1"), trial(1, 0.2, "0.2")]
    assert plots.is_maximized(trials, {"--lr": "0.1"})
    assert not plots.is_maximized(trials, {"--lr": "0.2"})
    assert plots.best_so_far([3.0, 1.0, 2.0], maximize=False) == [3.0, 1.0, 1.0]


def test_model_plot_trials_without_matplotlib_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import fails
    model = model_in(tmp_path)
    model._trials = [trial(0, 0.5, "0.1")]
    with pytest.raises(ImportError, match="pip install matplotlib"):
        model.plot_trials()


def test_plot_needs_a_scored_trial() -> None:
    with pytest.raises(ValueError, match="no trial has an objective"):
        plots.plot_trials([trial(0, None, "0.1", "failed")])


# -- errors in IPython -------------------------------------------------------------------------


@pytest.fixture
def shell() -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    ipython: Any = InteractiveShell.instance()
    try:
        yield ipython
    finally:
        ipython.set_custom_exc((), None)
        InteractiveShell.clear_instance()


RAISE = "from kaptain.exceptions import ModelValidationException\n"


def test_a_kaptain_error_is_one_line_in_ipython(
    shell: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAPTAIN_SDK_DEBUG", raising=False)
    assert notebook_errors.install(shell)
    result = shell.run_cell(RAISE + "raise ModelValidationException('workers must be positive')")
    assert isinstance(result.error_in_exec, ModelValidationException)
    out = capsys.readouterr().out
    assert out.strip() == (
        "ModelValidationException: workers must be positive "
        "(set KAPTAIN_SDK_DEBUG=1 for the stack trace)"
    )
    assert sys.last_value is result.error_in_exec  # %debug still works


def test_debug_shows_the_stack_trace_and_other_errors_are_untouched(
    shell: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert notebook_errors.install(shell)
    shell.run_cell("raise ValueError('plain')")
    assert "Traceback" in capsys.readouterr().out
    monkeypatch.setenv("KAPTAIN_SDK_DEBUG", "1")
    shell.run_cell(RAISE + "raise ModelValidationException('bad')")
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # no colours
    assert "Traceback" in out and "ModelValidationException: bad" in out


def test_an_application_handler_is_not_replaced(shell: Any) -> None:
    shell.set_custom_exc((KeyError,), lambda *args, **kwargs: None)
    assert not notebook_errors.install(shell)
    assert shell.custom_exceptions == (KeyError,)


def test_outside_ipython_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not notebook_errors.install()
