"""Hyperparameter search algorithms, named as in Katib."""

from __future__ import annotations

from enum import Enum

from kaptain.exceptions import UnsupportedAlgorithmException

__all__ = ["Algorithm"]


class Algorithm(Enum):
    """A hyperparameter search algorithm; the values are Katib's algorithm names."""

    RANDOM = "random"
    GRID = "grid"
    BAYESIAN_OPTIMIZATION = "bayesianoptimization"
    TPE = "tpe"
    MULTIVARIATE_TPE = "multivariate-tpe"
    CMAES = "cmaes"
    SOBOL = "sobol"
    HYPERBAND = "hyperband"

    @staticmethod
    def of(algorithm: str | Algorithm | None) -> Algorithm | None:
        """Converts a hyperparameter tuning algorithm (string) to an Algorithm enum.

        Args:
            algorithm: Katib algorithm name, case-insensitive (e.g. ``"tpe"``), or an
                Algorithm, or None.

        Returns:
            The Algorithm, or None when ``algorithm`` is None.

        Raises:
            UnsupportedAlgorithmException: The name is blank or not a supported algorithm.
        """
        if algorithm is None or isinstance(algorithm, Algorithm):
            return algorithm
        if isinstance(algorithm, str):
            wanted = algorithm.strip().lower()
            for member in Algorithm:
                if member.value == wanted:
                    return member
        supported = ", ".join(member.value for member in Algorithm)
        raise UnsupportedAlgorithmException(
            f"Unsupported algorithm {algorithm!r}; supported algorithms: {supported}"
        )
