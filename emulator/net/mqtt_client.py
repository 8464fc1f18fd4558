"""A reusable MQTT 3.1.1 (and 3.1) client session over a connection the FakeInternet allows.

:class:`MqttSession`: ``open`` (TCP/TLS only, like ``AT+QMTOPEN``), ``connect`` (CONNECT /
CONNACK, like ``AT+QMTCONN``), ``subscribe``, ``unsubscribe``, ``publish`` (QoS 0/1/2),
``disconnect``, ``close``; callbacks for incoming messages, retransmissions and connection
loss. ``AT+QMT*`` (``mqtt_exec.py``) and ThingPlug ``AT+SKTP*`` both run on it. The packets
that await an answer (SUBSCRIBE, UNSUBSCRIBE, PUBLISH QoS 1/2, with their retransmissions) and
the answers to the broker's QoS 1/2 PUBLISH are the ``MqttFlows`` mixin (``mqtt_flows.py``).

Why amqtt's packet classes (``amqtt.mqtt.*Packet``: ``build``/``to_bytes``/``from_stream``)
and not a whole client library: a module opens the network (QMTOPEN) and sends CONNECT
(QMTCONN) as two steps with two results, and its packet timeout, retransmissions and
keepalive must run on the emulator's :class:`VirtualClock`. amqtt's ``MQTTClient`` merges
open and CONNECT behind a URI; paho's loop times keepalive and retries on ``time.monotonic``.
The packet classes give a maintained codec while this module owns the connection and every
timer. (A broker still applies its own wall-clock 1.5 x keepalive cut-off: if virtual time
runs slower than wall time, a real broker may drop a client whose PINGREQ is not yet due.)

Timers (all virtual): the open (TCP and TLS handshake) within its ``timeout``; ``pkt_timeout`` per packet awaiting an ACK, resent up to
``retry_times`` with DUP set (``AT+QMTCFG="timeout"``), then failed; PINGREQ after
``keepalive`` s without sending, loss if no PINGRESP within ``pkt_timeout``; CONNACK wait.
A standing ``drop``/``delay`` fault on the route holds packets both ways while the connection
is open (``faultgate.StreamLane``: TCP would retransmit), so a black-holed broker ends in the
ping timeout and what was held is discarded with the connection.

Must not: dial anything but what ``FakeInternet.connect_target`` returns; read the wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Callable

from amqtt.adapters import StreamReaderAdapter
from amqtt.mqtt import (ConnackPacket, ConnectPacket, DisconnectPacket, PingReqPacket, PingRespPacket, PubackPacket,
                        PubcompPacket, PublishPacket, PubrecPacket, PubrelPacket, SubackPacket, UnsubackPacket,
                        packet_class)
from amqtt.mqtt.connect import ConnectPayload, ConnectVariableHeader
from amqtt.mqtt.packet import MQTTFixedHeader

from ..core.clock import Timer, VirtualClock
from .faultgate import RouteGate, StreamLane
from .internet import FakeInternet
from .dial import dial
from .mqtt_flows import AckResult, MqttFlows, _Inflight

log = logging.getLogger("modemu.mqtt")

# Why a connection ended, passed to ``on_lost``.
LOST_PEER = "peer"          # the broker closed or reset the connection
LOST_PING = "ping"          # no PINGRESP in time
LOST_CONNACK = "connack"    # no CONNACK in time, or CONNACK refused and the broker hung up
LOST_SEND = "send"          # a packet could not be written


@dataclass
class ConnectResult:
    outcome: str  # "accepted" | "refused" | "timeout" | "lost"
    code: int | None = None  # CONNACK return code
    session_present: bool = False


class MqttSession(MqttFlows):
    """One MQTT client connection. Callbacks are plain functions called on the event loop:
    ``on_message(topic, payload, packet_id, qos, retain)``, ``on_lost(reason)``,
    ``on_retry(kind, packet_id, retries)`` (kind = "publish" | "subscribe" | "unsubscribe").
    ``sync_clock()``, when given, brings the VirtualClock up to date before a timer is armed
    from outside a clock callback (in ``serve`` the runner only moves it between its ticks)."""

    def __init__(self, clock: VirtualClock, internet: FakeInternet, *,
                 on_message: Callable[[str, bytes, int, int, bool], None] | None = None,
                 on_lost: Callable[[str], None] | None = None,
                 on_retry: Callable[[str, int, int], None] | None = None, name: str = "mqtt",
                 sync_clock: Callable[[], None] | None = None) -> None:
        self.clock, self.internet, self.name = clock, internet, name
        self._sync = sync_clock or (lambda: None)
        self.on_message, self.on_lost, self.on_retry = on_message, on_lost, on_retry
        self.on_ping: Callable[[], None] | None = None  # the keepalive sent a PINGREQ
        self.state = "closed"  # closed | opening | open | connecting | connected
        self.pkt_timeout, self.retry_times, self.keepalive = 5.0, 3, 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task | None = None
        self._inflight: dict[tuple[str, int], _Inflight] = {}
        self._inbound_qos2: set[int] = set()
        self._connack: asyncio.Future | None = None
        self._refused = False
        self._closing = False
        self._last_send = 0.0
        self._ping_timer: Timer | None = None
        self._pingresp_timer: Timer | None = None
        self._next_id = 0
        self.sent_packets = 0
        self._out: StreamLane | None = None  # bytes to the broker, through the route's faults
        self._in: StreamLane | None = None   # packets (None = EOF) from it
        self._unwatch_cut: Callable[[], None] | None = None  # the console's cut resets us

    # --- connection ----------------------------------------------------------------------
    async def open(self, host: str, port: int, *, tls: bool = False, ca_file: str | None = None,
                   timeout: float = 75.0, ssl_context: ssl.SSLContext | None = None,
                   server_hostname: str | None = None) -> str:
        """TCP (or TLS) connect within ``timeout`` virtual seconds (``dial.py``); returns
        "ok" | "dns" | "refused" | "timeout" | "error"."""
        self._sync()
        if self.state != "closed":
            return "busy"
        self.state = "opening"
        dialled = await dial(self.clock, self.internet, host, port, tls=tls, ca_file=ca_file,
                             timeout=timeout, name=self.name, ssl_context=ssl_context,
                             server_hostname=server_hostname)
        if dialled.outcome != "ok":
            if self.state == "opening":
                self.state = "closed"
            return dialled.outcome
        assert dialled.writer is not None
        if self.state != "opening":  # closed while the connection was being made
            dialled.writer.close()
            return "error"
        self._reader, self._writer = dialled.reader, dialled.writer
        self.state, self._closing, self._refused = "open", False, False
        gate = RouteGate(self.internet, self.internet.route_for(host, port), self.clock, self._sync)
        self._out, self._in = StreamLane(gate, self._write_now), StreamLane(gate, self._receive)
        loop = asyncio.get_running_loop()
        self._unwatch_cut = self.internet.watch_cut(
            gate.route, host, port, lambda: loop.call_soon_threadsafe(self._abort))
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop())
        if dialled.cut:  # the route resets the connection at once
            asyncio.get_running_loop().call_soon(self._abort)
        return "ok"

    async def connect(self, client_id: str, *, username: str | None = None, password: str | None = None,
                      keepalive: int = 120, clean_session: bool = True, version: int = 4,
                      will: tuple[str, bytes, int, bool] | None = None, pkt_timeout: float = 5.0,
                      retry_times: int = 3) -> ConnectResult:
        if self.state != "open":
            return ConnectResult("lost")
        self._sync()
        self.pkt_timeout, self.retry_times, self.keepalive = pkt_timeout, retry_times, keepalive
        vh = ConnectVariableHeader(0, keepalive, "MQTT" if version == 4 else "MQIsdp", version)
        payload = ConnectPayload(client_id, username=username, password=password)
        vh.clean_session_flag = clean_session
        if will is not None:
            vh.will_flag, vh.will_qos, vh.will_retain_flag = True, will[2], will[3]
            payload.will_topic, payload.will_message = will[0], will[1]
        vh.username_flag, vh.password_flag = username is not None, password is not None
        self.state = "connecting"
        self._connack = asyncio.get_running_loop().create_future()
        timer = self.clock.call_later(pkt_timeout, self._connack_timeout, "mqtt-connack")
        self._send(ConnectPacket(variable_header=vh, payload=payload))
        try:
            result: ConnectResult = await self._connack
        finally:
            timer.cancel()
        if result.outcome == "accepted":
            self.state = "connected"
            self._arm_keepalive()
        elif result.outcome == "refused":
            self.state, self._refused = "open", True  # the broker must now close (MQTT-3.2.2-5)
        return result

    def _connack_timeout(self) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(ConnectResult("timeout"))
            self._lost(LOST_CONNACK)

    async def disconnect(self) -> None:
        """DISCONNECT, then close the connection (the broker then drops the will)."""
        if self.state == "connected":
            self._send(DisconnectPacket())
        await self.close()

    async def close(self) -> None:
        """Close the network connection without DISCONNECT."""
        self._closing = True
        self._stop_timers()
        self._fail_inflight()
        writer, self._writer = self._writer, None
        self.state = "closed"
        if writer is not None:
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                pass
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            self._read_task.cancel()

    # --- I/O -----------------------------------------------------------------------------
    def _send(self, packet: Any) -> bool:
        if self._writer is None or self._writer.is_closing() or self._out is None:
            return False
        self._out.put(packet.to_bytes())
        if self._writer is None:  # the write failed at once
            return False
        self._last_send = self.clock.now()
        self.sent_packets += 1
        return True

    def _write_now(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        try:
            self._writer.write(data)
        except (OSError, RuntimeError):
            self._lost(LOST_SEND)

    async def _read_loop(self) -> None:
        assert self._reader is not None
        adapter = StreamReaderAdapter(self._reader)
        try:
            while True:
                fixed = await MQTTFixedHeader.from_stream(adapter)
                if fixed is None:
                    break
                packet = await packet_class(fixed).from_stream(adapter, fixed_header=fixed)
                if self._in is not None:
                    self._in.put(packet)
        except asyncio.CancelledError:
            return
        except Exception as exc:  # noqa: BLE001 - EOF, reset, or a packet we cannot decode
            log.debug("%s: read loop ended: %r", self.name, exc)
        if self._in is not None:
            self._in.put(None)  # the close, too, reaches us only through the route

    def _receive(self, packet: Any) -> None:
        if packet is not None:
            self._dispatch(packet)
        elif not self._closing:
            self._lost(LOST_CONNACK if self._refused else LOST_PEER)

    def _dispatch(self, packet: Any) -> None:
        self._sync()
        if isinstance(packet, ConnackPacket):
            if self._connack is not None and not self._connack.done():
                vh = packet.variable_header
                outcome = "accepted" if vh.return_code == 0 else "refused"
                self._connack.set_result(ConnectResult(outcome, vh.return_code, bool(vh.session_parent)))
        elif isinstance(packet, PingRespPacket):
            if self._pingresp_timer:
                self._pingresp_timer.cancel()
                self._pingresp_timer = None
        elif isinstance(packet, PublishPacket):
            self._incoming_publish(packet)
        elif isinstance(packet, PubrelPacket):
            self._inbound_qos2.discard(packet.packet_id)
            self._send(PubcompPacket.build(packet.packet_id))
        elif isinstance(packet, (PubackPacket, PubrecPacket, PubcompPacket)):
            self._publish_ack(packet)
        elif isinstance(packet, SubackPacket):
            self._resolve("subscribe", packet.variable_header.packet_id, SubackPacket,
                          tuple(packet.payload.return_codes))
        elif isinstance(packet, UnsubackPacket):
            self._resolve("unsubscribe", packet.variable_header.packet_id, UnsubackPacket, ())

    # --- keepalive and loss ----------------------------------------------------------------
    def _arm_keepalive(self) -> None:
        if self.keepalive <= 0 or self.state != "connected":
            return
        due = self._last_send + self.keepalive
        self._ping_timer = self.clock.call_at(due, self._keepalive_due, "mqtt-keepalive")

    def _keepalive_due(self) -> None:
        if self.state != "connected":
            return
        if self.clock.now() - self._last_send >= self.keepalive:
            self._send(PingReqPacket())
            if self.on_ping:
                self.on_ping()
            if self._pingresp_timer is None:
                self._pingresp_timer = self.clock.call_later(self.pkt_timeout, self._ping_timeout, "mqtt-pingresp")
        self._arm_keepalive()

    def _ping_timeout(self) -> None:
        self._pingresp_timer = None
        if self.state == "connected":
            self._lost(LOST_PING)

    def _stop_timers(self) -> None:
        for timer in (self._ping_timer, self._pingresp_timer):
            if timer:
                timer.cancel()
        self._ping_timer = self._pingresp_timer = None
        for lane in (self._out, self._in):  # what the route still holds dies with the connection
            if lane is not None:
                lane.close()
        if self._unwatch_cut is not None:
            self._unwatch_cut()
            self._unwatch_cut = None

    def _fail_inflight(self) -> None:
        for item in list(self._inflight.values()):
            if not item.future.done():
                item.future.set_result(AckResult(False, item.retries))
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(ConnectResult("lost"))

    def _abort(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()

    def _lost(self, reason: str) -> None:
        if self._closing or self.state == "closed":
            return
        self._closing = True
        self._stop_timers()
        self._fail_inflight()
        self.state = "closed"
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            self._read_task.cancel()
        if self.on_lost:
            self.on_lost(reason)
