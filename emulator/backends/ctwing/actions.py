"""CTWing platform actions, written once: which device an identifier means, and queueing a command.

The console API (``api.py``: ``POST /api/ctwing/devices/{id}/commands``) and the scenario action
``ctwing.queue_command`` (``backend.py``, reached through ``emulator/control.py``
``Control.platform`` from scenarios and the test harness) both call :func:`queue_command`; every
device lookup of the API and the scenario actions goes through :func:`resolve_devices`.

The device rule (README "Console API": ``{id}`` is the device ID or, for LwM2M devices, the
IMEI): by platform device ID; else by IMEI, best first (online before offline, then the one
online most recently, never-online last: ``Registry.devices_by_imei``). One IMEI may be a device
in two LwM2M products (guide 001 §4.1.3.1 and §4.1.3.2 use the same module); ``product``
narrows the choice to one product.

Errors are typed, and each caller maps them: :class:`~.registry.UnknownDeviceError` (a
``LookupError``; HTTP 404), :class:`BadCommandBody` (a ``ValueError`` about the body's shape;
HTTP 422), any other ``ValueError`` (a value the platform refuses: bad hex, empty or oversized
payload, ttl out of range, IMEI not in the given product; HTTP 400). A scenario step reports
them as its failure message.

Must not: know HTTP or scenarios, do I/O, or decide delivery (the command model does).
"""

from __future__ import annotations

import binascii
from typing import Any, Mapping

from .models import Command, check_ttl
from .registry import Device, Registry, UnknownDeviceError
from .store import Store

BODY_SHAPE = "body must be a JSON object with 'payload' (text) or 'payload_hex' (hex)"


class BadCommandBody(ValueError):
    """The command body has the wrong shape (not an object, or neither payload key)."""


def resolve_devices(registry: Registry, ident: str, product: str | None = None) -> list[Device]:
    """The device(s) ``ident`` means, best first (module docstring); never empty.

    UnknownDeviceError when nothing has that ID or IMEI (without ``product``); ValueError when
    ``product`` is given and has no such device."""
    ident = str(ident)
    product = None if product is None else str(product)
    by_id = registry.device_by_id(ident)
    if by_id is not None and product in (None, by_id.product_id):
        return [by_id]
    found = registry.devices_by_imei(ident, product)
    if found:
        return found
    if product is None:
        raise UnknownDeviceError(ident)
    raise ValueError(f"ctwing: no device {ident!r} in product {product}")


def resolve_device(registry: Registry, ident: str, product: str | None = None) -> Device:
    """The one device ``ident`` means (the first of :func:`resolve_devices`)."""
    return resolve_devices(registry, ident, product)[0]


def command_payload(body: Mapping[str, Any]) -> bytes:
    """``{"payload": text}`` (UTF-8) or ``{"payload_hex": hex}``; ValueError otherwise."""
    if not isinstance(body, Mapping):
        raise BadCommandBody(BODY_SHAPE)
    if "payload_hex" in body and body["payload_hex"] is not None:
        text = str(body["payload_hex"]).replace(" ", "")
        try:
            data = binascii.unhexlify(text)
        except (binascii.Error, ValueError):
            raise ValueError(f"payload_hex {body['payload_hex']!r} is not valid hex") from None
    elif "payload" in body and body["payload"] is not None:
        data = str(body["payload"]).encode("utf-8")
    else:
        raise ValueError("give 'payload' (text) or 'payload_hex' (hex)")
    if not data:
        raise ValueError("command payload is empty")
    return data


def queue_command(registry: Registry, store: Store, ident: str, body: Mapping[str, Any],
                  product: str | None = None) -> Command:
    """Queue the command ``body`` (``payload`` | ``payload_hex``, ``ttl``?) for the device
    ``ident`` means; the one implementation of 指令下发 (guide 001 §4.1.5.2).

    Checks in this order, so a caller sees the same error for the same input: the device
    (UnknownDeviceError / ValueError with ``product``), the body's shape (BadCommandBody), then
    the values (ValueError: payload, ttl, size)."""
    device = resolve_device(registry, ident, product)
    if not isinstance(body, Mapping) or not {"payload", "payload_hex"} & set(body):
        raise BadCommandBody(BODY_SHAPE)
    payload = command_payload(body)
    ttl = check_ttl(body.get("ttl"))
    return store.queue_command(device.device_id, payload, ttl)
