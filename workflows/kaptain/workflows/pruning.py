"""Hyperband's early stopping as asynchronous successive halving (pure, deterministic).

Rungs sit at ``min_resource * eta**k`` reports of the main objective (below ``max_resource``
when given). When a trial reaches a rung, it is compared with every trial that reached the
same rung so far; unless it is among the best ``ceil(n / eta)`` of them it is stopped. A
rung judges nothing until ``eta`` trials reached it. Each (trial, rung) is judged once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def rungs(min_resource: int, eta: int, max_resource: int | None, up_to: int) -> list[int]:
    """Rung positions (number of reports) not beyond ``up_to`` (nor ``max_resource``)."""
    positions = []
    position = min_resource
    while position <= up_to and (max_resource is None or position < max_resource):
        positions.append(position)
        position *= eta
    return positions


@dataclass
class SuccessiveHalving:
    """Decides which trials to stop from their intermediate values.

    Attributes:
        eta: Keep the best ``1/eta`` at each rung.
        min_resource: Reports before the first rung.
        max_resource: No rung at or beyond this many reports (None: no limit).
        maximize: Whether larger objective values are better.
    """

    eta: int = 3
    min_resource: int = 1
    max_resource: int | None = None
    maximize: bool = True
    values: dict[int, list[float]] = field(default_factory=dict)
    judged: set[tuple[int, int]] = field(default_factory=set)

    def report(self, number: int, values: list[float]) -> bool:
        """Record a trial's values so far; True when the trial should stop now."""
        self.values[number] = list(values)
        for rung in rungs(self.min_resource, self.eta, self.max_resource, len(values)):
            if (number, rung) in self.judged:
                continue
            peers = [v[rung - 1] for v in self.values.values() if len(v) >= rung]
            if len(peers) < self.eta:
                continue  # not enough trials reached this rung to judge it yet
            self.judged.add((number, rung))
            keep = math.ceil(len(peers) / self.eta)
            threshold = sorted(peers, reverse=self.maximize)[keep - 1]
            mine = values[rung - 1]
            if (mine < threshold) if self.maximize else (mine > threshold):
                return True
        return False
