"""How many replicas a local revision runs: concurrency-based, as Knative scales.

The mean number of requests in flight over a window is the rate of the router's latency sum
(Little's law); the revision gets ``ceil(concurrency / target_concurrency)`` replicas within
``[min_replicas, max_replicas]``. Each apply (a change, or the workflow's reconcile tick)
closes one window and opens the next; a window shorter than a few seconds keeps the count.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from kaptain.activities.local.files import write_atomic
from kaptain.contracts.serve import RevisionMetrics, RevisionSpec

MIN_WINDOW_SECONDS = 5.0
"""Windows shorter than this say too little about the load."""

_SAMPLE_FILE = "load.json"


def replicas_for(spec: RevisionSpec, concurrency: float) -> int:
    """Replicas for a mean ``concurrency``, within the revision's bounds."""
    wanted = math.ceil(concurrency / spec.target_concurrency - 1e-9) if concurrency > 0 else 0
    return max(spec.min_replicas, min(spec.max_replicas, wanted))


def scale(directory: Path, spec: RevisionSpec, running: int, scraped: RevisionMetrics) -> int:
    """The replica count for this apply, from the load since the previous one.

    Args:
        directory: The revision's directory (keeps the previous sample).
        spec: The revision (target concurrency and bounds).
        running: Replicas running now (0 for a new revision).
        scraped: The router's counters of the revision now.

    Returns:
        ``min_replicas`` for a new revision; else the count the window's concurrency asks
        for, or ``running`` when the window is too short or the counters were reset.
    """
    record = directory / _SAMPLE_FILE
    now = time.time()
    try:
        previous = json.loads(record.read_text())
    except (FileNotFoundError, ValueError):
        previous = None
    if running == 0 or previous is None:
        write_atomic(record, json.dumps({"at": now, "sum_ms": scraped.latency_sum_ms}))
        return max(spec.min_replicas, min(running or spec.min_replicas, spec.max_replicas))
    window = now - float(previous["at"])
    busy_ms = scraped.latency_sum_ms - float(previous["sum_ms"])
    if window < MIN_WINDOW_SECONDS:
        return max(spec.min_replicas, min(running, spec.max_replicas))
    write_atomic(record, json.dumps({"at": now, "sum_ms": scraped.latency_sum_ms}))
    if busy_ms < 0:  # the router restarted: no load figure for this window
        return max(spec.min_replicas, min(running, spec.max_replicas))
    return replicas_for(spec, busy_ms / 1000.0 / window)
