"""Judging a progressive canary's window from two scrapes of its counters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kaptain.contracts.serve import ApplyServing, CanaryPolicy, RevisionMetrics
from kaptain.workflows.canary import judge, p99_ms


def scrape(requests: int, errors: int, buckets: dict[str, int]) -> RevisionMetrics:
    return RevisionMetrics(requests=requests, errors=errors, latency_buckets=buckets)


BEFORE = scrape(100, 1, {"5": 50, "10": 90, "50": 100, "+Inf": 100})


def test_p99_reads_the_window_not_the_totals() -> None:
    # 100 new requests: 98 at most 5 ms, 1 more by 10 ms, the last one by 50 ms
    after = scrape(200, 1, {"5": 148, "10": 189, "50": 200, "+Inf": 200})
    assert p99_ms(BEFORE, after) == 10.0
    # the totals alone would say 50 ms for the same scrape
    assert p99_ms(scrape(0, 0, {}), after) == 50.0


def test_p99_above_the_largest_bucket_reports_that_bound() -> None:
    after = scrape(110, 1, {"5": 50, "10": 90, "50": 100, "+Inf": 110})
    assert p99_ms(BEFORE, after) == 50.0


def test_no_requests_no_latency() -> None:
    assert p99_ms(BEFORE, BEFORE) is None


def test_error_rate_breach_fails_with_the_reason() -> None:
    policy = CanaryPolicy(steps=[10, 50], max_error_rate=0.05)
    after = scrape(200, 11, {"5": 150, "10": 190, "50": 200, "+Inf": 200})
    verdict = judge(policy, 10, BEFORE, after)
    assert verdict.verdict == "fail"
    assert verdict.requests == 100 and verdict.errors == 10
    assert "error rate 10.0%" in verdict.reason and "10% traffic" in verdict.reason


def test_latency_breach_fails() -> None:
    policy = CanaryPolicy(steps=[10], max_p99_latency_ms=20)
    after = scrape(200, 1, {"5": 100, "10": 100, "50": 200, "+Inf": 200})
    verdict = judge(policy, 10, BEFORE, after)
    assert verdict.verdict == "fail" and "p99 latency 50 ms" in verdict.reason


def test_too_few_requests_holds() -> None:
    policy = CanaryPolicy(steps=[10], max_error_rate=0.0, min_requests=20)
    after = scrape(110, 5, {"5": 60, "10": 100, "50": 110, "+Inf": 110})
    assert judge(policy, 10, BEFORE, after).verdict == "hold"


def test_healthy_window_passes() -> None:
    policy = CanaryPolicy(steps=[10], max_error_rate=0.05, max_p99_latency_ms=20)
    after = scrape(200, 2, {"5": 148, "10": 189, "50": 200, "+Inf": 200})
    verdict = judge(policy, 10, BEFORE, after)
    assert verdict.verdict == "pass" and verdict.error_rate == 0.01


@pytest.mark.parametrize("steps", [[], [0, 10], [50, 30], [10, 10], [10, 120]])
def test_policy_steps_must_be_increasing_percentages(steps: list[int]) -> None:
    with pytest.raises(ValidationError):
        CanaryPolicy(steps=steps)


def test_a_canary_percent_needs_a_canary() -> None:
    spec = {
        "revision": "r1",
        "source_uri": "file:///m",
        "model_uri": "file:///d",
        "framework": "pytorch",
    }
    deployment = {"model_id": "dev/m", "name": "dev-m", "storage": {"base_uri": "file:///s"}}
    with pytest.raises(ValidationError, match="canary_percent needs a canary"):
        ApplyServing.model_validate(
            {"deployment": deployment, "baseline": spec, "canary_percent": 30}
        )


def test_a_counter_reset_judges_what_came_after_it() -> None:
    policy = CanaryPolicy(steps=[10], max_error_rate=0.05)
    after = scrape(40, 10, {"5": 40, "10": 40, "50": 40, "+Inf": 40})
    verdict = judge(policy, 10, BEFORE, after)
    assert verdict.requests == 40 and verdict.errors == 10 and verdict.verdict == "fail"
