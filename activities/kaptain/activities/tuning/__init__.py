"""Hyperparameter suggestions: Katib algorithms on optuna, one stateless activity call each.

Every call builds a fresh in-memory study from the request alone (seeded sampler, replayed
history), so the same request always gets the same suggestion.
"""

from kaptain.activities.tuning.suggest import TuningActivities, suggest

__all__ = ["TuningActivities", "suggest"]
