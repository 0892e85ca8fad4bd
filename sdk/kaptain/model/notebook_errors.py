"""Kaptain's errors in IPython and Jupyter: one line, or the stack trace when debugging.

A notebook user who passes a bad argument or whose build fails needs the message, not forty
lines of SDK internals. When the SDK is imported inside IPython, :func:`install` registers
a custom exception handler for :class:`~kaptain.exceptions.KaptainException`: the cell's
error shows as ``ExceptionName: message``, unless ``KAPTAIN_SDK_DEBUG`` is true (read at
the time of the error), which shows IPython's usual traceback. Other exceptions are left
alone, and ``%debug`` / ``%tb`` still work (the traceback is kept in ``sys.last_*``).

IPython holds one custom handler per shell: an application that installs its own replaces
this one, and :func:`install` does not replace a handler that is not Kaptain's.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from kaptain.envs import EnvVar, get_env_bool
from kaptain.exceptions import KaptainException

HINT = f"(set {EnvVar.DEBUG}=1 for the stack trace)"
"""Appended to the one-line error, so the way to the details is never hidden."""


def one_line(error: BaseException) -> str:
    """``ExceptionName: message (hint)`` -- how a Kaptain error shows in a notebook.

    Args:
        error: The exception.

    Returns:
        The text (a multi-line message, such as a build log's tail, keeps its lines).
    """
    return f"{type(error).__name__}: {error} {HINT}"


def _handler(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str]:
    """IPython's custom exception handler (``InteractiveShell.set_custom_exc``)."""
    if get_env_bool(EnvVar.DEBUG):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return []
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    stb = [one_line(value)]
    shell._showtraceback(etype, value, stb)  # how IPython's kernels send an error
    return stb


def install(shell: Any = None) -> bool:
    """Register the handler on the running IPython shell, if there is one.

    Imports nothing: outside IPython (``IPython`` not yet imported) this does nothing.

    Args:
        shell: The shell (default: the running one).

    Returns:
        True when the handler is registered on a shell.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None)
        shell = get() if get is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = getattr(shell, "custom_exceptions", ())
    if current and current != (KaptainException,):
        return False  # the application's own handler stays
    shell.set_custom_exc((KaptainException,), _handler)
    return True
