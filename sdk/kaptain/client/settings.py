"""Where Temporal is: read from the environment when asked, never at import."""

from __future__ import annotations

import os

from pydantic import BaseModel

from kaptain.contracts.names import TASK_QUEUE

PLATFORMS = ("local", "kubernetes")
"""Platforms a Kaptain worker can act on."""


def platform_name() -> str:
    """The platform the SDK stages credentials for: ``KAPTAIN_PLATFORM`` (default local).

    It must match the worker's ``--platform``: on ``kubernetes`` credentials become Secrets
    in the user's namespace, on ``local`` private files under ``$KAPTAIN_HOME/secrets``.
    """
    value = (os.environ.get("KAPTAIN_PLATFORM") or "local").strip().lower()
    if value not in PLATFORMS:
        from kaptain.exceptions import InvalidConfigurationException

        raise InvalidConfigurationException(
            f"KAPTAIN_PLATFORM={value!r} is not one of {', '.join(PLATFORMS)}"
        )
    return value


class ClientSettings(BaseModel):
    """Connection settings of the SDK.

    Attributes:
        address: ``host:port`` of Temporal's frontend; None means the embedded stack.
        namespace: Temporal namespace.
        task_queue: Task queue the Kaptain worker serves.
        ui_url: Base URL of the Temporal Web UI, for links.
    """

    address: str | None = None
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    ui_url: str | None = None

    @classmethod
    def from_env(cls) -> ClientSettings:
        """Settings from the environment, read now.

        Reads ``KAPTAIN_TEMPORAL_ADDRESS``, ``KAPTAIN_TEMPORAL_NAMESPACE``,
        ``KAPTAIN_TASK_QUEUE`` and ``KAPTAIN_TEMPORAL_UI``.
        """
        return cls(
            address=os.environ.get("KAPTAIN_TEMPORAL_ADDRESS") or None,
            namespace=os.environ.get("KAPTAIN_TEMPORAL_NAMESPACE") or "default",
            task_queue=os.environ.get("KAPTAIN_TASK_QUEUE") or TASK_QUEUE,
            ui_url=os.environ.get("KAPTAIN_TEMPORAL_UI") or None,
        )
