"""Front door of the embedded amqtt brokers (CTWing MQTT, ThingPlug): the listening socket, the
CONNECT checks amqtt 0.12 lacks, the platform's CONNACK refusal codes and keepalive on the
virtual clock. amqtt then runs the session (its listener is ``type: external``).

What amqtt 0.12.1 does on its own and what this gate changes (issue 16 item 5, issue 15 item 5):

* A first packet other than CONNECT: amqtt logs and keeps the socket open. Here: closed at once
  (MQTT 3.1.1 §3.1 MQTT-3.1.0-1: the first packet from client to server MUST be CONNECT; §4.8
  MQTT-4.8.0-1: on a protocol violation the server closes the network connection).
* Password flag without user name flag: amqtt answers CONNACK 4. Here: closed without a CONNACK
  (MQTT-3.1.2-22 makes the packet malformed; MQTT-4.8.0-1).
* A protocol level other than 4 (MQTT 3.1.1): amqtt answers CONNACK 1, except for MQTT 3.1's
  protocol name "MQIsdp" (what a Quectel module set to ``AT+QMTCFG="version",<id>,3`` sends),
  which it drops without a CONNACK. Here: CONNACK 1 and close for every level but 4
  (MQTT-3.1.2-2), so the module prints ``+QMTCONN: <id>,0,1``.
* A client identifier that is not well-formed UTF-8: amqtt turns it into ``str(bytes)`` and
  goes on. Here: CONNACK 2 (identifier rejected, MQTT-3.1.3-9 / §3.2.2.3) and close.
* A refused login: amqtt has only CONNACK 5. Here the platform's ``authorize`` callback answers
  with the MQTT 3.1.1 return code (§3.2.2.3): 4 = bad user name or password, 5 = not
  authorized (an unknown client id), and the gate sends that CONNACK and closes (MQTT-3.2.2-5).
  A refused CONNECT never reaches amqtt, so it cannot disturb an open session of the same
  client id either (amqtt deletes a clean session's old state before authenticating).
* No CONNECT at all: amqtt waits forever. Here: closed after ``connect_timeout`` seconds of the
  VIRTUAL clock (MQTT 3.1.1 §3.1.4 leaves "a reasonable amount of time" to the server; 30 s is
  our choice).
* Keepalive: amqtt's broker never closes a silent client (its read timeout handler is a no-op).
  Here: a connection that sends nothing for 1.5 x its keepalive (MQTT-3.1.2-24) is closed, on the
  VIRTUAL clock (amqtt then publishes the will, as §3.1.2.5 wants).

Time: both timers are VirtualClock timers, re-checked against the last byte received; their
callbacks may run in whichever thread advances the clock, so closing is handed to the loop.

Must not: decide who may log in (the platform's ``authorize`` does), keep sessions (amqtt does),
read the wall clock, or bind anything but the address it is given (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Callable

from amqtt.adapters import BufferReader, ReaderAdapter, StreamWriterAdapter
from amqtt.mqtt.connack import ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import CONNECT, MQTTFixedHeader

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0  # virtual seconds from accept to CONNECT (our choice, see module doc)
KEEPALIVE_FACTOR = 1.5  # MQTT-3.1.2-24
MAX_CONNECT = 64 * 1024  # a CONNECT larger than this is refused (client id, credentials, will)
UNACCEPTABLE_VERSION = 1  # CONNACK return codes, MQTT 3.1.1 §3.2.2.3
IDENTIFIER_REJECTED = 2
BAD_CREDENTIALS = 4
NOT_AUTHORIZED = 5


@dataclass(frozen=True)
class ConnectInfo:
    """What the platform needs from a CONNECT to decide; ``password`` as amqtt decodes it."""

    client_id: str
    username: str | None
    password: str | None
    keep_alive: int


Authorize = Callable[[ConnectInfo], int]  # -> 0 accept, or a CONNACK refusal code (4, 5, ...)


class _RecordingReader(ReaderAdapter):
    """Reads the CONNECT off the socket with amqtt's decoders and keeps the bytes for replay."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.seen = bytearray()

    async def read(self, n: int = -1) -> bytes:
        data = await (self._reader.read(n) if n == -1 else self._reader.readexactly(n))
        self.seen += data
        return data

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class _ReplayReader(ReaderAdapter):
    """What amqtt reads: the CONNECT already read by the gate, then the socket; every byte that
    arrives counts as activity for the keepalive."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader, on_data: Callable[[], None]) -> None:
        self._buf = bytes(first)
        self._reader = reader
        self._on_data = on_data

    async def read(self, n: int = -1) -> bytes:
        head = b""
        if self._buf:
            if n != -1 and len(self._buf) >= n:
                head, self._buf = self._buf[:n], self._buf[n:]
                return head
            head, self._buf = self._buf, b""
            if n == -1:
                return head
            n -= len(head)
        data = await (self._reader.read(n) if n == -1 else self._reader.readexactly(n))
        if data:
            self._on_data()
        return head + data

    def feed_eof(self) -> None:
        self._reader.feed_eof()


def raw_client_id(body: bytes) -> bytes | None:
    """The client identifier's bytes in a CONNECT body (MQTT 3.1.1 §3.1.2-§3.1.3: protocol name
    as a length-prefixed string, level, flags, keepalive, then the client id as a length-prefixed
    string); None when the body is too short. Only the offsets are computed here; the packet
    itself is decoded by amqtt."""
    if len(body) < 2:
        return None
    start = 2 + int.from_bytes(body[0:2], "big") + 4
    if len(body) < start + 2:
        return None
    length = int.from_bytes(body[start:start + 2], "big")
    raw = body[start + 2:start + 2 + length]
    return raw if len(raw) == length else None


class _Connection:
    """One accepted socket: its connect/keepalive timer and the hand-over to amqtt."""

    def __init__(self, gate: "MqttGate", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.gate, self.reader, self.writer = gate, reader, writer
        self.peer = writer.get_extra_info("peername")
        self.last_seen = gate.clock.now()
        self.limit = gate.connect_timeout
        self.timer: Any = None
        self.closed = False
        self.connected = False  # the CONNECT passed the gate; the limit is now the keepalive

    def arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.limit and not self.closed:
            deadline = self.last_seen + self.limit
            clock = self.gate.clock  # the runner's NetClock: a re-check alone is no network activity
            call_at = getattr(clock, "quiet_call_at", clock.call_at)
            self.timer = call_at(deadline, self._check, f"{self.gate.label} idle")

    def activity(self) -> None:
        self.last_seen = self.gate.clock.now()  # the timer re-checks this; no re-arm per byte

    def _check(self) -> None:
        self.timer = None
        if self.closed:
            return
        if self.gate.clock.now() - self.last_seen < self.limit:
            self.arm()
            return
        getattr(self.gate.clock, "touched", lambda: None)()  # closing: a live advance lets it settle
        what = "silent past 1.5 x keepalive" if self.connected else "no CONNECT"
        log.info("%s: %s from %s for %ss (virtual): closing", self.gate.label, what, self.peer, self.limit)
        self.close_threadsafe()

    def close_threadsafe(self) -> None:
        loop = self.gate.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.close()
        else:
            loop.call_soon_threadsafe(self.close)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.writer.close()

    async def refuse(self, code: int, why: str) -> None:
        log.info("%s: CONNECT from %s refused with CONNACK %d: %s", self.gate.label, self.peer, code, why)
        try:
            self.writer.write(ConnackPacket.build(0, code).to_bytes())
            await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        self.close()

    def drop(self, why: str) -> None:
        log.info("%s: %s from %s: closing", self.gate.label, why, self.peer)
        self.close()

    async def run(self) -> None:
        self.arm()
        try:
            first = await self._read_connect()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            first = None  # the peer went away (or the connect timer closed it)
        if first is None or self.closed:
            self.close()
            return
        self.connected = True
        await self._hand_over(first)

    async def _read_connect(self) -> bytes | None:
        rec = _RecordingReader(self.reader)
        try:
            header = await MQTTFixedHeader.from_stream(rec)
        except Exception as exc:  # noqa: BLE001 - amqtt's decoder raises MQTTError on a bad length
            self.drop(f"undecodable first packet ({exc})")
            return None
        if header is None:
            return None
        if header.packet_type != CONNECT:
            self.drop(f"first packet is type {header.packet_type}, not CONNECT (MQTT-3.1.0-1)")
            return None
        if header.remaining_length > MAX_CONNECT:
            self.drop(f"CONNECT of {header.remaining_length} bytes")
            return None
        body = await rec.read(header.remaining_length) if header.remaining_length else b""
        self.activity()
        try:
            packet = await ConnectPacket.from_stream(BufferReader(bytes(rec.seen)))
        except Exception as exc:  # noqa: BLE001 - a malformed CONNECT: one line, no traceback
            self.drop(f"malformed CONNECT ({exc!r})")
            return None
        if packet.proto_level != 4:  # MQTT-3.1.2-2: CONNACK 1, then disconnect
            await self.refuse(UNACCEPTABLE_VERSION, f"protocol level {packet.proto_level} "
                              f"({packet.variable_header.proto_name!r}), only 4 (MQTT 3.1.1) is served")
            return None
        if packet.password_flag and not packet.username_flag:
            self.drop("CONNECT has a password but no user name (MQTT-3.1.2-22)")
            return None
        raw = raw_client_id(body)
        try:
            if raw is None or "\x00" in raw.decode("utf-8"):  # U+0000: MQTT-1.5.3-2
                raise UnicodeError("client identifier")
        except UnicodeError:
            await self.refuse(IDENTIFIER_REJECTED, "client identifier is not valid UTF-8")
            return None
        if self.gate.authorize is not None:
            info = ConnectInfo(packet.client_id or "", packet.username if packet.username_flag else None,
                               packet.password if packet.password_flag else None, int(packet.keep_alive or 0))
            try:
                code = int(self.gate.authorize(info))
            except Exception:  # noqa: BLE001 - a platform bug must not kill the listener
                log.exception("%s: authorize(%r) failed", self.gate.label, info.client_id)
                code = NOT_AUTHORIZED
            if code:
                await self.refuse(code, "refused by the platform")
                return None
        self.limit = KEEPALIVE_FACTOR * packet.keep_alive if packet.keep_alive else 0.0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.arm()  # keepalive 0: no timer (MQTT-3.1.2-24 applies only to a non-zero keepalive)
        return bytes(rec.seen)

    async def _hand_over(self, first: bytes) -> None:
        broker = self.gate.broker()
        if broker is None:
            self.close()
            return
        reader = _ReplayReader(first, self.reader, self.activity)
        try:
            await broker.external_connected(reader, StreamWriterAdapter(self.writer), self.gate.listener)
        except Exception as exc:  # noqa: BLE001 - amqtt raised out of a session: one line
            log.info("%s: session from %s ended: %r", self.gate.label, self.peer, exc)
        finally:
            self.close()


class MqttGate:
    """A listener that checks each connection (module doc) and hands it to ``broker()``'s
    external listener ``listener``."""

    def __init__(self, broker: Callable[[], Any], listener: str, clock: Any, label: str, *,
                 authorize: Authorize | None = None, ssl_context: ssl.SSLContext | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.broker = broker
        self.listener = listener
        self.clock = clock
        self.label = label
        self.authorize = authorize
        self.ssl_context = ssl_context
        self.connect_timeout = float(connect_timeout)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self, host: str, port: int, sock: socket.socket | None = None) -> tuple[str, int]:
        """Listen on ``host:port``, or serve the listening ``sock`` bound before (``prebind.py``)."""
        self.loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await asyncio.start_server(self._accept, sock=sock, ssl=self.ssl_context)
        else:
            self._server = await asyncio.start_server(self._accept, host, port, ssl=self.ssl_context)
        return host, self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        self._connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)

    async def stop(self) -> None:
        """Stop listening and close every connection (amqtt's sessions end with them)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)  # loopback I/O settling, not a protocol timer
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


def server_ssl_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """The TLS context amqtt would build for a listener (``Broker._create_ssl_context``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
