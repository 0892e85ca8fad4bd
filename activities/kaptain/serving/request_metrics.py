"""The router's per-revision request metrics, in Knative queue-proxy's Prometheus format.

* ``revision_request_count{namespace_name,service_name,revision_name,response_code_class}``
  -- counter of answered requests;
* ``revision_request_latencies_bucket{...,le}`` (+ ``_sum``, ``_count``) -- latency
  histogram in milliseconds, Knative's buckets;
* ``revision_inflight_requests{namespace_name,service_name,revision_name}`` -- gauge of
  requests being proxied now.

A request the backend never answered (refused, reset, timed out) counts as ``5xx``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["LATENCY_BUCKETS_MS", "RequestMetrics", "RevisionKey"]

LATENCY_BUCKETS_MS = (
    5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500,
    600, 700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
)  # fmt: skip
"""Upper bounds of Knative's ``revision_request_latencies`` histogram, in milliseconds."""


@dataclass(frozen=True, order=True)
class RevisionKey:
    """Which revision of which deployment."""

    namespace: str
    service: str
    revision: str

    def labels(self) -> str:
        """The Prometheus label pairs of this revision (without braces)."""
        return (
            f'namespace_name="{_escape(self.namespace)}",service_name="{_escape(self.service)}",'
            f'revision_name="{_escape(self.revision)}"'
        )


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    total_ms: float = 0.0

    def observe(self, value_ms: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS_MS, value_ms)] += 1
        self.total_ms += value_ms


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def code_class(status: int) -> str:
    """``2xx``, ``4xx``, ``5xx``, ... for an HTTP status."""
    return f"{status // 100}xx"


class RequestMetrics:
    """Counters, latency histograms and in-flight gauges per revision."""

    def __init__(self) -> None:
        self._counts: dict[tuple[RevisionKey, str], int] = defaultdict(int)
        self._latencies: dict[tuple[RevisionKey, str], _Histogram] = defaultdict(_Histogram)
        self._inflight: dict[RevisionKey, int] = defaultdict(int)

    def started(self, key: RevisionKey) -> None:
        """A request to ``key`` is being proxied."""
        self._inflight[key] += 1

    def finished(self, key: RevisionKey, status: int, latency_ms: float) -> None:
        """A request to ``key`` was answered with ``status`` after ``latency_ms``."""
        self._inflight[key] -= 1
        series = (key, code_class(status))
        self._counts[series] += 1
        self._latencies[series].observe(latency_ms)

    def inflight(self, key: RevisionKey) -> int:
        """Requests to ``key`` being proxied now."""
        return self._inflight[key]

    def render(self) -> str:
        """Everything in the Prometheus text exposition format."""
        lines = [
            "# HELP revision_request_count The number of requests that are routed to queue-proxy",
            "# TYPE revision_request_count counter",
        ]
        for (key, klass), count in sorted(self._counts.items()):
            lines.append(
                f'revision_request_count{{{key.labels()},response_code_class="{klass}"}} {count}'
            )
        lines += [
            "# HELP revision_request_latencies The response latencies in milliseconds",
            "# TYPE revision_request_latencies histogram",
        ]
        for (key, klass), histogram in sorted(self._latencies.items()):
            labels = f'{key.labels()},response_code_class="{klass}"'
            cumulative = 0
            bounds = [str(b) for b in LATENCY_BUCKETS_MS] + ["+Inf"]
            for bound, count in zip(bounds, histogram.counts, strict=True):
                cumulative += count
                lines.append(
                    f'revision_request_latencies_bucket{{{labels},le="{bound}"}} {cumulative}'
                )
            lines.append(f"revision_request_latencies_sum{{{labels}}} {histogram.total_ms}")
            lines.append(f"revision_request_latencies_count{{{labels}}} {cumulative}")
        lines += [
            "# HELP revision_inflight_requests Requests being proxied to the revision now",
            "# TYPE revision_inflight_requests gauge",
        ]
        for key, value in sorted(self._inflight.items()):
            lines.append(f"revision_inflight_requests{{{key.labels()}}} {value}")
        return "\n".join(lines) + "\n"
