"""ThingPlug registry: services, their device descriptor, and devices with their tokens.

The portal side of SKT ThingPlug 2.0 as the WIZnet guide (seed 000, "디바이스 명세 작성" /
"디바이스 등록") walks through it: a *service* (``smarthome``) owns a *device descriptor*
(attributes with ``commandable``, telemetries with ``tag``) and *devices* (``smartlight001``),
each with a device token that is the MQTT user name (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame "Credentials").
Here there is one descriptor per service (the portal allows several; the guide uses one).

Config (a dict from YAML) adds to or replaces the defaults::

    defaults: true            # false = start empty
    services:
      smarthome:
        descriptor: {attributes: [{name: LED, commandable: true}], telemetries: [{name: temperature}]}
        devices:
          smartlight001: {token: a0149f60b---------}
          lamp2: {}           # token issued

A service named in config replaces the default descriptor if it gives one; devices are added or
replaced by name.

Must not: do I/O, read the clock, or know about MQTT/HTTP.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from ...errors import EmulatorError

DEFAULT_SERVICE = "smarthome"
DEFAULT_DEVICE = "smartlight001"
DEFAULT_TOKEN = "a0149f60b---------"  # the guide's token, as printed (seed 000 §"Cat.M1 디바이스로 ...")
DEFAULT_DESCRIPTOR: dict[str, Any] = {  # the guide's descriptor JSON (seed 000 §"디바이스 명세 작성")
    "attributes": [{"name": "LED", "commandable": True}],
    "telemetries": [{"name": "temperature", "tag": "temperature"}, {"name": "humidity", "tag": "humidity"}],
}

_BAD_NAME_CHARS = set("/+#") | {" ", "\t", "\r", "\n", "\0"}


class ThingPlugError(EmulatorError):
    """Base of the ThingPlug platform's own errors (the API maps them to HTTP codes)."""


class NotFoundError(ThingPlugError, LookupError):
    """Unknown service, device or RPC (HTTP 404)."""


class InvalidError(ThingPlugError, ValueError):
    """Malformed request: bad descriptor, bad name, non-commandable attribute (HTTP 400)."""


class ConflictError(ThingPlugError):
    """Name or token already taken (HTTP 409)."""


def check_name(kind: str, name: Any) -> str:
    """Service and device names end up as MQTT topic levels: no '/', '+', '#', blanks."""
    if not isinstance(name, str) or not name or any(c in _BAD_NAME_CHARS for c in name):
        raise InvalidError(f"bad {kind} name {name!r}: a non-empty string without '/', '+', '#' or blanks")
    return name


@dataclass
class Attribute:
    name: str
    commandable: bool = False


@dataclass
class Telemetry:
    name: str
    tag: str = ""


@dataclass
class Descriptor:
    """Column order matters: it is the CSV/OFFSET column order (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame CSV example)."""

    attributes: list[Attribute] = field(default_factory=list)
    telemetries: list[Telemetry] = field(default_factory=list)

    @classmethod
    def from_json(cls, obj: Any) -> "Descriptor":
        """Accept the plain form or the portal's ``{"format":"json","jsonForm":{...}}`` wrapper."""
        if isinstance(obj, Mapping) and "jsonForm" in obj:
            if obj.get("format", "json") != "json":
                raise InvalidError(f"descriptor format {obj.get('format')!r} not supported (only 'json')")
            obj = obj["jsonForm"]
        if not isinstance(obj, Mapping):
            raise InvalidError("descriptor must be an object with 'attributes' and 'telemetries' lists")
        unknown = set(obj) - {"attributes", "telemetries"}
        if unknown:
            raise InvalidError(f"descriptor has unknown keys {sorted(unknown)}; expected attributes, telemetries")
        attrs = [_attribute(a) for a in _list(obj, "attributes")]
        tels = [_telemetry(t) for t in _list(obj, "telemetries")]
        names = [a.name for a in attrs] + [t.name for t in tels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidError(f"descriptor names must be unique; repeated: {dupes}")
        if "ts" in names:
            raise InvalidError("'ts' is reserved for the telemetry timestamp")
        return cls(attrs, tels)

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": [{"name": a.name, "commandable": a.commandable} for a in self.attributes],
            "telemetries": [{"name": t.name, "tag": t.tag} for t in self.telemetries],
        }

    def columns(self, kind: str) -> list[str]:
        """Names in descriptor order for ``telemetry`` or ``attribute`` payloads."""
        if kind == "telemetry":
            return [t.name for t in self.telemetries]
        if kind == "attribute":
            return [a.name for a in self.attributes]
        raise InvalidError(f"unknown data kind {kind!r}")

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise InvalidError(f"descriptor {key!r} must be a list")
    return value


def _attribute(obj: Any) -> Attribute:
    if isinstance(obj, str):
        return Attribute(check_name("attribute", obj))
    if not isinstance(obj, Mapping) or "name" not in obj:
        raise InvalidError(f"attribute entry {obj!r} needs a 'name'")
    commandable = obj.get("commandable", False)
    if not isinstance(commandable, bool):
        raise InvalidError(f"attribute {obj['name']!r}: 'commandable' must be true or false")
    return Attribute(check_name("attribute", obj["name"]), commandable)


