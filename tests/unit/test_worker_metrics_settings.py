"""The worker's metrics settings: flag over ``KAPTAIN_METRICS_PORT``, off by default."""

from __future__ import annotations

import socket

import pytest

from kaptain.exceptions import InvalidConfigurationException
from kaptain.worker.main import parse_args
from kaptain.worker.metrics import metrics_runtime


def test_metrics_are_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAPTAIN_METRICS_PORT", raising=False)
    settings = parse_args([])
    assert settings.metrics_port is None
    assert settings.metrics_address is None
    assert metrics_runtime(settings.metrics_address) is None


def test_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPTAIN_METRICS_PORT", "9000")
    assert parse_args([]).metrics_address == "0.0.0.0:9000"
    settings = parse_args(["--metrics-port", "9100", "--metrics-host", "127.0.0.1"])
    assert settings.metrics_address == "127.0.0.1:9100"


def test_a_busy_port_is_a_clear_configuration_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        with pytest.raises(InvalidConfigurationException, match=address):
            metrics_runtime(address)
