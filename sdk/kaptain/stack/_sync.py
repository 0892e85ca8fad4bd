"""Run a coroutine to completion from synchronous code, even inside a running event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine made by ``factory`` on a fresh event loop and return its result.

    A notebook cell already runs inside an event loop, where :func:`asyncio.run` is refused;
    there the coroutine runs on a fresh loop in a helper thread while this thread waits.

    Args:
        factory: Makes the coroutine (called on the thread that runs it).

    Returns:
        The coroutine's result.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_and_collect(factory)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kaptain-stack") as pool:
        return pool.submit(_run_and_collect, factory).result()


def _run_and_collect(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(factory())
    finally:
        # Temporal clients left in reference cycles are otherwise freed during interpreter
        # shutdown, when their Rust threads can no longer take the GIL: a short-lived process
        # (e.g. `kaptain dev up`) then aborts at exit (temporalio/sdk-python#300).
        gc.collect()