def _telemetry(obj: Any) -> Telemetry:
    if isinstance(obj, str):
        return Telemetry(check_name("telemetry", obj), obj)
    if not isinstance(obj, Mapping) or "name" not in obj:
        raise InvalidError(f"telemetry entry {obj!r} needs a 'name'")
    name = check_name("telemetry", obj["name"])
    tag = obj.get("tag", name)
    if not isinstance(tag, str):
        raise InvalidError(f"telemetry {name!r}: 'tag' must be a string")
    return Telemetry(name, tag)


@dataclass
class Device:
    service: str
    name: str
    token: str

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "name": self.name, "token": self.token}


@dataclass
class Service:
    name: str
    descriptor: Descriptor
    devices: dict[str, Device] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "descriptor": self.descriptor.to_json(), "devices": sorted(self.devices)}


class Registry:
    """Services, descriptors and devices; device lookup by token."""

    def __init__(self) -> None:
        self._services: dict[str, Service] = {}
        self._tokens: dict[str, Device] = {}
        self._issued = 0

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> "Registry":
        config = dict(config or {})
        reg = cls()
        if config.get("defaults", True):
            reg.create_service(DEFAULT_SERVICE, DEFAULT_DESCRIPTOR)
            reg.create_device(DEFAULT_SERVICE, DEFAULT_DEVICE, DEFAULT_TOKEN)
        services = config.get("services") or {}
        if not isinstance(services, Mapping):
            raise InvalidError("thingplug config 'services' must be a mapping of service name -> settings")
        for svc_name, spec in services.items():
            spec = dict(spec or {})
            if svc_name in reg._services:
                if "descriptor" in spec:
                    reg.put_descriptor(svc_name, spec["descriptor"])
            else:
                reg.create_service(svc_name, spec.get("descriptor"))
            devices = spec.get("devices") or {}
            if not isinstance(devices, Mapping):
                raise InvalidError(f"service {svc_name!r}: 'devices' must be a mapping of device name -> settings")
            for dev_name, dev_spec in devices.items():
                token = (dev_spec or {}).get("token")
                if dev_name in reg._services[svc_name].devices:
                    reg.delete_device(svc_name, dev_name)
                reg.create_device(svc_name, dev_name, token)
        return reg

    # --- services --------------------------------------------------------------------------
    def create_service(self, name: str, descriptor: Any = None) -> Service:
        check_name("service", name)
        if name in self._services:
            raise ConflictError(f"service {name!r} already exists")
        desc = Descriptor() if descriptor is None else Descriptor.from_json(descriptor)
        service = self._services[name] = Service(name, desc)
        return service

    def services(self) -> list[Service]:
        return [self._services[k] for k in sorted(self._services)]

    def get_service(self, name: str) -> Service:
        try:
            return self._services[name]
        except KeyError:
            raise NotFoundError(
                f"unknown service {name!r}; known: {', '.join(sorted(self._services)) or '(none)'}"
            ) from None

    def put_descriptor(self, service: str, descriptor: Any) -> Descriptor:
        svc = self.get_service(service)
        svc.descriptor = Descriptor.from_json(descriptor)
        return svc.descriptor

    # --- devices ---------------------------------------------------------------------------
    def create_device(self, service: str, name: str, token: str | None = None) -> Device:
        svc = self.get_service(service)
        check_name("device", name)
        if name in svc.devices:
            raise ConflictError(f"device {name!r} already exists in service {service!r}")
        if token is None:
            token = self._issue_token(service, name)
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise InvalidError(f"bad token {token!r}: a non-empty string without blanks")
        if token in self._tokens:
            raise ConflictError("token already belongs to another device")
        device = svc.devices[name] = Device(service, name, token)
        self._tokens[token] = device
        return device

    def set_token(self, service: str, name: str, token: str | None = None) -> tuple[Device, str]:
        """Give a device a new token (issued when None); returns (device, old token). The old
        token stops authenticating at once."""
        device = self.get_device(service, name)
        if token is None:
            token = self._issue_token(service, name)
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise InvalidError(f"bad token {token!r}: a non-empty string without blanks")
        owner = self._tokens.get(token)
        if owner is not None and owner is not device:
            raise ConflictError("token already belongs to another device")
        old, device.token = device.token, token
        self._tokens.pop(old, None)
        self._tokens[token] = device
        return device, old

    def delete_device(self, service: str, name: str) -> None:
        device = self.get_device(service, name)
        del self._services[service].devices[name]
        self._tokens.pop(device.token, None)

    def get_device(self, service: str, name: str) -> Device:
        svc = self.get_service(service)
        try:
            return svc.devices[name]
        except KeyError:
            raise NotFoundError(
                f"unknown device {name!r} in service {service!r}; known: {', '.join(sorted(svc.devices)) or '(none)'}"
            ) from None

    def device_by_token(self, token: str | None) -> Device | None:
        return self._tokens.get(token) if token else None

    def _issue_token(self, service: str, name: str) -> str:
        # Deterministic (same registry history -> same tokens), hex like the portal's tokens.
        while True:
            self._issued += 1
            token = hashlib.sha256(f"thingplug/{service}/{name}/{self._issued}".encode()).hexdigest()[:32]
            if token not in self._tokens:
                return token
