"""Model tracking: every action and logged data set or metric, per revision."""

from kaptain.tracking.store import TrackingStore

__all__ = ["TrackingStore"]
