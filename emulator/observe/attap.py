"""The AT line tap: a modem's raw serial bytes, both directions, as readable lines for the bus.

Sans-IO: ``host(data)`` gets what the host wrote, ``module(data)`` what the module wrote; each
returns the lines to publish as ``(dir, line, extra)`` with ``dir`` ``"in"`` or ``"out"``.
Command lines end at CR (an LF after it is dropped); the module's lines are split on CR/LF, the
echo of the host's line is left out (a chunk of more than ``2 * BURST`` lines, a flood, shows
its first ``BURST`` lines, ``<N more lines>`` and its last line), and an output line is marked
``urc`` when no command is open (none sent since the last final result). A ``> `` prompt opens a data phase: what the host
sends then is shown as ``<payload N bytes>`` followed by ``^Z`` or ``ESC`` (or ends when the
module answers, for a fixed-length payload; its echo is skipped); after ``CONNECT`` the host's
and the module's bytes are ``<data N bytes>`` until ``NO CARRIER`` / ``OK``, which answer the
command that said ``CONNECT`` (no URC).

Must not: change or delay the bytes (it only watches), or decide anything about the modem.
"""

from __future__ import annotations

import re

FINAL = re.compile(r"^(OK|ERROR|NO CARRIER|NO ANSWER|BUSY|NO DIALTONE|SEND OK|SEND FAIL|"
                   r"CONNECT( .*)?|\+CM[ES] ERROR:.*)$")
MAX_LINE = 1024  # a longer line is shown cut (the module answers ERROR to it anyway)
BURST = 64  # lines one chunk shows; past that a flood's middle is one "<N more lines>" entry
_HOST_CONTROL = re.compile(rb"[\x08\x1a\x1b]")  # bytes that change the tap's state mid-chunk
_EOL = re.compile(rb"[\r\n]")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f]")  # what printable() shows as \xNN (not TAB)


def _nth(data: bytes, sep: bytes, n: int) -> int:
    """Index of the ``n``-th ``sep`` in ``data`` (there are at least ``n``)."""
    at = -1
    for _ in range(n):
        at = data.find(sep, at + 1)
    return at

Line = tuple[str, str, dict]


def printable(raw: bytes) -> str:
    """Text for a line: UTF-8 where it decodes, control bytes as ``\\xNN``."""
    text = raw.decode("utf-8", "backslashreplace")
    if not _CONTROL.search(raw):  # the usual line: nothing to escape (UTF-8 never decodes to < 0x20)
        return text
    return "".join(c if c >= " " or c == "\t" else f"\\x{ord(c):02x}" for c in text)


