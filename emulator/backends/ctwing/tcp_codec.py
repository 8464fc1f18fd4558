"""Sans-IO codec for the CTWing TCP access protocol (guide 001 §4.3.3 table, docs/guides.md).

Frames (big-endian lengths, type byte first):

======  ==================  =============================================================
0x01    login request       ``01 | u16 len | deviceId | u16 len | password | u16 len | version``
0x02    uplink data         ``02 | u16 len | data``
0x03    downlink data       ``03 | u16 len | data``
0x04    heartbeat           ``04``  (device must send one within 5 minutes)
0x05    login response      ``05 | u16 result`` (0 ok, 1 unknown error, 2 not registered,
                            3 auth failed, 4 already logged in)
0x06    heartbeat response  ``06``
======  ==================  =============================================================

The login layout is confirmed by TiJOS AEPTcpTest.java; 0x02-0x06 are known only from the guide
(guide 001 §4.3, docs/guides.md [seed]). :class:`Decoder` is incremental: ``feed()`` returns every complete
frame and keeps the rest, so any split of the byte stream decodes the same. An unknown type
byte yields one :class:`ProtocolError` and the decoder stops (the connection must be closed).

Must not: import asyncio/socket/time or keep any per-connection policy (login state, timers).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

LOGIN, UPLINK, DOWNLINK, HEARTBEAT, LOGIN_RESPONSE, HEARTBEAT_RESPONSE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06

RESULT_OK = 0
RESULT_UNKNOWN_ERROR = 1
RESULT_NOT_REGISTERED = 2
RESULT_AUTH_FAILED = 3
RESULT_ALREADY_LOGGED_IN = 4

VERSION = "1.0"  # "version 固定 1.0 (0x312e30)"
MAX_FIELD = 0xFFFF


@dataclass(frozen=True)
class Login:
    device_id: str
    password: str
    version: str = VERSION


@dataclass(frozen=True)
class Uplink:
    data: bytes


@dataclass(frozen=True)
class Downlink:
    data: bytes


@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class LoginResponse:
    result: int


@dataclass(frozen=True)
class HeartbeatResponse:
    pass


@dataclass(frozen=True)
class ProtocolError:
    """Not a frame: the stream is broken at this point; close the connection."""

    reason: str


Frame = Union[Login, Uplink, Downlink, Heartbeat, LoginResponse, HeartbeatResponse]
Event = Union[Frame, ProtocolError]


def _field(value: bytes, what: str) -> bytes:
    if len(value) > MAX_FIELD:
        raise ValueError(f"{what} is {len(value)} bytes; the u16 length allows at most {MAX_FIELD}")
    return struct.pack(">H", len(value)) + value


def encode(frame: Frame) -> bytes:
    """Bytes on the wire for one frame."""
    if isinstance(frame, Login):
        return (bytes([LOGIN]) + _field(frame.device_id.encode("utf-8"), "deviceId")
                + _field(frame.password.encode("utf-8"), "password")
                + _field(frame.version.encode("utf-8"), "version"))
    if isinstance(frame, Uplink):
        return bytes([UPLINK]) + _field(bytes(frame.data), "data")
    if isinstance(frame, Downlink):
        return bytes([DOWNLINK]) + _field(bytes(frame.data), "data")
    if isinstance(frame, Heartbeat):
        return bytes([HEARTBEAT])
    if isinstance(frame, LoginResponse):
        if not 0 <= frame.result <= 0xFFFF:
            raise ValueError(f"login result {frame.result} does not fit in u16")
        return bytes([LOGIN_RESPONSE]) + struct.pack(">H", frame.result)
    if isinstance(frame, HeartbeatResponse):
        return bytes([HEARTBEAT_RESPONSE])
    raise TypeError(f"not a CTWing TCP frame: {frame!r}")


class Decoder:
    """Incremental decoder for both directions (a server sees 01/02/04, a device 03/05/06)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.failed = False

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame waiting for more input."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Event]:
        if self.failed:
            return []
        self._buf += data
        out: list[Event] = []
        while self._buf:
            result = self._one()
            if result is None:
                break
            event, used = result
            del self._buf[:used]
            out.append(event)
            if isinstance(event, ProtocolError):
                self.failed = True
                self._buf.clear()
                break
        return out

    def _one(self) -> tuple[Event, int] | None:
        buf = self._buf
        kind = buf[0]
        if kind == HEARTBEAT:
            return Heartbeat(), 1
        if kind == HEARTBEAT_RESPONSE:
            return HeartbeatResponse(), 1
        if kind == LOGIN_RESPONSE:
            if len(buf) < 3:
                return None
            return LoginResponse(struct.unpack_from(">H", buf, 1)[0]), 3
        if kind in (UPLINK, DOWNLINK):
            if len(buf) < 3:
                return None
            size = struct.unpack_from(">H", buf, 1)[0]
            if len(buf) < 3 + size:
                return None
            data = bytes(buf[3:3 + size])
            return (Uplink(data) if kind == UPLINK else Downlink(data)), 3 + size
        if kind == LOGIN:
            fields: list[bytes] = []
            pos = 1
            for _ in range(3):
                if len(buf) < pos + 2:
                    return None
                size = struct.unpack_from(">H", buf, pos)[0]
                if len(buf) < pos + 2 + size:
                    return None
                fields.append(bytes(buf[pos + 2:pos + 2 + size]))
                pos += 2 + size
            try:
                device_id, password, version = (f.decode("utf-8") for f in fields)
            except UnicodeDecodeError:
                return ProtocolError("login frame fields are not UTF-8 text"), pos
            return Login(device_id, password, version), pos
        return ProtocolError(f"unknown CTWing TCP frame type 0x{kind:02x}"), 1
