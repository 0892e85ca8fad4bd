"""Lifecycle states of a model (``untrained`` -> ``trained``/``tuned`` -> ``deployed``)."""

from __future__ import annotations

from kaptain.contracts.common import ModelState

__all__ = ["ModelState"]
