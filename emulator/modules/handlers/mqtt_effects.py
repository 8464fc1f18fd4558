"""MQTT effects (modem -> network) and stimuli (network -> modem): pure data.

Shared by every AT dialect that drives an MQTT client: Quectel ``AT+QMT*``
(``quectel_mqtt.py``) and later SKT ThingPlug ``AT+SKTP*``. ``owner`` tells which feature
a client belongs to (``"qmt"``, ``"sktp"``), so each feature's stimulus handlers only react to
their own clients; ``client_idx`` is that feature's client number (0-5 for ``QMT``).
The executors in ``emulator/net/mqtt_exec.py`` carry the effects out with
:class:`emulator.net.mqtt_client.MqttSession` and answer with the stimuli below.

Result values in the stimuli are the Quectel numbers of Quectel BG96 MQTT Application Note V1.0 (the executor maps
the session's outcomes to them), so other dialects map from those.

Must not: do I/O or import asyncio/socket/time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.events import Effect
from ...core.stimuli import Downlink, Stimulus

# +QMTOPEN results (Quectel BG96 MQTT Application Note V1.0)
OPEN_OK, OPEN_FAILED, OPEN_BAD_PARAM, OPEN_OCCUPIED, OPEN_PDP_FAILED, OPEN_DNS_FAILED, OPEN_NET_DOWN = 0, -1, 1, 2, 3, 4, 5
# +QMTCONN/+QMTSUB/+QMTPUB <result>: 0 sent and acknowledged, 1 retransmitting, 2 failed to send
RESULT_OK, RESULT_RETRY, RESULT_FAILED = 0, 1, 2
# +QMTSTAT <err_code> (Quectel BG96 MQTT Application Note V1.0)
STAT_PEER_CLOSED, STAT_PING_TIMEOUT, STAT_CONNECT_TIMEOUT, STAT_CONNACK_FAILED = 1, 2, 3, 4
STAT_SERVER_CLOSED_AFTER_DISC, STAT_SEND_FAILED, STAT_LINK_DOWN = 5, 6, 7


# --- effects ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MqttOpen(Effect):
    """Open the TCP (or TLS) connection to the broker; no MQTT packet yet (AT+QMTOPEN)."""

    client_idx: int
    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None  # PEM CA bundle; None = TLS without server verification
    owner: str = "qmt"
    # AT+QMTCFG="ssl",<id>,1,<ctx>: that SSL context's settings (quectel_ssl_effects.TlsSettings,
    # certificates from the file system); replaces ca_file
    tls_settings: Any = None
    open_timeout: float = 75.0  # BG96 MQTT AN: max response time of QMTOPEN


@dataclass(frozen=True)
class MqttConnect(Effect):
    """Send CONNECT and wait for CONNACK (AT+QMTCONN)."""

    client_idx: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive: int = 120
    clean_session: bool = True
    version: int = 4  # 3 = MQTT 3.1 (MQIsdp), 4 = MQTT 3.1.1
    will_flag: bool = False
    will_qos: int = 0
    will_retain: bool = False
    will_topic: str = ""
    will_message: bytes = b""
    pkt_timeout: float = 5.0
    retry_times: int = 3
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttSubscribe(Effect):
    client_idx: int
    msg_id: int
    topics: tuple[tuple[str, int], ...]
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttUnsubscribe(Effect):
    client_idx: int
    msg_id: int
    topics: tuple[str, ...]
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttPublish(Effect):
    client_idx: int
    msg_id: int  # MQTT packet identifier; 0 for QoS 0
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttDisconnect(Effect):
    """Send DISCONNECT, then close the connection (AT+QMTDISC)."""

    client_idx: int
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttClose(Effect):
    """Close the network connection without DISCONNECT (AT+QMTCLOSE; the broker sends the will)."""

    client_idx: int
    owner: str = "qmt"


# --- stimuli ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MqttOpened(Stimulus):
    client_idx: int
    result: int  # OPEN_*
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttConnAck(Stimulus):
    client_idx: int
    result: int  # RESULT_*
    code: int | None = None  # CONNACK return code (0 accepted .. 5 not authorized)
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttSubAck(Stimulus):
    client_idx: int
    msg_id: int
    result: int  # RESULT_*
    granted: tuple[int, ...] = ()  # granted QoS per topic (128 = failure)
    retries: int = 0  # with RESULT_RETRY: retransmission count
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttUnsubAck(Stimulus):
    client_idx: int
    msg_id: int
    result: int
    retries: int = 0
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttPubDone(Stimulus):
    """A publish finished (RESULT_OK / RESULT_FAILED) or was retransmitted (RESULT_RETRY, retries=n)."""

    client_idx: int
    msg_id: int
    result: int
    retries: int = 0
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttMessage(Downlink):
    """An application message from the broker (a PUBLISH on a subscribed topic)."""

    client_idx: int
    topic: str
    payload: bytes
    msg_id: int = 0
    qos: int = 0
    retain: bool = False
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttDisconnected(Stimulus):
    """AT+QMTDISC finished (result 0 ok, -1 failed)."""

    client_idx: int
    result: int = 0
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttCloseDone(Stimulus):
    """AT+QMTCLOSE finished (result 0 ok, -1 failed)."""

    client_idx: int
    result: int = 0
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttPinged(Stimulus):
    """The module's own MQTT stack sent a PINGREQ (keepalive): radio traffic nobody typed."""

    client_idx: int
    owner: str = "qmt"


@dataclass(frozen=True)
class MqttClosed(Stimulus):
    """The connection went away without being asked to (+QMTSTAT <err_code>, STAT_*)."""

    client_idx: int
    err_code: int
    owner: str = "qmt"
