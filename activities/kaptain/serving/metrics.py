"""Parse Knative queue-proxy style request metrics into :class:`DeploymentMetrics`.

Reads the Prometheus text format that the local router serves and that Knative's
queue-proxy exports: ``revision_request_count`` (or ``..._total``) and
``revision_request_latencies_bucket``, labelled with ``namespace_name``, ``service_name``,
``revision_name`` and ``response_code_class``. Response classes are summed per revision;
``5xx`` answers are errors.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator

from kaptain.contracts.serve import DeploymentMetrics, RevisionMetrics

__all__ = ["Sample", "parse_deployment_metrics", "parse_samples"]

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_REQUESTS = ("revision_request_count", "revision_request_count_total")
_BUCKETS = "revision_request_latencies_bucket"
_SUM = "revision_request_latencies_sum"

Sample = tuple[str, dict[str, str], float]
"""One sample: metric name, labels, value."""


def _labels(text: str) -> dict[str, str]:
    return {
        match.group(1): re.sub(
            r"\\.", lambda m: _UNESCAPE.get(m.group(0), m.group(0)), match.group(2)
        )
        for match in _LABEL.finditer(text)
    }


def parse_samples(text: str) -> Iterator[Sample]:
    """Every sample of a Prometheus text exposition (comments and blank lines skipped).

    Args:
        text: The scraped text.

    Yields:
        ``(name, labels, value)`` per sample line.
    """
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if match:
            yield match.group(1), _labels(match.group(2) or ""), float(match.group(3))


def _bound(le: str) -> float:
    return math.inf if le.strip() in ("+Inf", "Inf", "inf") else float(le)


def _bound_key(le: str) -> str:
    value = _bound(le)
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if value.is_integer() else repr(value)


def parse_deployment_metrics(
    text: str, service: str, namespace: str | None = None
) -> DeploymentMetrics:
    """The per-revision counters of one deployment.

    Args:
        text: Prometheus text from the router or from queue-proxies.
        service: The deployment's name (the ``service_name`` label).
        namespace: Its namespace (``namespace_name``); None accepts any.

    Returns:
        Revision name -> requests, 5xx errors and cumulative latency buckets (milliseconds,
        ascending, ``"+Inf"`` last), summed over response classes.
    """
    requests: dict[str, float] = defaultdict(float)
    errors: dict[str, float] = defaultdict(float)
    buckets: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    sums: dict[str, float] = defaultdict(float)
    for name, labels, value in parse_samples(text):
        if labels.get("service_name") != service:
            continue
        if namespace is not None and labels.get("namespace_name") != namespace:
            continue
        revision = labels.get("revision_name", "")
        if name in _REQUESTS:
            requests[revision] += value
            if labels.get("response_code_class") == "5xx":
                errors[revision] += value
        elif name == _BUCKETS and "le" in labels:
            buckets[revision][_bound_key(labels["le"])] += value
        elif name == _SUM:
            sums[revision] += value
    revisions = {}
    for revision in sorted(set(requests) | set(buckets)):
        ordered = sorted(buckets[revision].items(), key=lambda item: _bound(item[0]))
        revisions[revision] = RevisionMetrics(
            requests=round(requests[revision]),
            errors=round(errors[revision]),
            latency_buckets={le: round(count) for le, count in ordered},
            latency_sum_ms=sums[revision],
        )
    return DeploymentMetrics(revisions=revisions)
