"""Quectel MQTT AT commands (``AT+QMT*``) for BG96 and EC800E (Quectel BG96 MQTT Application Note V1.0).

+QMTCFG (version, pdpcid, ssl, keepalive, session, timeout, will, recv/mode; query and test
forms), +QMTOPEN, +QMTCLOSE, +QMTCONN, +QMTDISC, +QMTSUB, +QMTUNS, +QMTPUB (Ctrl+Z prompt, or
a fixed length), +QMTPUBEX (EC800E only: fixed length, or the one-line form), +QMTRECV (buffer mode
read-out), and the URCs +QMTRECV / +QMTSTAT / +QMTPUB retransmission notices.

Every action command answers ``OK`` at once; the outcome arrives later as a URC of the same
name when the executor reports back (the stimuli in ``mqtt_effects.py``). This module drives
the per-client state machine (idle -> opening -> opened -> connecting -> connected ->
disconnecting/closing, kept in ``quectel_mqtt_state.py`` with the URCs) and checks what the
host may do in each state.

Must not: do I/O, keep wall time, or encode MQTT (``emulator/net/mqtt_client.py`` does).
"""

from __future__ import annotations

from collections import deque

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Prompt, Reply
from . import ts27007
from .mqtt_effects import (OPEN_BAD_PARAM, OPEN_OCCUPIED, OPEN_PDP_FAILED, MqttClose, MqttConnect, MqttDisconnect,
                           MqttOpen, MqttPublish, MqttSubscribe, MqttUnsubscribe)
from .quectel_mqtt_state import (CFG_SPEC, CFG_TEST, CONN_STATE, MAX_CLIENTS, MAX_PAYLOAD, OWNER,
                                 RECV_SLOTS, STIMULI, QmtClient, recv_line, reset)

T = CommandTable("quectel_mqtt")
T_PUBEX = CommandTable("quectel_mqtt_pubex")  # EC800E / EC2x family only; not in BG96 MQTT AN V1.0


def _init(ctx: Context) -> None:
    ctx.state.mqtt = {i: QmtClient(i) for i in range(MAX_CLIENTS)}
    hooks = getattr(ctx.state, "radio_hooks", None)
    if hooks is None:
        hooks = ctx.state.radio_hooks = []
    hooks.append(_radio_changed)


def _radio_changed(ctx: Context, event: str) -> None:
    """Coverage or functionality lost (detach, AT+CFUN=0/4, SIM removed): the module's own
    TCP connections die with the PDP context, so every open client ends with
    ``+QMTSTAT: <id>,1`` (connection closed) and goes back to idle [?: the manual lists the
    codes, not which one a lost bearer gives; 1 is what module logs show for a dropped link]."""
    if ctx.state.radio.registered:
        return
    for client in ctx.state.mqtt.values():
        if client.state == "idle":
            continue
        ctx.effect(MqttClose(client.idx))
        reset(client)
        ctx.urc(f"+QMTSTAT: {client.idx},1")


def _client(cmd: AtCommand, ctx: Context, index: int = 0) -> QmtClient:
    return ctx.state.mqtt[cmd.int(index, lo=0, hi=MAX_CLIENTS - 1)]


def _fmt(value: object) -> str:
    return str(value) if isinstance(value, int) else f'"{value}"'


# --- configuration ------------------------------------------------------------------------
@T.set("+QMTCFG")
def qmtcfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    name = cmd.str(0).lower()
    if name not in CFG_SPEC:
        return Reply(final=ERROR)
    client = _client(cmd, ctx, 1)
    defaults, checks = CFG_SPEC[name]
    values = client.cfg[name]
    if len(cmd) == 2:  # query form: AT+QMTCFG="keepalive",0 -> +QMTCFG: "keepalive",120
        return Reply(lines=(f'+QMTCFG: "{name}",' + ",".join(_fmt(v) for v in values),))
    cmd.max_args(2 + len(defaults))
    new = list(values)
    for i, check in enumerate(checks):
        if not cmd.has(2 + i):
            continue
        if check is str:
            new[i] = cmd.str(2 + i, max_len=256)
        elif isinstance(check, set):
            new[i] = cmd.int(2 + i)
            if new[i] not in check:
                raise ArgError(f"{name}: {new[i]} not in {sorted(check)}")
        else:
            new[i] = cmd.int(2 + i, lo=check[0], hi=check[1])
    client.cfg[name] = new
    return Reply()


@T.test("+QMTCFG")
def qmtcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f"+QMTCFG: {line}" for line in CFG_TEST))


