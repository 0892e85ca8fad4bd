"""How the SDK reaches Temporal: settings, the client factory, and the sync portal."""

from kaptain.client.connect import connect
from kaptain.client.settings import ClientSettings

__all__ = ["ClientSettings", "connect"]
