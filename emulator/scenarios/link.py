"""The host side of a scenario's modem link: bytes in, complete lines out, echoes of what was
sent skipped; plus the transcript entry and the step-failure type the bench raises.

The bytes travel over a :class:`~emulator.transport.hostlink.HostLink` (in-process, pty or TCP:
the same reader for every transport).
Must not: wait, touch the clock, know the YAML format (engine.py and loader.py do) or know
which transport carries the bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable

    from ..transport.hostlink import HostLink
    from .engine import Bench

_EOL = re.compile(rb"[\r\n]")
_CTRL = re.compile(r"[\x00-\x1f]")


class StepFailure(AssertionError):
    """A step did not get what it expected; carries both sides for the diff."""

    def __init__(self, message: str, expected: list[str] | None = None, actual: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected or []
        self.actual = actual or []


@dataclass
class Entry:
    """One transcript line: ``kind`` is tx, rx, echo, other, note."""

    t: float
    modem: str
    kind: str
    text: str


class Link:
    """The host side of one modem: bytes in, complete lines out."""

    def __init__(self, bench: "Bench", name: str) -> None:
        self.bench, self.name = bench, name
        self.rx = bytearray()
        self.echoes: list[str] = []
        self.host: "HostLink | None" = None
        self.sent = 0  # bytes written to the host link
        self._delivered: "Callable[[], int] | None" = None

    def attach(self, host: "HostLink", delivered: "Callable[[], int] | None" = None) -> None:
        """Read the modem through ``host`` (attached before its power-on output).
        ``delivered()`` counts the bytes the modem has taken in since (``ModemPort.rx_bytes``)."""
        self.host = host
        self._delivered = delivered
        host.on_output(self.on_bytes)

    def in_flight(self) -> bool:
        """Bytes written that the modem has not read yet (still in the pty or the socket)."""
        return self._delivered is not None and self._delivered() < self.sent

    def on_bytes(self, data: bytes) -> None:
        self.rx += data
        self.bench.activity.set()

    def write(self, data: bytes) -> None:
        if self.host is None:
            raise StepFailure(f"{self.name}: no host link (the bench is not started)")
        self.sent += len(data)
        self.host.write(data)

    def close(self) -> None:
        host, self.host = self.host, None
        if host is not None:
            host.close()

    def expect_echo(self, text: str) -> None:
        for part in re.split(r"[\r\n]+", _CTRL.sub(lambda m: m.group(0) if m.group(0) in "\r\n" else "", text)):
            if part:
                self.echoes.append(part)

    def _is_echo(self, line: str) -> bool:
        norm = _CTRL.sub("", line)
        for cand in (norm, norm[2:] if norm.startswith("> ") else None):
            if cand and cand in self.echoes:
                del self.echoes[: self.echoes.index(cand) + 1]
                return True
        return False

    def pop_line(self) -> str | None:
        """The next complete non-empty, non-echo line, or None."""
        while True:
            m = _EOL.search(self.rx)
            if m is None:
                return None
            raw = bytes(self.rx[: m.start()])
            del self.rx[: m.end()]
            if not raw:
                continue
            text = raw.decode("utf-8", "replace")
            if self._is_echo(text):
                self.bench.log(self.name, "echo", text)
                continue
            self.bench.log(self.name, "rx", text)
            return text

    def take_prefix(self, prefix: bytes) -> bool:
        if self.rx.startswith(prefix):
            del self.rx[: len(prefix)]
            return True
        return False
