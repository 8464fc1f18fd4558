"""The in-process transport's :class:`~emulator.transport.hostlink.HostLink`: the host end of a
modem's line inside the emulator's own process (scenario bench, pytest harness, ``modemu://``).

Writes go straight to ``ModemPort.feed``; every chunk the modem writes reaches the listeners.
Create it from an ``Emulator.on_port`` listener to see the modem's power-on output.
Must not: do I/O or interpret bytes.
"""

from __future__ import annotations

from typing import Any

from .hostlink import Listener


class InProcessLink:
    def __init__(self, port: Any) -> None:
        self.port = port
        self._listeners: list[Listener] = []
        port.sinks.append(self._deliver)

    def _deliver(self, data: bytes) -> None:
        for listener in list(self._listeners):
            listener(data)

    def write(self, data: bytes) -> None:
        self.port.feed(data)

    def on_output(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def close(self) -> None:
        self._listeners.clear()
        if self._deliver in self.port.sinks:
            self.port.sinks.remove(self._deliver)
