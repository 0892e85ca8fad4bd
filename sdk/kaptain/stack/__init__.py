"""The embedded Kaptain stack: a Temporal dev server and a local worker on this machine.

Used when no Temporal address is configured, and by ``kaptain dev up|down|status``.
"""

from __future__ import annotations

from kaptain.stack.paths import StatePaths, home_dir, state_paths
from kaptain.stack.stack import StackInfo, down, ensure_running, status, up

__all__ = [
    "StackInfo",
    "StatePaths",
    "down",
    "ensure_running",
    "home_dir",
    "state_paths",
    "status",
    "up",
]
