"""``python -m kaptain.cli``: the ``kaptain`` command."""

from __future__ import annotations

import sys

from kaptain.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
