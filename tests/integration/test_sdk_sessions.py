"""How the SDK is reached: from inside an event loop (Jupyter), and with no address at all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import WorkerProcess, make_model
from kaptain.stack import stack


def test_sync_calls_work_inside_a_running_event_loop(worker: WorkerProcess) -> None:
    """A Jupyter cell runs inside the kernel's event loop; asyncio.run() would fail there."""
    model = make_model()

    async def notebook_cell() -> bool:
        return model.train(workers=1, hyperparameters={"--epochs": 1})

    assert asyncio.run(notebook_cell()) is True
    assert model.state.value == "trained"


@pytest.fixture
def no_temporal_address(kaptain_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("KAPTAIN_TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("KAPTAIN_TASK_QUEUE", raising=False)
    try:
        yield kaptain_home
    finally:
        stack.down()


def test_without_an_address_the_embedded_stack_starts_and_says_so(
    no_temporal_address: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.status() is None
    model = make_model()
    assert model.train(workers=1, hyperparameters={"--epochs": 1})
    out = capsys.readouterr().out
    assert "Starting the embedded Kaptain stack" in out
    info = stack.status()
    assert info is not None and info.healthy
    assert Path(info.home) == no_temporal_address
    # the run is linked to the stack's Web UI
    assert info.ui_url is not None and info.ui_url in out
    # a second call reuses the running stack without announcing it again
    assert make_model().train(workers=1, hyperparameters={"--epochs": 1})
    assert "Starting the embedded Kaptain stack" not in capsys.readouterr().out
