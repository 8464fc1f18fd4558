"""In-process rig for ThingPlug end-to-end tests and the benchmark: an :class:`Emulator` with
the embedded ``thingplug`` backend (ephemeral ports, virtual clock not following the wall),
a :class:`Host` reading a modem's serial output, and an application-side paho client that
logs in with a device token (the way a ThingPlug application or the SDK samples connect).

Must not: bind anything but loopback, or sleep on the wall clock for protocol timers (waiting
here is only for real loopback I/O to arrive).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from ..config import Config, ModemSpec
from ..transport.runner import Emulator
from .host import FINAL, Host, until  # noqa: F401 - FINAL re-exported for the ThingPlug tests

GUIDE_TOKEN = "a0149f60b---------"
CON_QUOTED = ('AT+SKTPCON=1,"{proto}","test.sktiot.com",{port},120,1,"simple_v1","{token}",'
              '"{service}","{device}"')
CON_INLINE = "AT+SKTPCON=1,{proto},test.sktiot.com,{port},120,1,simple_v1,{token},{service},{device}"


def connect_line(module: str, *, tls: bool = False, token: str = GUIDE_TOKEN, service: str = "smarthome",
                 device: str = "smartlight001") -> str:
    """The guide's AT+SKTPCON line in the module's dialect (Woori-net: unquoted, ``ssl://`` for MQTTS)."""
    proto, port = ("MQTTS", 8883) if tls else ("MQTT", 1883)
    line = (CON_INLINE if module == "wm-n400mse" else CON_QUOTED).format(
        proto=proto, port=port, token=token, service=service, device=device)
    if tls and module == "wm-n400mse":
        line = line.replace("test.sktiot.com", "ssl://test.sktiot.com")
    return line


@asynccontextmanager
async def thingplug_emulator(modules: tuple[str, ...] = ("bg96",), config: dict | None = None
                             ) -> AsyncIterator[tuple[Emulator, dict[str, Host]]]:
    """Start modems (named after their module) and the ThingPlug platform; echo off."""
    cfg = Config()
    if config:
        cfg.backends["thingplug"] = config
    emu = Emulator(cfg, modems=[ModemSpec(m, m) for m in modules], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=["thingplug"], follow_wall=False)
    await emu.start()
    try:
        hosts = {name: Host(port) for name, port in emu.ports.items()}
        for host in hosts.values():
            assert (await host.at("ATE0")).endswith(b"OK\r\n")
        yield emu, hosts
    finally:
        await emu.stop()


def app_client(emu: Emulator, token: str = GUIDE_TOKEN, client_id: str = "tp-app") -> Any:
    """A paho-mqtt 2.x application on the embedded broker's plain listener, user name = token."""
    from .mqtt_peers import PahoPeer

    return PahoPeer(emu.endpoints["thingplug_mqtt"][1], client_id=client_id, username=token)


async def poll(pred: Any, what: str, timeout: float = 5.0) -> Any:
    """Wait for real I/O (the broker stores data in fire-and-forget hooks)."""
    return await until(pred, timeout, what)
