"""CTWing (AEP) product and device registry: pure state, the platform's "产品" and "设备管理" pages.

Products carry the access protocol (lwm2m | mqtt | tcp), the authentication kind (IMEI or
feature string, 特征串), the security type (one secret per device 一机一密 / per product 一型一密),
the passthrough (透传) flag and, for LwM2M, the endpoint-name format, DTLS flag, auto-subscribe
and power-saving mode (guide 001 §4.1.1, §4.2.1, §4.3.1, docs/guides.md).

Device IDs: MQTT and TCP devices are ``<productId><deviceNumber>`` (guide 001 §4.2/§4.3, docs/guides.md;
guide 001 §4.2.2: 16891291 + 868543060025186). LwM2M device IDs on the real platform are
32 hex digits (guide 001 §4.1.5.1 shows ``16de006f4994454aacc0b7021f53a2ef``); the emulator
derives a stable one from product ID + IMEI.

Must not: do I/O, read clocks, or know about sockets; timestamps are handed in by the store.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable, Mapping

from ...errors import ConfigError, EmulatorError
from .credentials import (  # re-exported: callers import them from here
    RegistryError, generated_feature_string, generated_psk, lwm2m_device_id, parse_psk, psk_from_hex,
)

PROTOCOLS = ("lwm2m", "mqtt", "tcp")
AUTH_KINDS = ("imei", "feature_string")
SECURITY_KINDS = ("one-per-device", "one-per-product")
ENDPOINT_FORMATS = ("IMEI", "urn:imei:", "urn:imei-imsi:")
POWER_SAVING = ("PSM", "DRX", "eDRX")  # 省电模式 of an LwM2M product (guide 001 §4.1.1)
DOWNLINK_FORMATS = ("opaque", "tlv", "senml-cbor")  # lwm2m/payload_codec.py DOWNLINK_FORMATS
OBSERVE_ACCEPTS = ("tlv", "senml-cbor", "senml-json", "opaque", "cbor", "lwm2m-json", "text")

_IMEI_RE = re.compile(r"^\d{15}$")
_IMSI_RE = re.compile(r"^\d{6,15}$")


class UnknownDeviceError(EmulatorError, KeyError):
    def __init__(self, device_id: str) -> None:
        super().__init__(f"unknown CTWing device {device_id!r}: add it with POST /api/ctwing/devices "
                         f"or the backend config 'devices' list")

    def __str__(self) -> str:
        return self.args[0]


class UnknownProductError(EmulatorError, KeyError):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"unknown CTWing product {product_id!r}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class Product:
    product_id: str
    name: str
    tenant_id: str = "2000033383"
    protocol: str = "lwm2m"
    auth: str = "imei"
    security: str = "one-per-device"
    passthrough: bool = True
    endpoint_format: str = "IMEI"
    dtls: bool = False
    auto_subscribe: bool = True
    power_saving: str = "DRX"  # the guide's advice for trying downlinks (§4.1.1)
    # LwM2M clients other than the EC800E (issue 15; README "LwM2M clients"): how commands are
    # written (opaque on /19/1/0, or tlv / senml-cbor on /19/1/0/0) and the Observe's Accept
    downlink_format: str = "opaque"
    observe_accept: str | None = None
    feature_string: str | None = None  # the shared secret of a one-per-product product

    def __post_init__(self) -> None:
        self.product_id = str(self.product_id)
        self.tenant_id = str(self.tenant_id)
        if not self.product_id.isdigit():
            raise RegistryError(f"product_id {self.product_id!r} must be digits")
        if self.protocol not in PROTOCOLS:
            raise RegistryError(f"protocol {self.protocol!r} not one of {', '.join(PROTOCOLS)}")
        if self.auth not in AUTH_KINDS:
            raise RegistryError(f"auth {self.auth!r} not one of {', '.join(AUTH_KINDS)}")
        if self.security not in SECURITY_KINDS:
            raise RegistryError(f"security {self.security!r} not one of {', '.join(SECURITY_KINDS)}")
        if self.endpoint_format not in ENDPOINT_FORMATS:
            raise RegistryError(f"endpoint_format {self.endpoint_format!r} not one of {', '.join(ENDPOINT_FORMATS)}")
        if self.power_saving not in POWER_SAVING:
            raise RegistryError(f"power_saving {self.power_saving!r} not one of {', '.join(POWER_SAVING)}")
        if self.downlink_format not in DOWNLINK_FORMATS:
            raise RegistryError(f"downlink_format {self.downlink_format!r} not one of {', '.join(DOWNLINK_FORMATS)}")
        if self.observe_accept is not None and self.observe_accept not in OBSERVE_ACCEPTS:
            raise RegistryError(f"observe_accept {self.observe_accept!r} not one of {', '.join(OBSERVE_ACCEPTS)}")
        if self.protocol == "lwm2m" and self.auth != "imei":
            raise RegistryError("LwM2M products only support IMEI authentication (guide 001 §4.1.1)")
        if self.protocol != "lwm2m" and self.auth != "feature_string":
            raise RegistryError(f"{self.protocol} products use feature-string authentication")
        if self.security == "one-per-product" and not self.feature_string and self.protocol != "lwm2m":
            self.feature_string = generated_feature_string("product:" + self.product_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Device:
    device_id: str
    name: str
    product_id: str
    imei: str | None = None
    imsi: str | None = None
    device_number: str | None = None
    password: str | None = None  # feature string (特征串) of a one-per-device device
    psk: bytes | None = None
    psk_identity: str | None = None
    online: bool = False
    last_online: float | None = None
    last_offline: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["psk"] = self.psk.decode("utf-8", "replace") if self.psk else None
        out["psk_hex"] = self.psk.hex() if self.psk else None
        return out


def _only_known(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise RegistryError(f"unknown {what} field(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    return dict(data)


DEFAULT_PRODUCTS: list[dict[str, Any]] = [
    # guide 001 §4.1.1: LwM2M, plain text, IMEI auth, endpoint = IMEI. Power saving PSM: the
    # guide's transcripts (§4.1.3.1, §4.1.3.2, §4.1.4.2) get each downlink right after the
    # AT+QLWUPDATE that "triggers" it, i.e. the platform held it until the device talked.
    {"product_id": "15430077", "name": "smart_meter", "protocol": "lwm2m", "auth": "imei",
     "power_saving": "PSM"},
    # guide 001 §4.1.3.2: DTLS-PSK product, endpoint urn:imei:<IMEI>.
    {"product_id": "16899569", "name": "smart_meter", "protocol": "lwm2m", "auth": "imei",
     "endpoint_format": "urn:imei:", "dtls": True, "power_saving": "PSM"},
    # guide 001 §4.2.1: MQTT, feature string, one secret per device, passthrough.
    {"product_id": "16891291", "name": "smart_device", "protocol": "mqtt", "auth": "feature_string"},
    # guide 001 §4.3: the guide shows only the TCP device 15436586863318069987727; product ID
    # 15436586 is INVENTED here as the device ID's first 8 digits (CTWing product IDs are 8 digits).
    {"product_id": "15436586", "name": "smart_device", "protocol": "tcp", "auth": "feature_string"},
]

DEFAULT_DEVICES: list[dict[str, Any]] = [
    {"product_id": "15430077", "name": "device001", "imei": "868543060974334", "imsi": "460115472446714"},
    # PSK: the hex typed in AT+QLWCONFIG decodes to TYvoiTk34D3NZ6GN (docs/guides.md).
    {"product_id": "16899569", "name": "device001", "imei": "868543060974334", "imsi": "460115472446714",
     "psk": "TYvoiTk34D3NZ6GN"},
    {"product_id": "16891291", "name": "device001", "device_number": "868543060025186",
     "password": "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"},
    # Password with capital I as the login hex spells it (docs/guides.md).
    {"product_id": "15436586", "name": "smart_device", "device_number": "863318069987727",
     "password": "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"},
]


class Registry:
    """Products and devices, in insertion order."""

    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.devices: dict[str, Device] = {}

    # --- construction --------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> "Registry":
        """Defaults (docs/guides.md) then config ``products``/``devices`` (same ID = override).

        ``defaults: false`` starts empty.
        """
        config = dict(config or {})
        reg = cls()
        try:
            if config.get("defaults", True):
                for p in DEFAULT_PRODUCTS:
                    reg.add_product(p)
                for d in DEFAULT_DEVICES:
                    reg.add_device(d)
            for p in config.get("products", []) or []:
                reg.add_product(p, replace=True)
            for d in config.get("devices", []) or []:
                reg.add_device(d, replace=True)
        except RegistryError as exc:
            raise ConfigError(f"ctwing backend config: {exc}") from None
        return reg

    def add_product(self, data: Mapping[str, Any] | Product, replace: bool = False) -> Product:
        if isinstance(data, Product):
            product = data
        else:
            data = _only_known(Product, data, "product")
            pid = str(data.get("product_id", ""))
            if replace and pid in self.products:
                merged = self.products[pid].to_dict()
                merged.update(data)
                data = merged
            for required in ("product_id", "name"):
                if not data.get(required):
                    raise RegistryError(f"product needs {required!r}")
            product = Product(**data)
        if product.product_id in self.products and not replace:
            raise RegistryError(f"product {product.product_id} already exists")
        self.products[product.product_id] = product
        return product

    def add_device(self, data: Mapping[str, Any], replace: bool = False) -> Device:
        """Add a device to a product (the "添加设备" dialog); derives ID, password, PSK."""
        data = _only_known(Device, data, "device")
        pid = str(data.get("product_id", ""))
        product = self.products.get(pid)
        if product is None:
            raise RegistryError(f"device refers to unknown product {pid!r}")
        data["product_id"] = pid
        if replace:
            existing = self.devices.get(self._candidate_id(product, data))
            if existing is not None:
                merged = asdict(existing)
                merged.update(data)
                data = merged
        if product.protocol == "lwm2m":
            imei = str(data.get("imei") or "")
            if not _IMEI_RE.match(imei):
                raise RegistryError(f"LwM2M device needs a 15-digit IMEI, got {imei!r}")
            if data.get("imsi") is not None and not _IMSI_RE.match(str(data["imsi"])):
                raise RegistryError(f"IMSI {data['imsi']!r} must be digits")
            if product.endpoint_format == "urn:imei-imsi:" and not data.get("imsi"):
                raise RegistryError("product uses urn:imei-imsi: endpoints, the device needs an IMSI")
            data.setdefault("device_id", lwm2m_device_id(pid, imei))
            if product.dtls:
                data["psk"] = parse_psk(data.get("psk")) or generated_psk(data["device_id"])
                data.setdefault("psk_identity", imei)
            elif data.get("psk") is not None:
                data["psk"] = parse_psk(data["psk"])
        else:
            number = str(data.get("device_number") or "")
            if not number and str(data.get("device_id") or "").startswith(pid):
                number = str(data["device_id"])[len(pid):]
            if not number or not re.fullmatch(r"[0-9A-Za-z_]+", number):
                raise RegistryError(f"{product.protocol} device needs a device_number (letters, digits, _)")
            data["device_number"] = number
            expected = pid + number
            if data.get("device_id") not in (None, expected):
                raise RegistryError(f"device_id must be product_id + device_number = {expected}")
            data["device_id"] = expected
            if product.security == "one-per-device" and not data.get("password"):
                data["password"] = generated_feature_string(expected)
        data.setdefault("name", data["device_id"])
        device_id = str(data["device_id"])
        if device_id in self.devices and not replace:
            raise RegistryError(f"device {device_id} already exists")
        if product.dtls:  # the PSK is looked up by identity alone, before the endpoint is known
            twin = self.psk_for_identity(str(data["psk_identity"]))
            if twin is not None and twin[0].device_id != device_id:
                raise RegistryError(f"DTLS PSK identity {data['psk_identity']!r} is in use by device "
                                    f"{twin[0].device_id} (product {twin[0].product_id}); "
                                    "identities must be unique")
        device = Device(**data)
        self.devices[device_id] = device
        return device

    @staticmethod
    def _candidate_id(product: Product, data: Mapping[str, Any]) -> str:
        if data.get("device_id"):
            return str(data["device_id"])
        if product.protocol == "lwm2m":
            return lwm2m_device_id(product.product_id, str(data.get("imei") or ""))
        return product.product_id + str(data.get("device_number") or "")

    # --- questions -----------------------------------------------------------------------
    def product(self, product_id: str) -> Product:
        try:
            return self.products[str(product_id)]
        except KeyError:
            raise UnknownProductError(str(product_id)) from None

    def product_of(self, device: Device) -> Product:
        return self.products[device.product_id]

    def device_by_id(self, device_id: str) -> Device | None:
        return self.devices.get(str(device_id))

    def devices_by_imei(self, imei: str, product_id: str | None = None) -> list[Device]:
        """LwM2M devices with this IMEI (one IMEI may be in two products), best first: online
        before offline, and among those the one that came online most recently (the product the
        module last used: a module that rebooted without de-registering leaves its old product's
        registration online until the lifetime ends); never-online devices last."""
        found = [d for d in self.devices.values()
                 if d.imei == imei and (product_id is None or d.product_id == str(product_id))]
        return sorted(found, key=lambda d: (not d.online, d.last_online is None, -(d.last_online or 0.0)))

    def device_by_imei(self, imei: str, product_id: str | None = None) -> Device | None:
        found = self.devices_by_imei(imei, product_id)
        return found[0] if found else None

    def resolve(self, ident: str) -> Device:
        """Device by platform device ID or, for LwM2M devices, IMEI; raises UnknownDeviceError."""
        device = self.device_by_id(ident) or self.device_by_imei(ident)
        if device is None:
            raise UnknownDeviceError(ident)
        return device

    def devices_of(self, product_id: str) -> list[Device]:
        return [d for d in self.devices.values() if d.product_id == str(product_id)]

    def expected_secret(self, device: Device) -> str | None:
        """The feature string a device must present (its own, or the product's for 一型一密)."""
        product = self.product_of(device)
        return product.feature_string if product.security == "one-per-product" else device.password

    def check_feature_string(self, device_id: str, password: str | None, protocol: str) -> str:
        """Authenticate an MQTT/TCP login: ``"ok"``, ``"unknown"`` (not registered) or ``"auth"``."""
        device = self.device_by_id(device_id)
        if device is None or self.product_of(device).protocol != protocol:
            return "unknown"
        secret = self.expected_secret(device)
        return "ok" if secret is not None and password == secret else "auth"

    def lwm2m_device_for_endpoint(self, endpoint: str) -> tuple[Device, Product] | None:
        """The LwM2M device an endpoint name registers as, honouring the product's endpoint format.

        ``<IMEI>`` / ``urn:imei:<IMEI>`` / ``urn:imei-imsi:<IMEI>-<IMSI>`` (guide 001 §4.1.1); an
        endpoint whose shape differs from its product's format is refused (None).
        """
        if endpoint.startswith("urn:imei-imsi:"):
            fmt = "urn:imei-imsi:"
            imei, _, imsi = endpoint[len(fmt):].partition("-")
        elif endpoint.startswith("urn:imei:"):
            fmt, imei, imsi = "urn:imei:", endpoint[len("urn:imei:"):], None
        else:
            fmt, imei, imsi = "IMEI", endpoint, None
        if not _IMEI_RE.match(imei):
            return None
        for device in self.devices.values():
            product = self.products[device.product_id]
            if product.protocol != "lwm2m" or device.imei != imei or product.endpoint_format != fmt:
                continue
            if fmt == "urn:imei-imsi:" and device.imsi != imsi:
                continue
            return device, product
        return None

    def lwm2m_endpoint_of(self, device: Device) -> str:
        fmt = self.product_of(device).endpoint_format
        if fmt == "urn:imei:":
            return f"urn:imei:{device.imei}"
        if fmt == "urn:imei-imsi:":
            return f"urn:imei-imsi:{device.imei}-{device.imsi}"
        return str(device.imei)

    def psk_for_identity(self, identity: str | bytes) -> tuple[Device, bytes] | None:
        """DTLS-PSK lookup for the LwM2M server: identity (= IMEI by default) -> (device, PSK)."""
        if isinstance(identity, bytes):
            identity = identity.decode("utf-8", "replace")
        for device in self.devices.values():
            if device.psk and self.products[device.product_id].dtls and device.psk_identity == identity:
                return device, device.psk
        return None

    def all_devices(self) -> Iterable[Device]:
        return list(self.devices.values())
