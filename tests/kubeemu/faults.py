"""Fault injection: make chosen requests fail, stall or lose their connection.

Example:
    >>> emu.faults.add(verb="create", resource="pytorchjobs", status=500)      # once
    >>> emu.faults.add(verb="list", resource="pods", status=429, retry_after=2, times=3)
    >>> emu.faults.add(verb="watch", resource="pods", status=410)              # Expired event
    >>> emu.faults.add(verb="get", resource="pods/log", drop_connection=True)
    >>> emu.faults.add(verb="patch", delay=0.5, status=None)                   # slow, then OK
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class FaultRule:
    """One rule; ``None`` fields match anything. ``times=None`` never runs out."""

    verb: str | None = None
    resource: str | None = None
    """``pods``, ``pods/log``, ``pytorchjobs/status`` ... (the subresource must be named)."""
    name: str | None = None
    namespace: str | None = None
    group: str | None = None
    status: int | None = 500
    """HTTP code to answer (``None``: only ``delay``/``drop_connection``)."""
    times: int | None = 1
    retry_after: float | None = None
    """``Retry-After`` seconds (429 and 503 get 1 when unset)."""
    delay: float = 0.0
    drop_connection: bool = False
    message: str | None = None
    reason: str | None = None
    hits: int = 0
    """How many requests this rule has answered."""

    def matches(
        self, verb: str, group: str, resource: str, namespace: str | None, name: str | None
    ) -> bool:
        """Whether a request is one this rule targets (ignores ``times``)."""
        checks = (
            (self.verb, verb),
            (self.resource, resource),
            (self.name, name),
            (self.namespace, namespace),
            (self.group, group),
        )
        return all(wanted is None or wanted == actual for wanted, actual in checks)


class Faults:
    """The ordered fault rules of one emulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def add(
        self,
        verb: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        status: int | None = 500,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        *,
        namespace: str | None = None,
        group: str | None = None,
        message: str | None = None,
        reason: str | None = None,
    ) -> FaultRule:
        """Appends a rule; rules are tried in order and consumed by count."""
        rule = FaultRule(
            verb=verb,
            resource=resource,
            name=name,
            namespace=namespace,
            group=group,
            status=status,
            times=times,
            retry_after=retry_after,
            delay=delay,
            drop_connection=drop_connection,
            message=message,
            reason=reason,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Removes every rule."""
        with self._lock:
            self.rules.clear()

    def take(
        self, verb: str, group: str, resource: str, namespace: str | None, name: str | None
    ) -> FaultRule | None:
        """The first live rule matching a request, consumed once; ``None`` when none."""
        with self._lock:
            for rule in self.rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if rule.matches(verb, group, resource, namespace, name):
                    rule.hits += 1
                    return rule
        return None
