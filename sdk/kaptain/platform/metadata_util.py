"""Reporting metrics from inside a trainer.

Metrics reach Kaptain (and tuning) as ``name=value`` lines on stdout -- the format of
Katib's StdOut metrics collector -- so ``print("accuracy=0.97")`` works as well.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from numbers import Real
from typing import Final

from kaptain.exceptions import ModelValidationException

__all__ = ["METRIC_NAME", "MetadataUtil"]

METRIC_NAME: Final = re.compile(r"[\w|-]+")
"""Metric names Katib's StdOut collector accepts."""


def _format(name: object, value: object) -> str:
    if not isinstance(name, str) or METRIC_NAME.fullmatch(name) is None:
        raise ModelValidationException(
            f"Invalid metric name {name!r}: use letters, digits, '_', '-' or '|'"
        )
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ModelValidationException(f"Metric {name!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelValidationException(f"Metric {name!r} must be finite, got {value!r}")
    text = str(int(value)) if isinstance(value, int) else repr(number)
    return f"{name}={text}"


class MetadataUtil:
    """Helpers a trainer calls to report to Kaptain."""

    @staticmethod
    def record_metrics(metrics: Mapping[str, float]) -> None:
        r"""Prints one ``name=value`` line per metric to stdout, flushed.

        All metrics are validated before anything is printed.

        Args:
            metrics: Metric names and values, e.g. ``{"accuracy": 0.97, "loss": 0.08}``.

        Raises:
            ModelValidationException: A name does not match ``[\w|-]+`` or a value is not a
                finite number.
        """
        if not isinstance(metrics, Mapping):
            raise ModelValidationException("metrics must be a dict of names to numbers")
        lines = [_format(name, value) for name, value in metrics.items()]
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
