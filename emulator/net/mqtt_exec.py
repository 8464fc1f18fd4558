"""Executors for the MQTT effects (``modules/handlers/mqtt_effects.py``).

One :class:`~emulator.net.mqtt_client.MqttSession` per (owner, client_idx), kept in
``net.resources["mqtt:<owner>:<idx>"]`` (closed by the runner on shutdown) of the modem's
:class:`~emulator.net.context.NetContext`. Each executor
awaits the session and answers the modem with a stimulus carrying the Quectel result numbers
of Quectel BG96 MQTT Application Note V1.0; other dialects (ThingPlug) map from those.

Must not: decide what the host may do (the feature's state machine does) or dial anything the
FakeInternet did not return.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..modules.handlers.mqtt_effects import (
    OPEN_DNS_FAILED, OPEN_FAILED, OPEN_OCCUPIED, OPEN_OK, RESULT_FAILED, RESULT_OK, RESULT_RETRY,
    STAT_CONNACK_FAILED, STAT_PEER_CLOSED, STAT_PING_TIMEOUT, STAT_SEND_FAILED, MqttClose, MqttCloseDone,
    MqttClosed, MqttConnAck, MqttConnect, MqttDisconnect, MqttDisconnected, MqttMessage, MqttOpen,
    MqttOpened, MqttPinged, MqttPubDone, MqttPublish, MqttSubAck, MqttSubscribe, MqttUnsubAck, MqttUnsubscribe)
from .context import NetContext
from .executors import executor
from .mqtt_client import LOST_CONNACK, LOST_PEER, LOST_PING, LOST_SEND, MqttSession
from .tls_context import client_context, server_hostname

# MqttSession.open outcome -> +QMTOPEN <result>. A refused or black-holed connection is
# "failed to open network" (-1); a name that does not resolve is 4 (Quectel BG96 MQTT Application Note V1.0).
OPEN_RESULT = {"ok": OPEN_OK, "dns": OPEN_DNS_FAILED, "refused": OPEN_FAILED, "timeout": OPEN_FAILED,
               "error": OPEN_FAILED, "busy": OPEN_OCCUPIED}
# on_lost reason -> +QMTSTAT <err_code>. A refused CONNACK followed by the broker hanging up
# is reported as 4 as well: public module logs show "+QMTCONN: 0,0,5" then "+QMTSTAT: 0,4".
STAT_FOR_LOSS = {LOST_PEER: STAT_PEER_CLOSED, LOST_PING: STAT_PING_TIMEOUT,
                 LOST_CONNACK: STAT_CONNACK_FAILED, LOST_SEND: STAT_SEND_FAILED}


def _key(effect: Any) -> str:
    return f"mqtt:{effect.owner}:{effect.client_idx}"


def session_for(net: NetContext, effect: Any) -> MqttSession | None:
    return net.resources.get(_key(effect))


def _new_session(net: NetContext, effect: MqttOpen) -> MqttSession:
    idx, owner = effect.client_idx, effect.owner
    session: MqttSession | None = None

    def on_message(topic: str, payload: bytes, pid: int, qos: int, retain: bool) -> None:
        net.stimulus(MqttMessage(idx, topic, payload, pid, qos, retain, owner=owner))

    def on_lost(reason: str) -> None:
        if net.resources.get(_key(effect)) is session:
            del net.resources[_key(effect)]
        net.stimulus(MqttClosed(idx, STAT_FOR_LOSS.get(reason, STAT_PEER_CLOSED), owner=owner))

    def on_retry(kind: str, pid: int, retries: int) -> None:
        if kind == "publish":
            net.stimulus(MqttPubDone(idx, pid, RESULT_RETRY, retries, owner=owner))
        elif kind == "subscribe":
            net.stimulus(MqttSubAck(idx, pid, RESULT_RETRY, retries=retries, owner=owner))
        else:
            net.stimulus(MqttUnsubAck(idx, pid, RESULT_RETRY, retries=retries, owner=owner))

    # net.sync_clock: in serve, move virtual time up to the wall clock before a timer is
    # armed, so a 5 s packet timeout is not already overdue at the runner's next tick.
    session = MqttSession(net.clock, net.internet, on_message=on_message, on_lost=on_lost,
                          on_retry=on_retry, name=f"{net.name}/{owner}{idx}", sync_clock=net.sync_clock)
    session.on_ping = lambda: net.stimulus(MqttPinged(idx, owner=owner))
    return session


@executor(MqttOpen)
async def mqtt_open(effect: MqttOpen, net: NetContext) -> None:
    old = session_for(net, effect)
    if old is not None:
        await old.close()
    session = _new_session(net, effect)
    net.resources[_key(effect)] = session
    context, hostname = None, None
    if effect.tls and effect.tls_settings is not None:  # AT+QSSLCFG context: its CA / client cert
        try:
            context = client_context(effect.tls_settings)
            hostname = server_hostname(effect.tls_settings, effect.host)
        except (ssl.SSLError, ValueError, OSError):
            outcome = "error"
    if context is not None or effect.tls_settings is None or not effect.tls:
        outcome = await session.open(effect.host, effect.port, tls=effect.tls, ca_file=effect.ca_file,
                                     timeout=effect.open_timeout, ssl_context=context,
                                     server_hostname=hostname)
    if outcome != "ok" and net.resources.get(_key(effect)) is session:
        del net.resources[_key(effect)]
    net.stimulus(MqttOpened(effect.client_idx, OPEN_RESULT.get(outcome, OPEN_FAILED), owner=effect.owner))


@executor(MqttConnect)
async def mqtt_connect(effect: MqttConnect, net: NetContext) -> None:
    session = session_for(net, effect)
    if session is None:
        net.stimulus(MqttConnAck(effect.client_idx, RESULT_FAILED, owner=effect.owner))
        return
    will = ((effect.will_topic, effect.will_message, effect.will_qos, effect.will_retain)
            if effect.will_flag else None)
    result = await session.connect(effect.client_id, username=effect.username, password=effect.password,
                                   keepalive=effect.keepalive, clean_session=effect.clean_session,
                                   version=effect.version, will=will, pkt_timeout=effect.pkt_timeout,
                                   retry_times=effect.retry_times)
    if result.outcome in ("accepted", "refused"):
        net.stimulus(MqttConnAck(effect.client_idx, RESULT_OK, result.code, owner=effect.owner))
    # "timeout"/"lost": the session already reported the loss (+QMTSTAT 4 / 1)


@executor(MqttSubscribe)
async def mqtt_subscribe(effect: MqttSubscribe, net: NetContext) -> None:
    session = session_for(net, effect)
    if session is None:
        net.stimulus(MqttSubAck(effect.client_idx, effect.msg_id, RESULT_FAILED, owner=effect.owner))
        return
    ack = await session.subscribe(list(effect.topics), effect.msg_id)
    net.stimulus(MqttSubAck(effect.client_idx, effect.msg_id, RESULT_OK if ack.ok else RESULT_FAILED,
                             ack.codes, owner=effect.owner))


@executor(MqttUnsubscribe)
async def mqtt_unsubscribe(effect: MqttUnsubscribe, net: NetContext) -> None:
    session = session_for(net, effect)
    ok = session is not None and (await session.unsubscribe(list(effect.topics), effect.msg_id)).ok
    net.stimulus(MqttUnsubAck(effect.client_idx, effect.msg_id, RESULT_OK if ok else RESULT_FAILED,
                               owner=effect.owner))


@executor(MqttPublish)
async def mqtt_publish(effect: MqttPublish, net: NetContext) -> None:
    session = session_for(net, effect)
    ok = session is not None and (await session.publish(
        effect.topic, effect.payload, effect.qos, effect.retain, effect.msg_id or None)).ok
    net.stimulus(MqttPubDone(effect.client_idx, effect.msg_id, RESULT_OK if ok else RESULT_FAILED,
                              owner=effect.owner))


@executor(MqttDisconnect)
async def mqtt_disconnect(effect: MqttDisconnect, net: NetContext) -> None:
    session = net.resources.pop(_key(effect), None)
    if session is not None:
        await session.disconnect()
    net.stimulus(MqttDisconnected(effect.client_idx, 0 if session is not None else -1, owner=effect.owner))


@executor(MqttClose)
async def mqtt_close(effect: MqttClose, net: NetContext) -> None:
    session = net.resources.pop(_key(effect), None)
    if session is not None:
        await session.close()
    net.stimulus(MqttCloseDone(effect.client_idx, 0, owner=effect.owner))
