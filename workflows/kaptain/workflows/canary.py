"""Judging one window of a progressive canary from two scrapes of its counters (pure)."""

from __future__ import annotations

import math

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from kaptain.contracts.serve import CanaryPolicy, RevisionMetrics, StepAnalysis

PASSED = "pass"
HELD = "hold"
FAILED = "fail"


def _bound(label: str) -> float:
    return math.inf if label in ("+Inf", "inf", "Inf") else float(label)


def p99_ms(before: RevisionMetrics, after: RevisionMetrics) -> float | None:
    """p99 latency (ms) of the requests between two scrapes, from the histogram buckets.

    The answer is the upper bound of the first bucket holding the 99th percentile; when
    that is the ``+Inf`` bucket, the largest finite bound (the true value is above it).

    Returns:
        None when no request was answered in the window.
    """
    bounds = sorted(after.latency_buckets, key=_bound)
    window = {b: after.latency_buckets[b] - before.latency_buckets.get(b, 0) for b in bounds}
    total = max(window.values(), default=0)
    if total <= 0:
        return None
    finite = [b for b in bounds if math.isfinite(_bound(b))]
    for bound in bounds:
        if window[bound] >= 0.99 * total:
            value = _bound(bound)
            if math.isfinite(value):
                return value
            break
    return _bound(finite[-1]) if finite else None


def judge(
    policy: CanaryPolicy, percent: int, before: RevisionMetrics, after: RevisionMetrics
) -> StepAnalysis:
    """The verdict on the canary's requests between ``before`` and ``after``.

    Args:
        policy: Thresholds and the minimum number of requests.
        percent: The canary's share of traffic during the window.
        before: Counters at the start of the window.
        after: Counters at its end.

    Returns:
        ``fail`` on a breached threshold, ``hold`` with too few requests, else ``pass``.
    """
    if after.requests < before.requests:  # the counters were reset (a restarted router)
        before = RevisionMetrics()
    requests = after.requests - before.requests
    errors = max(after.errors - before.errors, 0)
    rate = errors / requests if requests else 0.0
    p99 = p99_ms(before, after)

    def analysis(verdict: str, reason: str) -> StepAnalysis:
        return StepAnalysis(
            percent=percent,
            requests=requests,
            errors=errors,
            error_rate=round(rate, 4),
            p99_latency_ms=p99,
            verdict=verdict,
            reason=reason,
        )

    needed = max(policy.min_requests, 1)
    if requests < needed:
        return analysis(HELD, f"{requests} canary requests in the window, fewer than {needed}")
    if policy.max_error_rate is not None and rate > policy.max_error_rate:
        return analysis(
            FAILED,
            f"error rate {rate:.1%} ({errors}/{requests}) above {policy.max_error_rate:.1%} "
            f"at {percent}% traffic",
        )
    if (
        policy.max_p99_latency_ms is not None
        and p99 is not None
        and p99 > policy.max_p99_latency_ms
    ):
        return analysis(
            FAILED,
            f"p99 latency {p99:g} ms above {policy.max_p99_latency_ms:g} ms at {percent}% traffic",
        )
    latency = "unknown" if p99 is None else f"{p99:g} ms"
    return analysis(PASSED, f"{requests} requests, error rate {rate:.1%}, p99 {latency}")
