"""Sans-IO core: bytes and stimuli in, events out. Nothing here imports asyncio, socket, os,
pty, time or threading (``tests/test_layering.py`` checks).

Must not: import anything of emulator/ above ``core/``, ``at/`` and ``errors``."""
