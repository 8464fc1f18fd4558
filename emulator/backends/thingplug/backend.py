"""Wiring of the embedded SKT ThingPlug platform: model + broker + console API + scenario actions.

Endpoints: ``thingplug_mqtt`` (default port 21883) and ``thingplug_mqtts`` (28883), 0 with
``--ephemeral-ports``. On the fake internet the brokers answer as ``test.sktiot.com`` (1883 MQTT,
8883 MQTTS) and ``api.sktiot.com`` (1883, 8883) (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame "Brokers"). The DNS addresses
given for them are INVENTED (TEST-NET-2, 198.51.100.0/24): the real ones are not in our sources.

Config keys (``backends: {thingplug: {...}}``): ``ports`` (``thingplug_mqtt``/``thingplug_mqtts``),
``defaults``/``services`` (see ``registry.py``).

Start-up: ``start()`` binds both listening sockets; amqtt (``broker.py``) is imported and
attached to them then, or with ``attach_later`` in a task right after (``../prebind.py``):
a client that connects meanwhile waits in the backlog.

Must not: hold platform rules (``models.py``) or amqtt details (``broker.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Mapping

from typing import TYPE_CHECKING

from ...errors import ConfigError
from ..base import LOOPBACK, Backend, BackendContext, Endpoint, ScenarioAction
from ..prebind import BringUp, endpoint, import_in_thread, listen_tcp
from .models import Downlink, ThingPlugModel
from .registry import Registry, ThingPlugError
from .store import Rpc

if TYPE_CHECKING:  # pragma: no cover
    from .broker import ThingPlugBroker

HOSTS = {"test.sktiot.com": "198.51.100.71", "api.sktiot.com": "198.51.100.72"}  # invented addresses
MQTT_PORT, MQTTS_PORT = 1883, 8883
CONFIG_KEYS = {"ports", "defaults", "services", "enabled"}
# Scenario checks wait this long (wall seconds) for the broker's fire-and-forget ingest hooks:
# a modem's OK follows the PUBACK, which amqtt sends before its hook has stored the data.
SETTLE = 1.0


class ThingPlugBackend(Backend):
    name = "thingplug"

    def __init__(self, config: Mapping[str, Any] | None, ctx: BackendContext) -> None:
        super().__init__(config, ctx)
        unknown = set(self.config) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"thingplug: unknown config keys {sorted(unknown)}; valid: {sorted(CONFIG_KEYS)}")
        try:
            self.registry = Registry.from_config(self.config)
        except ThingPlugError as exc:
            raise ConfigError(f"thingplug config: {exc}") from None
        self.model = ThingPlugModel(self.registry, now=ctx.clock.now)
        self.model.events = ctx.publish
        self.broker: ThingPlugBroker | None = None
        self._starting: ThingPlugBroker | None = None  # attached to the sockets, not serving yet
        self.bringup = BringUp()
        self.ca_file: str | None = None
        self.endpoints: dict[str, Endpoint] = {}

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> dict[str, Endpoint]:
        endpoints = await self._start(self.port_for("thingplug_mqtt", 21883),
                                      self.port_for("thingplug_mqtts", 28883), later=self.ctx.attach_later)
        internet = self.ctx.internet
        for host, address in HOSTS.items():
            internet.add_name(host, address)
            for name in (host, address):
                internet.add_route(name, MQTT_PORT, endpoints["thingplug_mqtt"], "thingplug mqtt")
                internet.add_route(name, MQTTS_PORT, endpoints["thingplug_mqtts"], "thingplug mqtts")
        return endpoints

    async def set_running(self, running: bool) -> bool:
        """Console: stop the broker (a platform outage: connected clients lose their connection,
        new ones are refused) or start it again on the same ports (ready file and routes stay
        valid; a new self-signed certificate, which the emulated modems trust)."""
        if self.bringup.pending:
            if not running:
                await self.stop()
                return False
            await self.ready()
        if running and self.broker is None:
            ports = {key: port for key, (_, port) in self.endpoints.items()}
            await self._start(ports.get("thingplug_mqtt", 0), ports.get("thingplug_mqtts", 0), later=False)
        elif not running and self.broker is not None:
            await self.stop()
        return self.broker is not None

    async def _start(self, mqtt_port: int, mqtts_port: int, *, later: bool) -> dict[str, Endpoint]:
        plain = listen_tcp(LOOPBACK, mqtt_port)
        try:
            tls = listen_tcp(LOOPBACK, mqtts_port)
        except BaseException:
            plain.close()
            raise
        self.endpoints = {"thingplug_mqtt": endpoint(plain), "thingplug_mqtts": endpoint(tls)}

        async def attach() -> None:
            await import_in_thread(f"{__package__}.broker")
            from .broker import ThingPlugBroker
            self._starting = ThingPlugBroker(self.model, host=LOOPBACK, clock=self.ctx.clock)
            await self._starting.start(sockets={"default": plain, "mqtts": tls})
            self.broker, self._starting = self._starting, None
            self.ca_file = self.broker.ca_file
        await self.bringup.start("ThingPlug MQTT broker", attach, [plain, tls], cleanup=self._teardown, later=later)
        # routes are set once in start(): a restart binds the same ports, so user routes and
        # standing faults on these hosts stay as they are
        return dict(self.endpoints)

    async def ready(self) -> None:
        await self.bringup.wait()

    async def stop(self) -> None:
        await self.bringup.cancel()
        await self._teardown()
        self.bringup.close_sockets()

    async def _teardown(self) -> None:
        for broker in (self._starting, self.broker):
            if broker is not None:
                await broker.stop()
        self._starting = self.broker = None

    def reset(self) -> None:
        self.model.reset()

    # --- platform operations: the one function per action; the console API routes (api.py) and
    # the scenario actions below both call these, the model checks device and values (typed
    # NotFoundError -> 404 / InvalidError -> 400 on the API, the step's failure in a scenario)
    async def send_rpc(self, service: str, device: str, method: str, params: Any = None, mode: str = "twoway") -> Rpc:
        """Create an RPC and publish it on /down; ``pending`` once a subscribed device gets it."""
        downlink = self.model.send_rpc(service, device, method, params, mode)
        if self.broker is not None and self.broker.device_subscribed(service, device):
            await self._publish(downlink)
            self.model.rpc_delivered(downlink.rpc.id)
        # else: stays "initiated" and goes out when the device subscribes to its /down topic
        return downlink.rpc

    async def set_attribute(self, service: str, device: str, attributes: dict[str, Any]) -> dict[str, Any]:
        downlink = self.model.set_attribute(service, device, attributes)
        if self.broker is not None:
            await self._publish(downlink)
        return downlink.message

    async def set_token(self, service: str, device: str, token: str | None = None) -> Any:
        """New token for a device; clients still logged in with the old one are disconnected."""
        dev, old = self.registry.set_token(service, device, token)
        if self.broker is not None and old != dev.token:
            await self.broker.kick(old)
        return dev

    async def delete_device(self, service: str, device: str) -> None:
        """Remove a device; clients logged in with its token are disconnected."""
        token = self.registry.get_device(service, device).token
        self.registry.delete_device(service, device)
        if self.broker is not None:
            await self.broker.kick(token)

    async def _publish(self, downlink: Downlink) -> None:
        await self.broker.publish(downlink.topic, downlink.payload)

    # --- console API / scenarios -----------------------------------------------------------------
    def api_router(self) -> Any:
        from .api import build_router

        return build_router(self)

    def scenario_actions(self) -> list[ScenarioAction]:
        return [
            ScenarioAction("send_rpc", self._act_send_rpc,
                           "{service, device, method, params, rpcMode?} -> rpc id (published on /down)"),
            ScenarioAction("set_attribute", self._act_set_attribute,
                           "{service, device, attributes: {LED: on}} -> cmdId (setAttribute on /down)"),
            ScenarioAction("expect_telemetry", self._settled(self._act_expect_telemetry),
                           "{service, device, data: {...}} -> the first stored point whose data contains it"),
            ScenarioAction("expect_attribute", self._settled(self._act_expect_attribute),
                           "{service, device, attributes|data: {...}} -> current attributes if they contain it"),
            ScenarioAction("rpc_status", self._settled(self._act_rpc_status),
                           "{id, status?} -> {status, result}; fails unless the status is the given one"),
        ]

    @staticmethod
    def _settled(check: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Any]:
        """Retry a check that raises AssertionError for up to SETTLE wall seconds (real I/O only)."""
        async def run(args: Mapping[str, Any]) -> Any:
            loop = asyncio.get_running_loop()
            end = loop.time() + SETTLE
            while True:
                try:
                    return check(args)
                except AssertionError:
                    if loop.time() >= end:
                        raise
                await asyncio.sleep(0.01)
        return run

    @staticmethod
    def _target(args: Mapping[str, Any]) -> tuple[str, str]:
        from .registry import DEFAULT_DEVICE, DEFAULT_SERVICE

        return str(args.get("service", DEFAULT_SERVICE)), str(args.get("device", DEFAULT_DEVICE))

    async def _act_send_rpc(self, args: Mapping[str, Any]) -> int:
        service, device = self._target(args)
        rpc = await self.send_rpc(service, device, args.get("method", "tp_user"), args.get("params"),
                                  args.get("rpcMode", "twoway"))
        return rpc.id

    async def _act_set_attribute(self, args: Mapping[str, Any]) -> int:
        service, device = self._target(args)
        attrs = args.get("attributes", args.get("attribute"))
        # not a mapping (or none): passed on as is, the model refuses it with its InvalidError
        message = await self.set_attribute(service, device, dict(attrs) if isinstance(attrs, Mapping) else attrs)
        return message["cmdId"]

    def _act_expect_telemetry(self, args: Mapping[str, Any]) -> dict[str, Any]:
        service, device = self._target(args)
        self.registry.get_device(service, device)
        want = dict(args.get("data") or {})
        points = self.model.store.telemetry(service, device)
        for point in points:
            if all(k in point["data"] and point["data"][k] == v for k, v in want.items()):
                return point
        raise AssertionError(
            f"thingplug: no telemetry of {service}/{device} contains {want}; stored: "
            f"{[p['data'] for p in points] or 'nothing'}; rejected: {[e['reason'] for e in self.model.store.errors(service, device)]}"
        )

    def _act_expect_attribute(self, args: Mapping[str, Any]) -> dict[str, Any]:
        service, device = self._target(args)
        self.registry.get_device(service, device)
        want = dict(args.get("attributes", args.get("data")) or {})
        have = self.model.store.attributes(service, device)
        missing = {k: v for k, v in want.items() if k not in have or have[k] != v}
        if missing:
            raise AssertionError(f"thingplug: attributes of {service}/{device} are {have}, expected to contain {want}")
        return have

    def _act_rpc_status(self, args: Mapping[str, Any]) -> dict[str, Any]:
        rpc = self.model.store.get_rpc(int(args["id"]))
        want = args.get("status")
        if want is not None and rpc.status != want:
            raise AssertionError(f"thingplug: rpc {rpc.id} is {rpc.status!r}, expected {want!r} (result {rpc.result!r})")
        return {"status": rpc.status, "result": rpc.result}