class AtTap:
    """One modem's tap (a new one at each power-on): both directions' partial lines and phase."""

    def __init__(self) -> None:
        self._in = bytearray()
        self._out = bytearray()
        self._last_shown = ""      # the last command line as printable() shows it (its echo is skipped)
        self.command_open = False  # a command line sent and no final result yet
        self.payload: bytearray | None = None  # data phase after a "> " prompt
        self._echo = bytearray()   # payload bytes whose echo is still to come
        self.transparent = False   # after CONNECT

    # --- host -> module --------------------------------------------------------------------
    def host(self, data: bytes) -> list[Line]:
        if self.transparent:
            return [("in", f"<data {len(data)} bytes>", {"data": True})] if data else []
        if self.payload is None and data.count(b"\r") > 2 * BURST and not _HOST_CONTROL.search(data):
            return self._flood(data, b"\r", "in", self.host)
        if self.payload is None and b"\x08" not in data:
            return self._host_lines(data)
        return self._host_bytes(data)

    def _host_bytes(self, data: bytes) -> list[Line]:
        """Byte by byte: a payload phase, backspaces."""
        out: list[Line] = []
        i = 0
        while i < len(data):
            if self.payload is not None:
                j = i
                while j < len(data) and data[j] not in (0x1A, 0x1B):
                    j += 1
                self.payload += data[i:j]
                self._echo += data[i:j]
                if j < len(data):
                    out += self._end_payload("^Z" if data[j] == 0x1A else "ESC")
                    j += 1
                i = j
                continue
            b = data[i]
            i += 1
            if b == 0x0D:
                line = self._in.decode("utf-8", "backslashreplace")
                self._in.clear()
                if line.strip():
                    self._opened(line)
                    out.append(("in", self._last_shown, {}))
            elif b == 0x0A and not self._in:
                continue
            elif b == 0x08:
                del self._in[-1:]
            elif len(self._in) < MAX_LINE:
                self._in.append(b)
        return out

    def _host_lines(self, data: bytes) -> list[Line]:
        """Command mode without a backspace: what the byte loop of :meth:`host` does, with slices
        (LFs before a line's first byte are dropped, a line keeps at most ``MAX_LINE`` bytes)."""
        out: list[Line] = []
        *lines, rest = data.split(b"\r")
        buf = self._in
        for seg in lines:
            raw = bytes(buf) + (seg if buf else seg.lstrip(b"\n"))
            buf.clear()
            raw = raw[:MAX_LINE]
            if raw.decode("utf-8", "backslashreplace").strip():
                self._last_shown, self.command_open = printable(raw), True
                out.append(("in", self._last_shown, {}))
        if not buf:
            rest = rest.lstrip(b"\n")
        buf += rest[:MAX_LINE - len(buf)]
        return out

    def _opened(self, line: str) -> None:
        """A command line was sent: remember it (its echo is skipped) and open the command."""
        self._last_shown = printable(line.encode())
        self.command_open = True

    def _flood(self, data: bytes, eol: bytes, direction: str, parse) -> list[Line]:
        """A chunk of many lines (a host flooding ``AT``, the module's answers to it): the first
        ``BURST`` lines and the last one are parsed as usual, the middle is counted with C-level
        ``bytes.count`` and shown as one entry. Per-line parsing and one bus event per line made
        a 2 MB flood drain ~5x slower, for lines no console can show (its queue keeps 2000)."""
        cut = _nth(data, eol, BURST) + 1
        prev = data.rfind(eol, 0, data.rfind(eol))  # the last line starts after it
        skipped = data.count(eol, cut, prev + 1)
        middle: Line = (direction, f"<{skipped} more lines>", {"skipped": skipped})
        return parse(data[:cut]) + [middle] + parse(data[prev + 1:])

    def _end_payload(self, how: str | None) -> list[Line]:
        assert self.payload is not None
        out: list[Line] = []
        if self.payload or how is None:
            out.append(("in", f"<payload {len(self.payload)} bytes>", {"payload": len(self.payload)}))
        if how:
            out.append(("in", how, {"control": how}))
        self.payload = None
        self.command_open = True
        return out

    # --- module -> host --------------------------------------------------------------------
    def module(self, data: bytes) -> list[Line]:
        out: list[Line] = []
        if not self._echo and self.payload is None and not self.transparent \
                and data.count(b"\n") > 2 * BURST and b"CONNECT" not in data and b"> " not in data:
            return self._flood(data, b"\n", "out", self.module)
        if self._echo:  # the echo of the payload (it may follow the ^Z that ended it)
            k = 0
            while k < len(data) and k < len(self._echo) and data[k] == self._echo[k]:
                k += 1
            del self._echo[:k]
            data = data[k:]
            if data:
                self._echo.clear()
        if self.payload is not None:
            if data.replace(b"\r\n> ", b"").strip(b"\r\n") == b"":
                return out  # nothing yet, or the prompt a CR in +CMGS text re-opens
            out += self._end_payload(None)  # a fixed-length payload: the module answers
        if self.transparent:
            if b"NO CARRIER" in data or b"\r\nOK\r\n" in data:
                self.transparent = False
            else:
                return [("out", f"<data {len(data)} bytes>", {"data": True})]
        self._out += data
        end = max(self._out.rfind(b"\r"), self._out.rfind(b"\n"))
        if end >= 0:  # complete lines: each CR or LF ends one, empty ones are no lines
            done = bytes(self._out[:end])
            del self._out[:end + 1]
            for raw in _EOL.split(done):
                if raw:
                    out += self._out_line(raw)
        if self._out.endswith(b"> ") and self._out.strip() == b">":  # the data prompt
            self._out.clear()
            out.append(("out", "> ", {"prompt": True}))
            self.payload = bytearray()
        elif len(self._out) > MAX_LINE:
            out += self._out_line(bytes(self._out[:MAX_LINE]))
            self._out.clear()
        return out

    def _out_line(self, raw: bytes) -> list[Line]:
        line = printable(raw)
        if self.command_open and line == self._last_shown:
            return []  # the echo of the command line
        extra: dict = {} if self.command_open else {"urc": True}
        if self.command_open and FINAL.match(line):
            if line.startswith("CONNECT"):  # a data phase of the same command: what ends it
                self.transparent = True     # (OK, +QFUPL: ... OK, NO CARRIER) answers it
            else:
                self.command_open = False
        return [("out", line, extra)]
