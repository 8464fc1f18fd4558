"""``python -m emulator`` == ``modemu``.

Must not: do anything but call ``emulator.cli.main``."""
import sys

from .cli import main

sys.exit(main())