# --- network open / close -----------------------------------------------------------------
@T.set("+QMTOPEN")
def qmtopen_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _client(cmd, ctx)
    cmd.max_args(3)
    host = cmd.str(1, max_len=100)
    port = cmd.int(2, lo=0, hi=65535)
    if client.state != "idle":
        return Reply(after=(f"+QMTOPEN: {client.idx},{OPEN_OCCUPIED}",))
    if not host or port == 0:
        return Reply(after=(f"+QMTOPEN: {client.idx},{OPEN_BAD_PARAM}",))
    pdp = ctx.state.pdp.get(client.cfg["pdpcid"][0])
    if pdp is None or not pdp.active or not ctx.state.radio.registered:
        return Reply(after=(f"+QMTOPEN: {client.idx},{OPEN_PDP_FAILED}",))
    client.state, client.host, client.port = "opening", host, port
    tls = bool(client.cfg["ssl"][0])
    settings = None
    if tls and hasattr(ctx.state, "ssl"):  # the SSL context's settings and uploaded certificates
        from .quectel_ssl import settings_for  # the module may have no AT+QSSL* feature
        settings = settings_for(ctx, client.cfg["ssl"][1], host)
    ts27007.rrc_activity(ctx)
    return Reply(effects=(MqttOpen(client.idx, host, port, tls=tls, owner=OWNER, tls_settings=settings),))


@T.read("+QMTOPEN")
def qmtopen_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QMTOPEN: {c.idx},"{c.host}",{c.port}' for c in ctx.state.mqtt.values()
                             if c.state not in ("idle", "opening")))


@T.test("+QMTOPEN")
def qmtopen_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QMTOPEN: (0-5),"<host_name>",(0-65535)',))


@T.set("+QMTCLOSE")
def qmtclose_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _client(cmd, ctx)
    cmd.max_args(1)
    if client.state in ("idle", "closing"):
        return Reply(final=ERROR)
    client.state = "closing"
    return Reply(effects=(MqttClose(client.idx, owner=OWNER),))


# --- MQTT session -------------------------------------------------------------------------
@T.set("+QMTCONN")
def qmtconn_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _client(cmd, ctx)
    cmd.max_args(4)
    client_id = cmd.str(1, max_len=256)
    user = cmd.str(2, max_len=256) if cmd.has(2) else None
    password = cmd.str(3, max_len=256) if cmd.has(3) else None
    if client.state != "opened":
        return Reply(final=ERROR)
    c = client.cfg
    flag, wqos, wretain, wtopic, wmsg = c["will"]
    client.state = "connecting"
    effect = MqttConnect(client.idx, client_id, user, password, keepalive=c["keepalive"][0],
                         clean_session=bool(c["session"][0]), version=c["version"][0],
                         will_flag=bool(flag), will_qos=wqos, will_retain=bool(wretain),
                         will_topic=wtopic, will_message=wmsg.encode(), pkt_timeout=float(c["timeout"][0]),
                         retry_times=c["timeout"][1], owner=OWNER)
    ts27007.rrc_activity(ctx)
    return Reply(effects=(effect,))


@T.read("+QMTCONN")
def qmtconn_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f"+QMTCONN: {c.idx},{CONN_STATE[c.state]}" for c in ctx.state.mqtt.values()
                             if c.state in CONN_STATE))


@T.set("+QMTDISC")
def qmtdisc_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _client(cmd, ctx)
    cmd.max_args(1)
    if client.state != "connected":
        return Reply(final=ERROR)
    client.state = "disconnecting"
    return Reply(effects=(MqttDisconnect(client.idx, owner=OWNER),))


def _connected(cmd: AtCommand, ctx: Context) -> QmtClient:
    client = _client(cmd, ctx)
    if client.state != "connected":
        raise ArgError("client not connected")
    return client


@T.set("+QMTSUB")
def qmtsub_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _connected(cmd, ctx)
    msg_id = cmd.int(1, lo=1, hi=65535)
    if len(cmd) < 4 or len(cmd) % 2:
        return Reply(final=ERROR)
    topics = tuple((cmd.str(i, max_len=256), cmd.int(i + 1, lo=0, hi=2)) for i in range(2, len(cmd), 2))
    if any(not t for t, _ in topics):
        return Reply(final=ERROR)
    ts27007.rrc_activity(ctx)
    return Reply(effects=(MqttSubscribe(client.idx, msg_id, topics, owner=OWNER),))


@T.set("+QMTUNS")
def qmtuns_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _connected(cmd, ctx)
    msg_id = cmd.int(1, lo=1, hi=65535)
    if len(cmd) < 3:
        return Reply(final=ERROR)
    topics = tuple(cmd.str(i, max_len=256) for i in range(2, len(cmd)))
    ts27007.rrc_activity(ctx)
    return Reply(effects=(MqttUnsubscribe(client.idx, msg_id, topics, owner=OWNER),))


