"""Attach in-process listeners to an Emulator's ports before they emit their boot URCs.

``Emulator.start()`` creates each :class:`ModemPort`, stores it in ``emulator.ports`` and drains
the power-on output right away; :func:`hook_ports` swaps ``emulator.ports`` for a dict that
calls ``on_port(name, port)`` on insertion, i.e. before that first drain.
Must not: do I/O.
"""

from __future__ import annotations

from typing import Any, Callable


class _HookedPorts(dict):
    def __init__(self, on_port: Callable[[str, Any], None]) -> None:
        super().__init__()
        self._on_port = on_port

    def __setitem__(self, key: str, port: Any) -> None:
        self._on_port(key, port)
        super().__setitem__(key, port)


def hook_ports(emulator: Any, on_port: Callable[[str, Any], None]) -> None:
    """Call before ``await emulator.start()``."""
    emulator.ports = _HookedPorts(on_port)
