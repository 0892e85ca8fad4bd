"""Run coroutines from synchronous code -- a plain script or a Jupyter cell.

Jupyter already runs an event loop in the main thread, so ``asyncio.run`` cannot be used
there. The portal owns one event loop in a daemon thread; the calling thread blocks on a
``threading.Event`` (interruptible), so Ctrl-C / "interrupt kernel" reaches it as
``KeyboardInterrupt``. The coroutine is then cancelled and given time to clean up (the
SDK cancels the workflow, which deletes what the call created) before the interrupt is
re-raised.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_CLEANUP_SECONDS = 120.0


class Portal:
    """An event loop in a background thread, shared by every SDK call of the process."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="kaptain-portal", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the loop and join its thread (at interpreter exit).

        Temporal clients must be freed while the interpreter still runs: freeing them
        during finalisation can crash the process (temporalio/sdk-python#300).
        """
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        gc.collect()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The portal's event loop."""
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the portal's loop and wait for its result.

        On ``KeyboardInterrupt`` the coroutine is cancelled, its cleanup is awaited (a
        second interrupt stops waiting), and the interrupt is re-raised.
        """
        finished = threading.Event()

        async def _wrapped() -> T:
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(_wrapped(), self._loop)
        try:
            while not finished.wait(0.2):
                pass
        except KeyboardInterrupt:
            future.cancel()
            try:
                finished.wait(_CLEANUP_SECONDS)
            finally:
                raise KeyboardInterrupt from None
        return future.result()


_portal: Portal | None = None
_portal_lock = threading.Lock()


def portal() -> Portal:
    """The process-wide portal (started on first use)."""
    global _portal  # noqa: PLW0603 - one loop per process
    with _portal_lock:
        if _portal is None:
            _portal = Portal()
            atexit.register(_shutdown)
        return _portal


def _shutdown() -> None:
    from kaptain.client import session

    session.forget_clients()
    if _portal is not None:
        _portal.close()
