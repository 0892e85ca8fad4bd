"""What a person sees while a run is in progress: phases, logs, a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from kaptain.contracts import TrainStatus, TuneStatus
from kaptain.model.logs import LogFollower


class Progress(Protocol):
    """Shows a run's ``status`` query answers."""

    status_type: type[BaseModel] | None
    """The model of the run's ``status`` query (None: the run has none)."""

    def update(self, status: Any) -> None:
        """Show a status."""

    def close(self) -> None:
        """The run ended."""


class NoProgress:
    """For runs without a status query (builds)."""

    status_type: type[BaseModel] | None = None

    def update(self, status: Any) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


class TrainProgress:
    """Phase changes of a training run, and (verbose) every replica's log.

    Args:
        say: Where messages go.
        verbose: Follow the replicas' logs.
    """

    status_type: type[BaseModel] | None = TrainStatus

    def __init__(self, say: Callable[[str], None], *, verbose: bool) -> None:
        self._say = say
        self._verbose = verbose
        self._phase = ""
        self._logs = LogFollower(say)

    def update(self, status: TrainStatus) -> None:
        """Announce a new phase; print new log lines."""
        if status.phase != self._phase:
            self._phase = status.phase
            self._announce(status)
        if self._verbose and status.job is not None:
            self._logs.poll(status.job.log_locations)

    def _announce(self, status: TrainStatus) -> None:
        messages = {
            "Building": "Building the image (skipped when the same contents are published)",
            "Starting": f"Starting the job with image {status.image}",
            "Running": (
                f"Job {status.job.name}: {status.job.replicas} replicas running"
                if status.job
                else "Job running"
            ),
        }
        if status.phase in messages:
            self._say(messages[status.phase])

    def close(self) -> None:
        """Nothing to close."""


class TuneProgress:
    """A tqdm bar of an experiment: trials done / total, best so far, running, failed.

    Args:
        objective: Name of the main objective.
    """

    status_type: type[BaseModel] | None = TuneStatus

    def __init__(self, objective: str) -> None:
        self._objective = objective
        self._bar: Any = None

    def update(self, status: TuneStatus) -> None:
        """Move the bar."""
        if status.trials <= 0:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=status.trials, desc="trials", unit="trial")
        self._bar.n = status.completed
        best = "-" if status.best_objective is None else f"{status.best_objective:.4g}"
        self._bar.set_postfix(
            {
                f"best {self._objective}": best,
                "running": status.running,
                "failed": status.failed,
                "pruned": status.pruned,
            },
            refresh=False,
        )
        self._bar.refresh()

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