# --- publish ------------------------------------------------------------------------------
def _publish_args(cmd: AtCommand, ctx: Context) -> tuple[QmtClient, int, int, bool, str]:
    client = _connected(cmd, ctx)
    msg_id = cmd.int(1, lo=0, hi=65535)
    qos = cmd.int(2, lo=0, hi=2)
    retain = bool(cmd.int(3, lo=0, hi=1))
    topic = cmd.str(4, max_len=256)
    if not topic or "#" in topic or "+" in topic:  # no wildcards in a PUBLISH topic (MQTT-3.3.2-2)
        raise ArgError("bad topic")
    if (qos == 0) != (msg_id == 0):  # msgID is 0 exactly when QoS is 0 (§1.5)
        raise ArgError("msgID must be 0 for QoS 0 and 1-65535 otherwise")
    if qos and msg_id in client.inflight:
        raise ArgError(f"msgID {msg_id} already in flight")
    return client, msg_id, qos, retain, topic


def _publish(ctx: Context, client: QmtClient, name: str, msg_id: int, qos: int, retain: bool,
             topic: str, data: bytes) -> Reply:
    if client.state != "connected":  # the link dropped while the prompt was open
        return Reply(final=ERROR)
    if qos:
        client.inflight.add(msg_id)
    client.pub_names.setdefault(msg_id, deque()).append(name)
    ts27007.rrc_activity(ctx, len(topic) + len(data))  # air time on the energy meter
    return Reply(effects=(MqttPublish(client.idx, msg_id, topic, data, qos, retain, owner=OWNER),))


def _prompt(ctx: Context, client: QmtClient, name: str, msg_id: int, qos: int, retain: bool,
            topic: str, length: int | None) -> Reply:
    def on_data(data: bytes, c: Context) -> Reply:
        return _publish(c, client, name, msg_id, qos, retain, topic, data)
    # ESC cancels (§1.5): nothing is sent and no +QMTPUB follows. The AN does not show the final
    # result of a cancelled prompt; OK is our choice.
    return Reply(final=None, prompt=Prompt(on_data, length=length, limit=MAX_PAYLOAD,
                                           on_cancel=lambda c: Reply()))


@T.set("+QMTPUB")
def qmtpub_set(cmd: AtCommand, ctx: Context) -> Reply:
    client, msg_id, qos, retain, topic = _publish_args(cmd, ctx)
    cmd.max_args(6)
    if cmd.has(5):
        if cmd.quoted(5):  # later firmware: message inline as the sixth argument
            return _publish(ctx, client, "+QMTPUB", msg_id, qos, retain, topic, cmd.str(5).encode())
        length = cmd.int(5, lo=1, hi=MAX_PAYLOAD)  # later firmware: fixed <msglen>
        return _prompt(ctx, client, "+QMTPUB", msg_id, qos, retain, topic, length)
    return _prompt(ctx, client, "+QMTPUB", msg_id, qos, retain, topic, None)


@T_PUBEX.set("+QMTPUBEX")
def qmtpubex_set(cmd: AtCommand, ctx: Context) -> Reply:
    # EC800E guide 001 §4.2.3: AT+QMTPUBEX=0,0,0,0,"topic/data",23 -> "> " -> 23 bytes -> OK
    client, msg_id, qos, retain, topic = _publish_args(cmd, ctx)
    cmd.max_args(6)
    if cmd.quoted(5):  # one-line variant seen in BG95/BG77 code (Quectel BG96 MQTT Application Note V1.0, [?])
        return _publish(ctx, client, "+QMTPUBEX", msg_id, qos, retain, topic, cmd.str(5).encode())
    length = cmd.int(5, lo=1, hi=MAX_PAYLOAD)
    return _prompt(ctx, client, "+QMTPUBEX", msg_id, qos, retain, topic, length)


@T.read("+QMTRECV")
def qmtrecv_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f"+QMTRECV: {c.idx}," + ",".join("1" if m else "0" for m in c.recv_buffer)
                             for c in ctx.state.mqtt.values() if c.state != "idle"))


@T.set("+QMTRECV")
def qmtrecv_set(cmd: AtCommand, ctx: Context) -> Reply:
    client = _client(cmd, ctx)
    slots = [cmd.int(1, lo=0, hi=RECV_SLOTS - 1)] if cmd.has(1) else list(range(RECV_SLOTS))
    lines = []
    for slot in slots:
        msg, client.recv_buffer[slot] = client.recv_buffer[slot], None
        if msg is not None:
            lines.append(recv_line(client, msg))
    return Reply(lines=tuple(lines))


FEATURE = Feature("quectel_mqtt", T, init=_init, stimuli=dict(STIMULI))
# AT+QMTPUBEX: EC800E / ECx00x (guide 001 §4.2.3). BG96 firmware answers ERROR (Quectel BG96 MQTT Application Note V1.0).
PUBEX_FEATURE = Feature("quectel_mqtt_pubex", T_PUBEX)

__all__ = ["FEATURE", "PUBEX_FEATURE", "QmtClient"]
