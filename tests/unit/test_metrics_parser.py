"""Metrics from log lines, as Katib's StdOut collector reads them (``name=value``)."""

from __future__ import annotations

import pytest

from kaptain.activities.metrics import parse_metrics

CASES: list[tuple[str, list[str], dict[str, list[float]]]] = [
    ("plain", ["accuracy=0.97"], {"accuracy": [0.97]}),
    ("spaces-and-exponent", ["loss = 1e-3"], {"loss": [0.001]}),
    ("two-on-one-line", ["a=1 b=2"], {"a": [1.0], "b": [2.0]}),
    ("in-a-sentence", ["epoch 3: loss=0.25, acc=0.5"], {"loss": [0.25], "acc": [0.5]}),
    ("negative", ["loss=-0.5"], {"loss": [-0.5]}),
    ("negative-exponent", ["delta=-2.5E-2"], {"delta": [-0.025]}),
    ("explicit-plus", ["gain=+3"], {"gain": [3.0]}),
    ("leading-dot", ["lr=.5"], {"lr": [0.5]}),
    ("capital-exponent", ["steps=1E+2"], {"steps": [100.0]}),
    (
        "underscore-dash-pipe",
        ["val_acc=1 val-loss=2 train|f1=3"],
        {"val_acc": [1.0], "val-loss": [2.0], "train|f1": [3.0]},
    ),
    ("nan-ignored", ["name=nan"], {}),
    ("inf-ignored", ["loss=inf"], {}),
    ("overflow-ignored", ["big=1e999"], {}),
    ("word-value-ignored", ["mode=train"], {}),
    ("text-lines-ignored", ["Epoch 1/5", "Training started...", "", "no metrics here"], {}),
    (
        "order-kept",
        ["accuracy=0.5", "x", "accuracy=0.9", "accuracy=0.7"],
        {"accuracy": [0.5, 0.9, 0.7]},
    ),
    ("mixed-with-nan", ["accuracy=nan loss=0.1"], {"loss": [0.1]}),
]


@pytest.mark.parametrize(("lines", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_metrics(lines: list[str], expected: dict[str, list[float]]) -> None:
    found = parse_metrics(lines)
    assert found.keys() == expected.keys()
    for name, values in expected.items():
        assert found[name] == pytest.approx(values)


def test_accepts_any_iterable_of_lines() -> None:
    assert parse_metrics(iter(["a=1", "a=2"])) == {"a": [1.0, 2.0]}


def test_empty_input() -> None:
    assert parse_metrics([]) == {}
