"""The tuning history as a plot: each trial's objective and the best so far.

matplotlib is optional: :func:`plot_trials` imports it when called and, without it, raises
an ``ImportError`` that says how to install it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kaptain.contracts import TrialRecord


def objective_name(trials: Sequence[TrialRecord]) -> str:
    """The metric the trials were judged by: the one whose latest value is the objective.

    Args:
        trials: The experiment's trials.

    Returns:
        The metric's name, or ``objective`` when it cannot be told.
    """
    names: set[str] | None = None
    for trial in trials:
        if trial.objective is None:
            continue
        matching = {n for n, m in trial.metrics.items() if m.latest == trial.objective}
        names = matching if names is None else names & matching
    return sorted(names)[0] if names else "objective"


def is_maximized(
    trials: Sequence[TrialRecord], best_hyperparameters: Mapping[str, Any] | None
) -> bool:
    """Whether the objective was maximized, told by which trial became the model.

    The tuned model carries the best trial's hyperparameters; the objective was maximized
    when that trial's objective is the highest (True also when it cannot be told).
    """
    scored = [t for t in trials if t.objective is not None]
    best = [t for t in scored if best_hyperparameters and t.hyperparameters == best_hyperparameters]
    if not best or not scored:
        return True
    value = best[0].objective
    return value == max(t.objective for t in scored if t.objective is not None)


def best_so_far(values: Sequence[float], *, maximize: bool) -> list[float]:
    """The running best of ``values``."""
    best: list[float] = []
    for value in values:
        if not best:
            best.append(value)
        else:
            best.append(max(best[-1], value) if maximize else min(best[-1], value))
    return best


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting the tuning history needs matplotlib: pip install matplotlib"
        ) from None
    return plt


def plot_trials(
    trials: Sequence[TrialRecord],
    *,
    maximize: bool = True,
    objective: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot each trial's objective (by trial number) and the best objective so far.

    Trials that ended without an objective (failed, pruned) are marked at the bottom axis
    with their state.

    Args:
        trials: The experiment's trials.
        maximize: Whether a higher objective is better.
        objective: The objective's name for the axis (default: told from the metrics).
        ax: A matplotlib ``Axes`` to draw on (default: a new figure).

    Returns:
        The ``Axes``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: No trial has an objective yet.
    """
    plt = _pyplot()
    from matplotlib import ticker

    scored = sorted((t for t in trials if t.objective is not None), key=lambda t: t.number)
    if not scored:
        raise ValueError("no trial has an objective to plot (tune the model first)")
    name = objective or objective_name(scored)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    numbers = [t.number for t in scored]
    values = [float(t.objective) for t in scored if t.objective is not None]
    ax.scatter(numbers, values, label=f"trial {name}", zorder=3)
    ax.step(
        numbers,
        best_so_far(values, maximize=maximize),
        where="post",
        color="C1",
        label="best so far",
    )
    unscored = sorted((t for t in trials if t.objective is None), key=lambda t: t.number)
    if unscored:
        floor = min(values)
        ax.scatter(
            [t.number for t in unscored],
            [floor] * len(unscored),
            marker="x",
            color="grey",
            label="failed / pruned",
        )
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(name)
    ax.set_title(f"Tuning history ({'maximize' if maximize else 'minimize'} {name})")
    ax.legend()
    return ax
