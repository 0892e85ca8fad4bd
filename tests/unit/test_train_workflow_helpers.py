"""Pure helpers of the TrainModel workflow: flags, metric summaries, job kind."""

from __future__ import annotations

import pytest

from kaptain.contracts import JobKind, MetricSummary
from kaptain.workflows.steps import as_flags, job_kind, summarize


def test_as_flags_keeps_dashed_keys_and_order() -> None:
    assert as_flags({"--lr": "0.1", "--epochs": "5", "-v": "1"}) == [
        "--lr=0.1",
        "--epochs=5",
        "-v=1",
    ]


def test_as_flags_adds_dashes_to_bare_keys() -> None:
    assert as_flags({"epochs": "5", "batch_size": "64"}) == ["--epochs=5", "--batch_size=64"]


def test_as_flags_keeps_values_verbatim() -> None:
    assert as_flags({"--name": "a b", "--expr": "x=1", "--empty": ""}) == [
        "--name=a b",
        "--expr=x=1",
        "--empty=",
    ]


def test_as_flags_empty() -> None:
    assert as_flags({}) == []


def test_summarize_min_max_latest() -> None:
    summary = summarize({"accuracy": [0.5, 0.9, 0.7], "loss": [-1.0, -3.0]})
    assert summary == {
        "accuracy": MetricSummary(min=0.5, max=0.9, latest=0.7),
        "loss": MetricSummary(min=-3.0, max=-1.0, latest=-3.0),
    }


def test_summarize_single_value() -> None:
    assert summarize({"f1": [0.25]}) == {"f1": MetricSummary(min=0.25, max=0.25, latest=0.25)}


def test_summarize_drops_metrics_without_values() -> None:
    assert summarize({"never": [], "once": [1.0]}) == {
        "once": MetricSummary(min=1.0, max=1.0, latest=1.0)
    }


@pytest.mark.parametrize(
    ("framework", "kind"),
    [
        ("tensorflow", JobKind.TENSORFLOW),
        ("pytorch", JobKind.PYTORCH),
        ("sklearn", JobKind.PYTORCH),
        ("xgboost", JobKind.PYTORCH),
    ],
)
def test_job_kind(framework: str, kind: JobKind) -> None:
    assert job_kind(framework) is kind
