"""Executors for the ThingPlug effects (``modules/handlers/thingplug_effects.py``) on :class:`MqttSession`.

One ThingPlug link per modem, kept in ``net.resources["thingplug"]`` (closed by the runner on
shutdown / reboot) of the modem's :class:`~emulator.net.context.NetContext`. What each effect does (WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md-§3):

* ``TpConnect``: open TCP (TLS when ``tls``: the modem trusts the CA of the embedded ThingPlug
  backend, ``net.trust.ca_file("thingplug")``, which the transport passes in as data; with no
  such backend the certificate is not checked), CONNECT with user name = device token, no password (TP-LINUX MA.c), the
  client id, keepalive and clean-session flag the modem chose, then SUBSCRIBE (QoS 1) its
  ``/down`` topic. Answer ``TpConnected(code)``: 0 once the SUBACK grants the subscription;
  1..5 = the CONNACK refusal code; -1 = the network failed (DNS, refused, TLS, timeout, reset).
  The open (TCP and the TLS handshake) gives up after ``CONNECT_TIMEOUT`` virtual seconds, so
  MQTTS dialled at a plain-MQTT port fails with -1 (AT+SKTPERR -20, connection timeout).
  ASSUMPTION (no public source says what an SKT module does when the platform refuses the
  ``/down`` subscription, e.g. a service the token's device is not in): the link is closed and
  the modem is told 5 (not authorized), the closest CONNACK meaning.
* Messages that arrive before the modem was told 0 (a queued RPC flushed by the SUBSCRIBE) are
  held and delivered right after ``TpConnected(0)``, so ``+SKTPCMD`` never precedes ``+SKTPCON: 0``.
* ``TpPublish``: QoS 1 PUBLISH -> ``TpPublished(tag, ok)``; ok only once the broker's PUBACK came
  (the modem answers ``OK`` only then, so an ``OK``'d payload reached the platform).
* ``TpDisconnect``: DISCONNECT then close (``graceful``), or just drop the connection (network
  detach: the radio is gone, nothing can be sent).
* A connection that ends while up -> ``TpLost(reason)`` (``mqtt_client.LOST_*``).
* The console's ``cut`` fault resets an open link (the session watches its route:
  ``FakeInternet.watch_cut`` / ``cut``) that went through the cut route (or to the cut host
  name), like an open socket: the broker side sees the reset and
  the modem reports the loss (``+SKTPCON: -1``).

Must not: decide what the host may do (the feature's state machine does), dial anything the
FakeInternet did not return, or read the wall clock (timers are the session's, virtual).
"""

from __future__ import annotations

import logging

from ..modules.handlers.thingplug_effects import (TpConnect, TpConnected, TpDisconnect, TpLost, TpMessage,
                                                  TpPublish, TpPublished)
from .context import NetContext
from .executors import executor
from .mqtt_client import MqttSession

log = logging.getLogger("modemu.thingplug")

KEY = "thingplug"
NETWORK_FAILED = -1
SUB_REFUSED_CODE = 5  # see the ASSUMPTION in the module docstring
SUBACK_FAILURE = 0x80
# SKT's TP-LINUX SDK (src/net/MQTTClient.c) connects with Paho's MQTTAsync_connectOptions_initializer,
# whose connectTimeout is 30 s. ASSUMPTION: the modules' firmware gives up after the same time.
CONNECT_TIMEOUT = 30.0


class TpLink:
    """The modem's ThingPlug connection: the session plus whether the modem was told it is up."""

    def __init__(self, net: NetContext, host: str = "", dport: int = 0) -> None:
        self.net, self.ready = net, False
        self.backlog: list[TpMessage] = []
        self.host, self.dport = host, dport
        self.session = MqttSession(net.clock, net.internet, on_message=self._message, on_lost=self._lost,
                                   name=f"{net.name}/thingplug", sync_clock=net.sync_clock)

    def current(self) -> bool:
        return self.net.resources.get(KEY) is self

    def _message(self, topic: str, payload: bytes, pid: int, qos: int, retain: bool) -> None:
        if self.ready:
            self.net.stimulus(TpMessage(topic, payload))
        else:
            self.backlog.append(TpMessage(topic, payload))

    def _lost(self, reason: str) -> None:
        if not self.ready:
            return  # still connecting: tp_connect reports the outcome itself
        self.ready = False
        if self.current():
            del self.net.resources[KEY]
            self.net.stimulus(TpLost(reason))

    def up(self) -> None:
        self.ready = True
        self.net.stimulus(TpConnected(0))
        backlog, self.backlog = self.backlog, []
        for message in backlog:
            self.net.stimulus(message)

    async def close(self) -> None:
        self.ready = False
        await self.session.close()


async def _give_up(net: NetContext, link: TpLink, code: int, graceful: bool = False) -> None:
    if link.current():
        del net.resources[KEY]
        if graceful:
            await link.session.disconnect()
        else:
            await link.close()
        net.stimulus(TpConnected(code))
    else:  # dropped by TpDisconnect / a newer TpConnect meanwhile: report nothing
        await link.close()


@executor(TpConnect)
async def tp_connect(effect: TpConnect, net: NetContext) -> None:
    old = net.resources.pop(KEY, None)
    if old is not None:
        await old.close()
    link = TpLink(net, effect.host, effect.port)
    net.resources[KEY] = link
    try:  # a platform still coming up (serve's first second): its CA once it is up
        ca_file = await net.trust.ca_file_when_up("thingplug") if effect.tls else None
    except Exception:  # noqa: BLE001 - it could not come up: its listener refuses, as a dead server's would
        ca_file = None
    outcome = await link.session.open(effect.host, effect.port, tls=effect.tls,
                                      ca_file=ca_file, timeout=CONNECT_TIMEOUT)
    if outcome != "ok" or not link.current():
        log.info("%s: ThingPlug open %s:%s -> %s", net.name, effect.host, effect.port, outcome)
        await _give_up(net, link, NETWORK_FAILED)
        return
    result = await link.session.connect(effect.client_id, username=effect.token, password=None,
                                        keepalive=effect.keepalive, clean_session=effect.clean)
    if result.outcome == "refused":
        await _give_up(net, link, int(result.code or SUB_REFUSED_CODE))
        return
    if result.outcome != "accepted" or not link.current():
        await _give_up(net, link, NETWORK_FAILED)
        return
    ack = await link.session.subscribe([(effect.subscribe, 1)])
    if not link.current():
        await link.close()
        return
    if not ack.ok:
        await _give_up(net, link, NETWORK_FAILED)
    elif any(code == SUBACK_FAILURE for code in ack.codes):
        log.info("%s: ThingPlug refused the subscription to %s", net.name, effect.subscribe)
        await _give_up(net, link, SUB_REFUSED_CODE, graceful=True)
    else:
        link.up()


@executor(TpPublish)
async def tp_publish(effect: TpPublish, net: NetContext) -> None:
    link = net.resources.get(KEY)
    ok = False
    if isinstance(link, TpLink) and link.ready:
        ok = (await link.session.publish(effect.topic, effect.payload, qos=1)).ok
    net.stimulus(TpPublished(effect.tag, ok))


@executor(TpDisconnect)
async def tp_disconnect(effect: TpDisconnect, net: NetContext) -> None:
    link = net.resources.pop(KEY, None)
    if link is None:
        return
    link.ready = False
    if getattr(effect, "graceful", True):
        await link.session.disconnect()
    else:
        await link.session.close()
