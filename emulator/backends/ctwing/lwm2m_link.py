"""Glue between the CTWing platform (registry + store) and the separate LwM2M server component.

:class:`CtwingLwm2mHooks` implements the LwM2M server's platform-hook protocol
(``emulator.backends.lwm2m.server.Lwm2mPlatformHooks``: authorize, psk_for, on_registered,
on_deregistered, on_uplink, next_downlink, downlink_result, auto_observe, should_deliver,
observe_accept, downlink_format) on top of the shared registry and store (commands: the store's
``CommandModel``); it is pure. :class:`CtwingLwm2mPlugin` is an ``extra_servers`` entry for
:class:`~emulator.backends.ctwing.backend.CtwingBackend`: it builds ``Lwm2mServer`` (imported
lazily, so this package works without the LwM2M component) and kicks it when a command is
queued for one of its devices. Its UDP sockets are bound in ``start()``; the server attaches to
them then or, with the backend's ``attach_later``, right after (``../prebind.py``).

Rules kept here (guide 001 §4.1.1, §4.1.3.2): the endpoint name must have its product's format
(IMEI / urn:imei: / urn:imei-imsi:); a DTLS product's device must come over DTLS with PSK
identity = its psk_identity (IMEI by default); a plain product's device must not.

Must not: speak CoAP or keep registrations (the LwM2M server does).
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from ..base import LOOPBACK
from ..prebind import BringUp, bind_udp, endpoint, import_in_thread
from .registry import Registry
from .store import Command, Store


class CtwingLwm2mHooks:
    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry, self.store = registry, store

    def authorize(self, endpoint: str, dtls_identity: str | None) -> str | None:
        """Device ID for a Register from ``endpoint`` (None = refused, the module's +QLWREG: -9)."""
        found = self.registry.lwm2m_device_for_endpoint(endpoint)
        reason = None
        if found is None:
            reason = "unknown endpoint"
        elif found[1].dtls != (dtls_identity is not None):
            reason = "DTLS required" if found[1].dtls else "product is not DTLS"
        elif found[1].dtls and dtls_identity != found[0].psk_identity:
            reason = "wrong PSK identity"
        if reason is not None:
            self.store.publish("login_refused", platform="ctwing", device=endpoint, protocol="lwm2m", reason=reason)
            return None
        self.store.publish("login", platform="ctwing", device=found[0].device_id, protocol="lwm2m", endpoint=endpoint)
        return found[0].device_id

    def psk_for(self, identity: str | bytes) -> bytes | None:
        found = self.registry.psk_for_identity(identity)
        return found[1] if found else None

    def on_registered(self, device_id: str, reg: Any = None) -> None:
        self.store.set_online(device_id, True)

    def on_deregistered(self, device_id: str, reason: str = "") -> None:
        self.store.set_online(device_id, False)

    def on_uplink(self, device_id: str, payload: bytes, confirmable: bool = False,
                  content_format: int | None = None) -> None:
        self.store.record_uplink(device_id, bytes(payload), "lwm2m", content_format=content_format)

    def _product(self, device_id: str) -> Any:
        device = self.registry.device_by_id(device_id)
        return None if device is None else self.registry.product_of(device)

    def observe_accept(self, device_id: str) -> str | None:
        """The product's ``observe_accept`` (a payload_codec.ACCEPT_FORMATS name) or None."""
        product = self._product(device_id)
        return None if product is None else product.observe_accept

    def downlink_format(self, device_id: str) -> str:
        product = self._product(device_id)
        return "opaque" if product is None else product.downlink_format

    def next_downlink(self, device_id: str) -> tuple[int, bytes] | None:
        cmd = self.store.commands_model.take_next(device_id)
        return None if cmd is None else (cmd.id, cmd.payload)

    def downlink_result(self, device_id: str, command_id: int, ok: bool, reason: str = "") -> None:
        self.store.commands_model.settle(command_id, ok, reason or "device did not accept the write")

    def auto_observe(self, device_id: str) -> bool:
        """The product's auto-subscribe (自动订阅) flag: "yes" = the platform observes the
        device's objects after registration itself, "no" = it does not (guide 001 §4.1.2)."""
        device = self.registry.device_by_id(device_id)
        return device is None or self.registry.product_of(device).auto_subscribe

    def should_deliver(self, device_id: str, trigger: str, reachable: bool) -> bool:
        """The shared command model's rule (``models.py``): with a PSM product a queued command
        waits for the device's next contact (guide 001 §4.1.1, §4.1.3.1, §4.1.5.2)."""
        return self.store.commands_model.should_deliver(device_id, trigger, reachable)

    def is_lwm2m_device(self, device_id: str) -> bool:
        device = self.registry.device_by_id(device_id)
        return device is not None and self.registry.product_of(device).protocol == "lwm2m"


class CtwingLwm2mPlugin:
    """``backend.extra_servers.append(CtwingLwm2mPlugin())``; extra kwargs go to Lwm2mServer."""

    def __init__(self, **server_options: Any) -> None:
        self.options = server_options
        self.server: Any = None
        self.hooks: CtwingLwm2mHooks | None = None
        self.bringup = BringUp()

    async def start(self, backend: Any) -> dict[str, tuple[str, int]]:
        """Bind the UDP sockets (plain, and DTLS when python-mbedtls is there) and return their
        endpoints; the server (aiocoap, python-mbedtls) attaches to them now, or with the
        backend's ``attach_later`` right after (``../prebind.py``: datagrams wait in the socket)."""
        self.hooks = CtwingLwm2mHooks(backend.registry, backend.store)
        options = {"host": LOOPBACK,
                   "port": backend.port_for("ctwing_lwm2m", 25683),
                   "dtls_port": backend.port_for("ctwing_lwm2m_dtls", 25684)}
        options.update(self.options)
        socks = {"plain": bind_udp(options["host"], options["port"])}
        endpoints = {"ctwing_lwm2m": endpoint(socks["plain"])}
        if options["dtls_port"] is not None and importlib.util.find_spec("mbedtls") is not None:
            try:
                socks["dtls"] = bind_udp(options["host"], options["dtls_port"])
            except BaseException:
                socks["plain"].close()
                raise
            endpoints["ctwing_lwm2m_dtls"] = endpoint(socks["dtls"])

        async def attach() -> None:
            await import_in_thread(f"{__package__.rpartition('.')[0]}.lwm2m.server")
            from ..lwm2m.server import Lwm2mServer  # the separate component; imported only when used
            self.server = Lwm2mServer(self.hooks, backend.clock, **options)
            self.server.on_event = getattr(backend, "record_event", None)  # failed DTLS handshakes
            await self.server.start(socks)
        await self.bringup.start("CTWing LwM2M server", attach, list(socks.values()), cleanup=self._teardown,
                                 later=getattr(getattr(backend, "ctx", None), "attach_later", False))
        self._hook(backend)
        return endpoints

    async def ready(self) -> None:
        await self.bringup.wait()

    def _hook(self, backend: Any) -> None:
        """Kick the server when a command is queued or expires for one of its devices."""
        loop = asyncio.get_running_loop()

        def queued(cmd: Command) -> None:
            if self.server is not None and self.hooks is not None and self.hooks.is_lwm2m_device(cmd.device_id):
                loop.call_soon_threadsafe(self._kick, cmd.device_id)

        def expired(cmd: Command) -> None:
            # the device never answered the Write: stop waiting so its next command goes out
            if cmd.reason == "no response" and self.server is not None and self.hooks is not None \
                    and self.hooks.is_lwm2m_device(cmd.device_id):
                loop.call_soon_threadsafe(self._give_up, cmd.device_id)

        backend.store.on_command_queued(queued)
        backend.store.on_command_expired(expired)

    def _kick(self, device_id: str) -> None:
        if self.server is not None:
            self.server.kick(device_id)

    def _give_up(self, device_id: str) -> None:
        if self.server is not None:
            self.server.abandon_downlink(device_id)

    async def stop(self) -> None:
        await self.bringup.cancel()
        await self._teardown()
        self.bringup.close_sockets()

    async def _teardown(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()
