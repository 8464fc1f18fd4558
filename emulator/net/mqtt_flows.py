"""Packet-identifier flows of an MQTT client session (MQTT 3.1.1 §2.3.1, §4.3, §4.4): the half of
:class:`~emulator.net.mqtt_client.MqttSession` that tracks packets awaiting an answer.

:class:`MqttFlows` (a mixin of ``MqttSession``) sends SUBSCRIBE / UNSUBSCRIBE / PUBLISH QoS 1-2
and waits for SUBACK / UNSUBACK / PUBACK / PUBREC-PUBREL-PUBCOMP, resending with DUP set every
``pkt_timeout`` *virtual* seconds up to ``retry_times`` (``AT+QMTCFG="timeout"``), and answers
the broker's QoS 1/2 PUBLISH (PUBACK / PUBREC, each QoS 2 message delivered once). Packet
identifiers are picked here (``next_packet_id``).

It uses the session's ``clock``, ``state``, ``pkt_timeout``, ``retry_times``, ``on_retry``,
``on_message``, ``_sync``, ``_send``, ``_inflight``, ``_inbound_qos2`` and ``_next_id``.

Must not: open or close the connection, read from it, arm the keepalive or read the wall clock;
it only writes through the session's ``_send``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from amqtt.mqtt import (PubackPacket, PubcompPacket, PublishPacket, PubrecPacket, PubrelPacket, SubackPacket,
                        SubscribePacket, UnsubackPacket, UnsubscribePacket)

from ..core.clock import Timer


@dataclass
class AckResult:
    ok: bool
    retries: int = 0
    codes: tuple[int, ...] = ()  # SUBACK return codes


@dataclass
class _Inflight:
    packet: Any
    future: asyncio.Future
    expect: type
    retries: int = 0
    timer: Timer | None = None
    kind: str = ""


class MqttFlows:
    """Requests awaiting an ACK, and the answers to the broker's QoS 1/2 PUBLISH (a mixin)."""

    # --- requests ------------------------------------------------------------------------
    def next_packet_id(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if not any(pid == self._next_id for _, pid in self._inflight):
                return self._next_id
        raise RuntimeError("no free packet identifier")

    async def subscribe(self, topics: list[tuple[str, int]], packet_id: int | None = None) -> AckResult:
        pid = packet_id or self.next_packet_id()
        return await self._request("subscribe", pid, SubscribePacket.build(list(topics), pid), SubackPacket)

    async def unsubscribe(self, topics: list[str], packet_id: int | None = None) -> AckResult:
        pid = packet_id or self.next_packet_id()
        return await self._request("unsubscribe", pid, UnsubscribePacket.build(list(topics), pid), UnsubackPacket)

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      packet_id: int | None = None) -> AckResult:
        if self.state != "connected":
            return AckResult(False)
        if qos == 0:
            ok = self._send(PublishPacket.build(topic, payload, None, False, 0, retain))
            return AckResult(ok)
        pid = packet_id or self.next_packet_id()
        packet = PublishPacket.build(topic, payload, pid, False, qos, retain)
        return await self._request("publish", pid, packet, PubackPacket if qos == 1 else PubrecPacket)

    async def _request(self, kind: str, pid: int, packet: Any, expect: type) -> AckResult:
        if self.state != "connected" or (kind, pid) in self._inflight:
            return AckResult(False)
        self._sync()
        item = _Inflight(packet, asyncio.get_running_loop().create_future(), expect, kind=kind)
        self._inflight[(kind, pid)] = item
        self._send(packet)
        self._arm_retry(kind, pid, item)
        try:
            return await item.future
        finally:
            if item.timer:
                item.timer.cancel()
            self._inflight.pop((kind, pid), None)

    def _arm_retry(self, kind: str, pid: int, item: _Inflight) -> None:
        if item.timer:
            item.timer.cancel()
        item.timer = self.clock.call_later(self.pkt_timeout, lambda: self._retry(kind, pid, item), "mqtt-retry")

    def _retry(self, kind: str, pid: int, item: _Inflight) -> None:
        if item.future.done():
            return
        if item.retries >= self.retry_times:
            item.future.set_result(AckResult(False, item.retries))
            return
        item.retries += 1
        if isinstance(item.packet, PublishPacket):
            item.packet.dup_flag = True  # MQTT-3.3.1-1
        self._send(item.packet)
        if self.on_retry:
            self.on_retry(kind, pid, item.retries)
        self._arm_retry(kind, pid, item)

    # --- answers from the broker ------------------------------------------------------------
    def _resolve(self, kind: str, pid: int, got: type, codes: tuple[int, ...]) -> None:
        item = self._inflight.get((kind, pid))
        if item is not None and item.expect is got and not item.future.done():
            item.future.set_result(AckResult(True, item.retries, codes))

    def _publish_ack(self, packet: Any) -> None:
        pid = packet.variable_header.packet_id
        item = self._inflight.get(("publish", pid))
        if item is None or item.future.done():
            if isinstance(packet, PubrecPacket):  # a late duplicate: still complete the flow
                self._send(PubrelPacket.build(pid))
            return
        if isinstance(packet, PubrecPacket) and item.expect is PubrecPacket:
            # QoS 2 second phase: PUBREL until PUBCOMP (MQTT-4.3.3), retry count starts again
            item.packet, item.expect, item.retries = PubrelPacket.build(pid), PubcompPacket, 0
            self._send(item.packet)
            self._arm_retry("publish", pid, item)
        elif type(packet) is item.expect:
            item.future.set_result(AckResult(True, item.retries))

    def _incoming_publish(self, packet: PublishPacket) -> None:
        qos, pid = packet.qos or 0, packet.packet_id or 0
        deliver = True
        if qos == 1:
            self._send(PubackPacket.build(pid))
        elif qos == 2:
            deliver = pid not in self._inbound_qos2  # deliver once; a resent PUBLISH is a duplicate
            self._inbound_qos2.add(pid)
            self._send(PubrecPacket.build(pid))
        if deliver and self.on_message:
            self.on_message(packet.topic_name, bytes(packet.data or b""), pid, qos, bool(packet.retain_flag))
