"""Effects and stimuli of the ThingPlug AT client, and its per-modem state ``TpState`` (pure
data; the executor is ``emulator/net/thingplug_exec.py``).

Must not: do I/O, parse AT syntax or decide what the platform answers (the executor and the
backend do)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.events import Effect
from ...core.stimuli import Downlink, Stimulus


@dataclass(frozen=True)
class TpConnect(Effect):
    host: str
    port: int
    tls: bool
    client_id: str
    token: str
    keepalive: int
    clean: bool
    subscribe: str  # v1/dev/{svc}/{dev}/down


@dataclass(frozen=True)
class TpPublish(Effect):
    tag: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class TpDisconnect(Effect):
    """``graceful``: MQTT DISCONNECT first (AT+SKTPCON=0); False: the radio is gone (detach),
    the connection is just dropped."""

    graceful: bool = True


@dataclass(frozen=True)
class TpConnected(Stimulus):
    """Result of TpConnect: ``code`` 0 ok, 1..5 CONNACK refusal, -1 network failure."""

    code: int


@dataclass(frozen=True)
class TpPublished(Stimulus):
    tag: int
    ok: bool


@dataclass(frozen=True)
class TpMessage(Downlink):
    topic: str
    payload: bytes


@dataclass(frozen=True)
class TpLost(Stimulus):
    """The MQTT connection dropped (broker gone, network detached, keepalive)."""

    reason: str = ""


@dataclass
class TpState:
    status: str = "disconnected"  # disconnected | connecting | connected
    protocol: str = "MQTT"
    host: str = ""
    port: int = 0
    keepalive: int = 0
    clean: int = 1
    api_version: str = "simple_v1"
    token: str = ""
    service: str = ""
    device: str = ""
    client_id: str = ""
    last_error: int = 0
    last_data: tuple[str, str, str] | None = None
    auto_reconnect: bool = False
    resume: bool = False  # auto-reconnect armed: the link was lost, not closed by the host
    auto_attempt: bool = False  # the current connect was started by auto-reconnect
    rpcs: dict[int, str] = field(default_factory=dict)
    next_tag: int = 1
    cmd_id: int = 0
