"""The SDK's connection: configured Temporal, or the embedded stack (started if needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio.client import Client

from kaptain.client.connect import connect
from kaptain.client.portal import portal
from kaptain.client.settings import ClientSettings
from kaptain.telemetry import configure_tracing

_clients: dict[tuple[str, str], Client] = {}
_lock = asyncio.Lock()


async def session(announce: Callable[[str], None]) -> tuple[Client, ClientSettings]:
    """A connected client and the settings it was made from.

    With no ``KAPTAIN_TEMPORAL_ADDRESS`` the embedded stack is used -- started (and
    announced) when it is not running.

    Must run on the portal's loop (clients are bound to the loop that made them).
    """
    settings = ClientSettings.from_env()
    if settings.address is None:
        from kaptain.stack.stack import ensure_running

        info = await asyncio.to_thread(ensure_running, announce)
        settings = settings.model_copy(
            update={
                "address": info.temporal_address,
                "namespace": info.namespace,
                "ui_url": settings.ui_url or info.ui_url,
                "task_queue": info.task_queue,
            }
        )
    assert settings.address is not None
    key = (settings.address, settings.namespace)
    async with _lock:
        if key not in _clients:
            configure_tracing("kaptain-sdk")
            _clients[key] = await connect(settings.address, settings.namespace)
    return _clients[key], settings


def forget_clients() -> None:
    """Drop the cached clients (the portal frees them before the interpreter exits)."""
    _clients.clear()


__all__ = ["forget_clients", "portal", "session"]
