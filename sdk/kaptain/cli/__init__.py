"""The ``kaptain`` command: ``dev up|down|status`` and ``worker``."""
