"""``python -m pyrsp``: the ``pyrsp`` command."""

from pyrsp.cli import main

if __name__ == "__main__":
    main()
