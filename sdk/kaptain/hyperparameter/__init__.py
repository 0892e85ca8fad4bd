"""Hyperparameter search spaces and tuning algorithms for ``Model.tune``.

Example::

    from kaptain.hyperparameter.domains import Double, Discrete

    model.tune(hyperparameters={"--lr": Double(0.01, 0.5), "--epochs": Discrete([5, 10])},
               objectives=["accuracy"], algorithm="bayesianoptimization")
"""

from kaptain.hyperparameter.algorithms import Algorithm
from kaptain.hyperparameter.domains import Categorical, Discrete, Domain, Double, Integer

__all__ = ["Algorithm", "Categorical", "Discrete", "Domain", "Double", "Integer"]
