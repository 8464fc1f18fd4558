"""State of the Quectel MQTT clients (``AT+QMT*``) and the URCs the executor's stimuli raise.

One :class:`QmtClient` per client index 0-5: its ``AT+QMTCFG`` settings and where it is in
idle -> opening -> opened -> connecting -> connected -> disconnecting/closing. The stimulus
handlers here turn executor results into ``+QMTOPEN``/``+QMTCONN``/``+QMTSUB``/``+QMTUNS``/
``+QMTPUB(EX)``/``+QMTRECV``/``+QMTDISC``/``+QMTCLOSE``/``+QMTSTAT`` (Quectel BG96 MQTT Application Note V1.0).

Must not: do I/O or parse commands (``quectel_mqtt.py`` does).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ...core.modem import Context
from . import ts27007
from .mqtt_effects import (RESULT_OK, RESULT_RETRY, MqttCloseDone, MqttClosed, MqttConnAck, MqttDisconnected,
                           MqttMessage, MqttOpened, MqttPinged, MqttPubDone, MqttSubAck, MqttUnsubAck)

OWNER = "qmt"
MAX_CLIENTS = 6  # client_idx 0-5
MAX_PAYLOAD = 1548  # BG96 MQTT AN: QMTPUB data up to 1548 bytes
RECV_SLOTS = 5  # buffer mode (recv/mode 1): five stored messages per client

# AT+QMTCFG settings: name -> (defaults, validators). A validator is a set of allowed ints,
# a (lo, hi) range, or str. Defaults: keepalive 120 s, pkt_timeout 5 s, retry 3,
# pdpcid 1, MQTT 3.1.1, clean session (Quectel BG96 MQTT Application Note V1.0).
CFG_SPEC: dict[str, tuple[tuple, tuple]] = {
    "version": ((4,), ({3, 4},)),
    "pdpcid": ((1,), ((1, 16),)),
    "ssl": ((0, 0), ({0, 1}, (0, 5))),
    "keepalive": ((120,), ((0, 3600),)),
    "session": ((1,), ({0, 1},)),
    "timeout": ((5, 3, 0), ((1, 60), (1, 10), {0, 1})),
    "will": ((0, 0, 0, "", ""), ({0, 1}, (0, 2), {0, 1}, str, str)),
    "recv/mode": ((0, 0), ({0, 1}, {0, 1})),
}
CFG_TEST = ('"version",(0-5),(3,4)', '"pdpcid",(0-5),(1-16)', '"ssl",(0-5),(0,1),(0-5)',
            '"keepalive",(0-5),(0-3600)', '"session",(0-5),(0,1)', '"timeout",(0-5),(1-60),(1-10),(0,1)',
            '"will",(0-5),(0,1),(0-2),(0,1),"willtopic","willmessage"', '"recv/mode",(0-5),(0,1),(0,1)')

# AT+QMTCONN? <state>: 1 initializing, 2 connecting, 3 connected, 4 disconnecting
CONN_STATE = {"opened": 1, "connecting": 2, "connected": 3, "disconnecting": 4}


@dataclass
class QmtClient:
    idx: int
    cfg: dict[str, list] = field(default_factory=lambda: {k: list(v[0]) for k, v in CFG_SPEC.items()})
    state: str = "idle"  # idle | opening | opened | connecting | connected | disconnecting | closing
    host: str = ""
    port: int = 0
    inflight: set[int] = field(default_factory=set)  # QoS>0 publish msgIDs awaiting their result
    pub_names: dict[int, deque] = field(default_factory=dict)  # msgID -> "+QMTPUB"/"+QMTPUBEX" queue
    recv_buffer: list = field(default_factory=lambda: [None] * RECV_SLOTS)


def quote_bytes(topic: str) -> bytes:
    return b'"' + topic.encode("utf-8", "replace") + b'"'


# --- buffer-mode receive ------------------------------------------------------------------
def recv_line(client: QmtClient, msg: MqttMessage) -> bytes:
    head = f"+QMTRECV: {client.idx},{msg.msg_id},".encode() + quote_bytes(msg.topic)
    if client.cfg["recv/mode"][1]:
        head += f",{len(msg.payload)}".encode()
    return head + b',"' + msg.payload + b'"'


# --- stimuli from the executor ------------------------------------------------------------
def _mine(stim: object, ctx: Context) -> QmtClient | None:
    if getattr(stim, "owner", None) != OWNER:
        return None
    return ctx.state.mqtt.get(stim.client_idx)  # type: ignore[attr-defined]


def reset(client: QmtClient) -> None:
    client.state = "idle"
    client.inflight.clear()
    client.pub_names.clear()


def on_opened(stim: MqttOpened, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state != "opening":
        return
    client.state = "opened" if stim.result == 0 else "idle"
    ctx.urc(f"+QMTOPEN: {client.idx},{stim.result}")


def on_connack(stim: MqttConnAck, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state != "connecting":
        return
    client.state = "connected" if stim.result == RESULT_OK and stim.code == 0 else "opened"
    tail = f",{stim.code}" if stim.code is not None else ""
    ctx.urc(f"+QMTCONN: {client.idx},{stim.result}{tail}")


def _notice(client: QmtClient, stim: object) -> bool:
    """Retransmission reports (result 1) appear only with timeout_notice = 1 (§1.5)."""
    return getattr(stim, "result", None) != RESULT_RETRY or bool(client.cfg["timeout"][2])


def on_suback(stim: MqttSubAck, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or not _notice(client, stim):
        return
    if stim.result == RESULT_OK:
        tail = "," + ",".join(str(g) for g in stim.granted) if stim.granted else ""
    elif stim.result == RESULT_RETRY:
        tail = f",{stim.retries}"
    else:
        tail = ""
    ctx.urc(f"+QMTSUB: {client.idx},{stim.msg_id},{stim.result}{tail}")


def on_unsuback(stim: MqttUnsubAck, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is not None and _notice(client, stim):
        tail = f",{stim.retries}" if stim.result == RESULT_RETRY else ""
        ctx.urc(f"+QMTUNS: {client.idx},{stim.msg_id},{stim.result}{tail}")


def on_pubdone(stim: MqttPubDone, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None:
        return
    names = client.pub_names.get(stim.msg_id)
    name = names[0] if names else "+QMTPUB"
    if stim.result == RESULT_RETRY:
        # intermediate report only with timeout_notice = 1 (AT+QMTCFG="timeout",id,t,n,1)
        if client.cfg["timeout"][2]:
            ctx.urc(f"{name}: {client.idx},{stim.msg_id},{RESULT_RETRY},{stim.retries}")
        return
    if names:
        names.popleft()
    client.inflight.discard(stim.msg_id)
    ctx.urc(f"{name}: {client.idx},{stim.msg_id},{stim.result}")


def on_message(stim: MqttMessage, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state not in ("connected", "disconnecting"):
        return
    ts27007.rrc_activity(ctx)
    if client.cfg["recv/mode"][0] == 0:  # push mode: the message is in the URC
        ctx.urc(recv_line(client, stim))
        return
    for slot, held in enumerate(client.recv_buffer):  # buffer mode: +QMTRECV: <id>,<recv_id>
        if held is None:
            client.recv_buffer[slot] = stim
            ctx.urc(f"+QMTRECV: {client.idx},{slot}")
            return
    # all five slots full: the message is dropped (the module's buffer is full)


def on_disconnected(stim: MqttDisconnected, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state != "disconnecting":
        return
    reset(client)
    ctx.urc(f"+QMTDISC: {client.idx},{stim.result}")


def on_close_done(stim: MqttCloseDone, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state != "closing":
        return
    reset(client)
    ctx.urc(f"+QMTCLOSE: {client.idx},{stim.result}")


def on_closed(stim: MqttClosed, ctx: Context) -> None:
    if (client := _mine(stim, ctx)) is None or client.state in ("idle", "closing"):
        return
    if client.state == "disconnecting":  # the broker hung up first after our DISCONNECT
        reset(client)
        ctx.urc(f"+QMTDISC: {client.idx},0")
        return
    if client.state == "opening":
        return  # the open itself reports the failure
    reset(client)
    ctx.urc(f"+QMTSTAT: {client.idx},{stim.err_code}")


def on_pinged(stim: MqttPinged, ctx: Context) -> None:
    """A keepalive PINGREQ is uplink traffic: RRC connects, the energy meter books it, and a
    module in PSM leaves it to send (an open MQTT connection keeps waking a sleeping device;
    guide 001 §6.1 note 3 advises closing MQTT before sleeping for that reason)."""
    if _mine(stim, ctx) is not None:
        ts27007.rrc_activity(ctx, 2)  # PINGREQ: 2 bytes


STIMULI = {
    MqttOpened: on_opened, MqttConnAck: on_connack, MqttSubAck: on_suback, MqttUnsubAck: on_unsuback,
    MqttPubDone: on_pubdone, MqttMessage: on_message, MqttDisconnected: on_disconnected,
    MqttCloseDone: on_close_done, MqttClosed: on_closed, MqttPinged: on_pinged,
}
