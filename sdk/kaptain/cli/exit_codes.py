"""Exit codes of the ``kaptain`` command, which scripts can rely on.

=====  =====================================================================================
code   meaning
=====  =====================================================================================
0      success (also: a dry run, nothing to delete, ``--help``)
1      the operation failed (a run failed, the platform refused, ...); for ``dev status``:
       the stack is not fully running
2      usage error: bad arguments or an unknown kind
3      not found: no such job / experiment / inference service created by Kaptain
4      Temporal (or the embedded stack) cannot be reached (``dev`` and ``schema``: 1)
130    interrupted (Ctrl-C)
=====  =====================================================================================
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
EXIT_UNAVAILABLE: Final = 4
EXIT_INTERRUPTED: Final = 130


def exit_code_of(error: BaseException) -> int:
    """The exit code an uncaught error ends the command with."""
    from kaptain.exceptions import (
        ModelValidationException,
        PlatformUnavailableException,
        ResourceNotFoundException,
    )

    if isinstance(error, ResourceNotFoundException):
        return EXIT_NOT_FOUND
    if isinstance(error, ModelValidationException):
        return EXIT_USAGE
    if isinstance(error, PlatformUnavailableException):
        return EXIT_UNAVAILABLE
    return EXIT_FAILURE


EPILOG: Final = (
    "exit codes: 0 success (a dry run too), 1 failure, 2 usage error or unknown kind, "
    "3 not found (nothing of that name created by Kaptain), 4 Temporal unreachable, "
    "130 interrupted"
)
"""The exit codes in one line, for ``--help``."""
