"""``python -m kaptain.worker``."""

from kaptain.worker.main import main

if __name__ == "__main__":
    main()
