"""What a command handler may use: the modem's state, identity, clock, and ways to speak.

A :class:`Context` is handed to every handler and stimulus handler. It never does I/O: URCs
and effects are queued on the modem, timers go on the virtual clock.

Must not: import asyncio, socket, os, time or threading (sans-IO).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

from .clock import Timer
from .events import Effect

if TYPE_CHECKING:  # pragma: no cover
    from .feature import Reply
    from .modem import Modem


class Context:
    """What a handler may use: state, identity, clock, and ways to speak without I/O."""

    def __init__(self, modem: "Modem") -> None:
        self._modem = modem
        self.state = SimpleNamespace()
        self.nvm: dict[str, Any] = {}  # survives reboot and power-off (the module's NV memory)
        self.profile = modem.profile
        self.identity = modem.profile.identity
        self.defaults: dict[str, Any] = dict(modem.profile.defaults)
        self.clock = modem.clock
        self.name = modem.name

    @property
    def modem(self) -> "Modem":
        return self._modem

    def urc(self, text: str | bytes) -> None:
        """An unsolicited result; held while a command runs, then written framed."""
        self._modem._urc(text)

    def urc_lead(self, text: str | bytes) -> None:
        """Raised while a command runs: right after its final result, before ``Reply.after``."""
        self._modem._urc(text, where="lead")

    def urc_tail(self, text: str | bytes) -> None:
        """Raised while a command runs: after everything the command printed."""
        self._modem._urc(text, where="tail")

    def effect(self, effect: Effect) -> None:
        self._modem._out.append(effect)

    def later(self, delay: float, fn: Callable[["Context"], None], name: str = "") -> Timer:
        """Run ``fn(ctx)`` after ``delay`` virtual seconds (then pump pending input)."""
        timers = self._modem._timers

        def fire() -> None:
            timers.discard(timer)
            fn(self)
            self._modem._pump()
        timer = self.clock.call_later(delay, fire, name or getattr(fn, "__name__", ""))
        timers.add(timer)
        return timer

    def finish(self, key: str, reply: "Reply") -> bool:
        """Complete the running command that returned ``Pending(key)``; False if none."""
        return self._modem._finish_pending(key, reply)

    def is_pending(self, key: str) -> bool:
        return self._modem._pending_key == key

    def abort_data(self, reply: "Reply") -> bool:
        """End the open data phase from a timer (an upload whose bytes did not all come in
        time): the bytes so far are dropped and ``reply`` finishes the command. False when
        no data phase is open any more."""
        return self._modem._abort_prompt(reply)

    def result_after_data(self, text: str) -> None:
        """A result code written when the line leaves data mode on its own (``OK`` after
        ``+++``, ``NO CARRIER``), then the URCs held while it was in data mode."""
        self._modem._urc(text)
        self._modem._flush_held()

    def write_raw(self, data: bytes) -> None:
        """Bytes straight to the host (transparent mode); not held, not framed."""
        self._modem._emit(data)

    def fmt(self, name: str, value: str) -> str:
        """``+NAME: value`` in this module's dialect (``NAME:value`` for Woori-net vendor)."""
        return f"{name}{self.profile.quirks.vendor_colon}{value}"

    def line(self) -> str:
        return self._modem._current_line
