"""Line discipline of the DCE: the host's byte stream -> command lines and prompt data.

Command mode (V.250 §5.2): characters are echoed as they arrive when echo is on; S3 (CR)
ends a line, S5 (backspace) deletes the previous character, S4 (LF) and control characters
before ``AT`` are ignored; ``A/`` at the start of a line repeats the previous command line at
once (no CR). A line longer than ``MAX_LINE`` bytes is discarded and reported as
:class:`Overflow` when its CR arrives; a non-empty line that does not start with ``AT`` is
reported as :class:`Garbage`. Either way the port keeps working.

Data mode (after a ``> `` prompt): bytes are collected until Ctrl+Z (0x1A) or, for a fixed
length, until exactly that many bytes arrived (binary-safe: 0x1A/0x1B are data then). In
Ctrl+Z mode ESC (0x1B) cancels, and more than ``limit`` bytes is :class:`DataTooLong`.

Must not: parse commands, know about results, or care how the input was chunked: feeding
the same bytes split at any offset yields the same events (tests check every split point).
"""

from __future__ import annotations

from dataclasses import dataclass

CTRL_Z = 0x1A
ESC = 0x1B
MAX_LINE = 1024
_LEADING_NOISE = bytes(range(0x21)) + b"\x7f"  # control characters and blanks before "AT"
_SLASH = ord("/")


@dataclass(frozen=True, slots=True)
class CommandLine:
    text: str


@dataclass(frozen=True, slots=True)
class RepeatLast:
    pass


@dataclass(frozen=True, slots=True)
class Garbage:
    data: bytes


@dataclass(frozen=True, slots=True)
class Overflow:
    length: int


@dataclass(frozen=True, slots=True)
class DataComplete:
    data: bytes


@dataclass(frozen=True, slots=True)
class DataCancelled:
    pass


@dataclass(frozen=True, slots=True)
class DataTooLong:
    length: int


LineEvent = CommandLine | RepeatLast | Garbage | Overflow | DataComplete | DataCancelled | DataTooLong


class LineDiscipline:
    def __init__(self) -> None:
        self.echo = True
        self.s3 = 13
        self.s4 = 10
        self.s5 = 8
        self._buf = bytearray()
        self._overflow = 0
        self._data_mode: str | None = None  # None | "ctrlz" | "fixed"
        self._data_len = 0
        self._data_limit = 0
        self._data_echo = True
        self._data = bytearray()
        self._data_overrun = 0
        self._cr_echo = b""

    # --- mode switches (called by the modem) ---------------------------------------------
    def start_data(self, length: int | None, limit: int = 4096, echo: bool = True,
                   cr_echo: bytes = b"") -> None:
        """Enter data mode: ``length`` bytes exactly, or up to Ctrl+Z when ``length`` is None
        (then each CR in the data is answered with ``cr_echo`` when given)."""
        self._cr_echo = cr_echo
        self._data_mode = "ctrlz" if length is None else "fixed"
        self._data_len = int(length or 0)
        self._data_limit = limit
        self._data_echo = echo
        self._data = bytearray()
        self._data_overrun = 0

    @property
    def in_data_mode(self) -> bool:
        return self._data_mode is not None

    def pending_bytes(self) -> int:
        return len(self._buf)

    # --- input ---------------------------------------------------------------------------
    def step(self, data: bytes) -> tuple[bytes, LineEvent | None, int]:
        """Consume bytes of ``data`` up to and including the first one that completes an
        event; return (echo bytes, the event or None, bytes consumed). The caller feeds the
        rest once it has acted on the event (a completed line may open a data prompt)."""
        echo = bytearray()
        for i, byte in enumerate(data):
            if self._data_mode is not None:
                event = self._feed_data(byte, echo)
            else:
                event = self._feed_command(byte, echo)
            if event is not None:
                return bytes(echo), event, i + 1
        return bytes(echo), None, len(data)

    def feed(self, data: bytes) -> tuple[bytes, list[LineEvent]]:
        """Consume all of ``data`` without mode changes between events (tests, tools)."""
        echo, events = bytearray(), []
        while data:
            out, event, used = self.step(data)
            echo += out
            data = data[used:]
            if event is not None:
                events.append(event)
        return bytes(echo), events

    def _feed_command(self, byte: int, echo: bytearray) -> LineEvent | None:
        if self.echo:
            echo.append(byte)
        if byte == self.s3:
            line, overflow = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = 0
            if overflow:
                return Overflow(overflow)
            return self._classify(line)
        if byte == self.s5 or byte == 0x7F:
            if self._buf:
                self._buf.pop()
            return None
        if self._overflow:
            self._overflow += 1
            return None
        if byte == self.s4 and not self._buf:
            return None
        self._buf.append(byte)
        if len(self._buf) > MAX_LINE:
            self._overflow = len(self._buf)
            self._buf.clear()
            return None
        if byte == _SLASH and self._buf.lstrip(_LEADING_NOISE) in (b"A/", b"a/"):
            self._buf.clear()
            return RepeatLast()
        return None

    def _classify(self, line: bytes) -> LineEvent | None:
        stripped = line.lstrip(_LEADING_NOISE).rstrip(b" \t\n\x00")
        if not stripped:
            return None
        if stripped[:2].upper() == b"AT":
            try:
                return CommandLine(stripped.decode("ascii"))
            except UnicodeDecodeError:
                # UTF-8 payloads inside quotes (ThingPlug JSON) are allowed; anything else is garbage
                try:
                    return CommandLine(stripped.decode("utf-8"))
                except UnicodeDecodeError:
                    return Garbage(stripped)
        return Garbage(stripped)

    def _feed_data(self, byte: int, echo: bytearray) -> LineEvent | None:
        if self._data_mode == "fixed":
            self._data.append(byte)
            if self._data_echo and self.echo:
                echo.append(byte)
            if len(self._data) >= self._data_len:
                return self._finish(DataComplete(bytes(self._data)))
            return None
        if byte == CTRL_Z:
            if len(self._data) > self._data_limit:
                return self._finish(DataTooLong(len(self._data) + self._data_overrun))
            return self._finish(DataComplete(bytes(self._data)))
        if byte == ESC:
            return self._finish(DataCancelled())
        if byte == 13 and self._cr_echo:
            echo += self._cr_echo  # a new prompt line, with or without ATE
        elif self._data_echo and self.echo:
            echo.append(byte)
        if len(self._data) <= self._data_limit:  # keep memory bounded; length is reported
            self._data.append(byte)
        else:
            self._data_overrun += 1
        return None

    def cancel_data(self) -> None:
        """Leave data mode without an event (the command was aborted from elsewhere)."""
        self._finish(DataCancelled())

    def _finish(self, event: LineEvent) -> LineEvent:
        self._data_mode = None
        self._data = bytearray()
        self._data_overrun = 0
        return event
