"""Metrics from log lines in the format of Katib's StdOut collector: ``name=value``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

METRIC_LINE = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
"""Katib's StdOut collector regex."""


def parse_metrics(lines: Iterable[str]) -> dict[str, list[float]]:
    """Collect every ``name=value`` pair, in order of appearance.

    Args:
        lines: Log lines.

    Returns:
        ``{name: [value, ...]}``; pairs whose value is not a finite number are ignored.
    """
    found: dict[str, list[float]] = {}
    for line in lines:
        for match in METRIC_LINE.finditer(line):
            raw = match.group(2)
            try:
                value = float(raw)
            except ValueError:
                continue
            if math.isfinite(value):
                found.setdefault(match.group(1), []).append(value)
    return found
