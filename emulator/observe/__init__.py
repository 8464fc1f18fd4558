"""Live events of a running emulator: one bus (``bus.py``), the AT line tap (``attap.py``),
registration changes (``registration.py``) and the one-line rendering ``modemu serve`` prints
(``render.py``). Must not: do I/O or import api/."""
