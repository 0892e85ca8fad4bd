"""Concurrency-based replica counts of local revisions."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kaptain.activities.local.serving_scale import replicas_for, scale
from kaptain.contracts import ModelFramework
from kaptain.contracts.serve import RevisionMetrics, RevisionSpec

SPEC = RevisionSpec(
    revision="r1",
    source_uri="file:///m",
    model_uri="file:///d",
    framework=ModelFramework.PYTORCH,
    target_concurrency=2,
    min_replicas=1,
    max_replicas=3,
)


def busy(sum_ms: float) -> RevisionMetrics:
    return RevisionMetrics(latency_sum_ms=sum_ms)


def test_replicas_follow_concurrency_within_bounds() -> None:
    assert replicas_for(SPEC, 0) == 1
    assert replicas_for(SPEC, 2.0) == 1
    assert replicas_for(SPEC, 2.5) == 2
    assert replicas_for(SPEC, 100) == 3


def test_a_new_revision_starts_at_min_and_opens_a_window(tmp_path: Path) -> None:
    assert scale(tmp_path, SPEC, 0, busy(0)) == 1
    assert json.loads((tmp_path / "load.json").read_text())["sum_ms"] == 0


def test_the_window_since_the_last_apply_decides(tmp_path: Path) -> None:
    (tmp_path / "load.json").write_text(json.dumps({"at": time.time() - 10, "sum_ms": 0}))
    # 50 s of request time in 10 s: 5 requests in flight on average -> ceil(5 / 2) = 3
    assert scale(tmp_path, SPEC, 1, busy(50_000)) == 3
    (tmp_path / "load.json").write_text(json.dumps({"at": time.time() - 10, "sum_ms": 50_000}))
    assert scale(tmp_path, SPEC, 3, busy(50_500)) == 1  # idle again: back to min


def test_short_windows_and_counter_resets_keep_the_count(tmp_path: Path) -> None:
    (tmp_path / "load.json").write_text(json.dumps({"at": time.time() - 1, "sum_ms": 0}))
    assert scale(tmp_path, SPEC, 2, busy(10_000)) == 2  # 1 s says too little
    (tmp_path / "load.json").write_text(json.dumps({"at": time.time() - 10, "sum_ms": 9_000}))
    assert scale(tmp_path, SPEC, 2, busy(10)) == 2  # the router restarted
