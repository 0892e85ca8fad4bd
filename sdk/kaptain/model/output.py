"""What the SDK prints: Kaptain-style time-stamped lines on stdout."""

from __future__ import annotations

import sys
import time

from kaptain.envs import DEFAULT_LOG_TIMEFORMAT, get_env_str


def say(message: str) -> None:
    """Print one time-stamped line (``KAPTAIN_SDK_LOG_TIMEFORMAT``)."""
    stamp = time.strftime(get_env_str("KAPTAIN_SDK_LOG_TIMEFORMAT", DEFAULT_LOG_TIMEFORMAT))
    for line in message.splitlines() or [""]:
        sys.stdout.write(f"{stamp} {line}\n")
    sys.stdout.flush()
