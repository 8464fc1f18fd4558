"""LwM2M content formats of the CTWing resources: notifications in, Write bodies out.

Uplink: the device's notification of /19/0/0 (an Opaque, multiple-instance resource in the OMA
registry, object 19 "BinaryAppDataContainer") arrives in whatever format its stack picks:
opaque (42, EC800E), TLV (11542, LwM2M 1.0 stacks: Wakaama, Anjay 1.0 mode), SenML CBOR (112)
or SenML JSON (110, LwM2M 1.1+), CBOR (60, 1.2), LwM2M JSON (11543, 1.0) or text (0).
:func:`application_bytes` returns the application data inside -- what CTWing shows as base64.
Downlink: :func:`write_request` builds the Write for a product's ``downlink_format``.

Sources: OMA-TS-LightweightM2M-V1_0 §6.4.1 (plain text: Opaque is base64), §6.4.3 (TLV),
§6.4.4 (JSON, Opaque as "sv" base64); V1_1 Core §7.4.4-§7.4.7 (SenML JSON/CBOR, "vd" for
Opaque), V1_2 §7.4.6 (CBOR: a single value, Opaque as a byte string); RFC 8428 §4.3 (SenML
JSON "vd" is base64url without padding), §4.5.1 (name = base name + name), §6 (CBOR labels
bn=-2, n=0, vd=8). CBOR is cbor2, JSON the standard library. TLV has no maintained Python codec
on PyPI (checked: none for LwM2M TLV), so the small encoder/decoder below is ours (hypothesis
round-trip tests in tests/backends/lwm2m/test_lwm2m_payload_codec.py).

Must not: do I/O or know CoAP messages or the platform's stores.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

import cbor2

TEXT, OPAQUE, CBOR, SENML_JSON, SENML_CBOR, TLV, LWM2M_JSON = 0, 42, 60, 110, 112, 11542, 11543
FORMAT_NAMES = {TEXT: "text/plain", OPAQUE: "application/octet-stream", CBOR: "application/cbor",
                SENML_JSON: "application/senml+json", SENML_CBOR: "application/senml+cbor",
                TLV: "application/vnd.oma.lwm2m+tlv", LWM2M_JSON: "application/vnd.oma.lwm2m+json"}
# a product's downlink_format -> (Content-Format, whether the Write goes to resource instance /0)
DOWNLINK_FORMATS = {"opaque": (OPAQUE, False), "tlv": (TLV, True), "senml-cbor": (SENML_CBOR, True)}
ACCEPT_FORMATS = {"tlv": TLV, "senml-cbor": SENML_CBOR, "senml-json": SENML_JSON, "opaque": OPAQUE,
                  "cbor": CBOR, "lwm2m-json": LWM2M_JSON, "text": TEXT}


class PayloadError(ValueError):
    """A payload that does not decode as its Content-Format says."""


# ---------------------------------------------------------------------------- TLV (1.0 §6.4.3)

OBJECT_INSTANCE, RESOURCE_INSTANCE, MULTIPLE_RESOURCE, RESOURCE = 0, 1, 2, 3


@dataclass
class TlvEntry:
    """One TLV: ``kind`` (OBJECT_INSTANCE/RESOURCE_INSTANCE/MULTIPLE_RESOURCE/RESOURCE), its
    identifier, and either ``value`` (RESOURCE_INSTANCE/RESOURCE) or ``children``."""

    kind: int
    ident: int
    value: bytes = b""
    children: list["TlvEntry"] = field(default_factory=list)


def encode_tlv(entries: list[TlvEntry]) -> bytes:
    out = bytearray()
    for e in entries:
        if not 0 <= e.ident <= 0xFFFF:
            raise PayloadError(f"TLV identifier {e.ident} out of range")
        body = encode_tlv(e.children) if e.kind in (OBJECT_INSTANCE, MULTIPLE_RESOURCE) else bytes(e.value)
        n = len(body)
        if n >= 1 << 24:
            raise PayloadError("TLV value longer than 2^24-1 bytes")
        # type byte: bits 7-6 kind, bit 5 identifier length (16 bits), bits 4-3 length size, 2-0 length
        ltype = 0 if n < 8 else 1 if n < 1 << 8 else 2 if n < 1 << 16 else 3
        out.append(e.kind << 6 | (0x20 if e.ident > 0xFF else 0) | ltype << 3 | (n if ltype == 0 else 0))
        out += e.ident.to_bytes(2 if e.ident > 0xFF else 1, "big")
        if ltype:
            out += n.to_bytes(ltype, "big")
        out += body
    return bytes(out)


def decode_tlv(data: bytes) -> list[TlvEntry]:
    entries, pos = [], 0
    while pos < len(data):
        t = data[pos]
        kind, id_len, ltype = t >> 6, 2 if t & 0x20 else 1, (t >> 3) & 0x03
        head = pos + 1 + id_len + ltype
        if head > len(data):
            raise PayloadError(f"TLV truncated in the header at byte {pos}")
        ident = int.from_bytes(data[pos + 1:pos + 1 + id_len], "big")
        n = int.from_bytes(data[pos + 1 + id_len:head], "big") if ltype else t & 0x07
        if head + n > len(data):
            raise PayloadError(f"TLV at byte {pos} says {n} bytes, {len(data) - head} follow")
        body = bytes(data[head:head + n])
        if kind in (OBJECT_INSTANCE, MULTIPLE_RESOURCE):
            entries.append(TlvEntry(kind, ident, children=decode_tlv(body)))
        else:
            entries.append(TlvEntry(kind, ident, value=body))
        pos = head + n
    return entries


def _tlv_value(entries: list[TlvEntry], resource: int) -> bytes:
    """The value of ``resource`` (its instance 0, else its lowest instance) in a TLV read or
    notification of an object instance, a resource or a multiple resource."""
    for e in entries:
        if e.kind == OBJECT_INSTANCE:
            return _tlv_value(e.children, resource)
        if e.kind == RESOURCE and e.ident == resource:
            return e.value
        if e.kind == MULTIPLE_RESOURCE and e.ident == resource:
            return _first_instance(e.children)
    instances = [e for e in entries if e.kind == RESOURCE_INSTANCE]
    if instances:  # a read of /19/0/0 may list the instances without the enclosing resource
        return _first_instance(instances)
    raise PayloadError(f"TLV has no value for resource {resource}")


def _first_instance(instances: list[TlvEntry]) -> bytes:
    if not instances:
        raise PayloadError("TLV multiple resource without instances")
    return min(instances, key=lambda e: e.ident).value


# ---------------------------------------------------------------------------- SenML / JSON


def _senml_value(records: list, path: tuple[int, ...], labels: dict[str, object]) -> bytes:
    """Resolve names (RFC 8428 §4.5.1: base name + name) and return the data of ``path``/0 or
    ``path`` (else the first record carrying data)."""
    if not isinstance(records, list) or not records:
        raise PayloadError("SenML payload is not a non-empty array of records")
    want = "/" + "/".join(map(str, path))
    base, found = "", []
    for rec in records:
        if not isinstance(rec, dict):
            raise PayloadError("SenML record is not a map")
        if labels["bn"] in rec:
            base = str(rec[labels["bn"]])
        name = base + str(rec.get(labels["n"], ""))
        if labels["vd"] in rec:
            found.append((name, _senml_data(rec[labels["vd"]])))
        elif labels["vs"] in rec:
            found.append((name, str(rec[labels["vs"]]).encode()))
    if not found:
        raise PayloadError("SenML payload carries no data value (vd) or string value (vs)")
    for target in (want + "/0", want):
        for name, value in found:
            if name == target:
                return value
    return found[0][1]


def _senml_data(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)  # SenML CBOR: a byte string
    if isinstance(value, str):  # SenML JSON: base64url, padding omitted (RFC 8428 §4.3)
        return _b64(value, urlsafe=True)
    raise PayloadError(f"SenML vd is a {type(value).__name__}, not data")


def _b64(text: str, urlsafe: bool = False) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"not base64: {exc}") from None


_SENML_JSON_LABELS = {"bn": "bn", "n": "n", "vd": "vd", "vs": "vs"}
_SENML_CBOR_LABELS = {"bn": -2, "n": 0, "vd": 8, "vs": 3}


def application_bytes(content_format: int | None, payload: bytes, path: tuple[int, ...] = (19, 0, 0)) -> bytes:
    """The application data of a notification/read of Opaque resource ``path``; raises
    :class:`PayloadError` when ``payload`` is not what ``content_format`` says."""
    payload = bytes(payload)
    if content_format in (None, OPAQUE):
        return payload
    if content_format == TLV:
        return _tlv_value(decode_tlv(payload), path[-1])
    if content_format in (SENML_CBOR, CBOR):
        try:
            value = cbor2.loads(payload)
        except Exception as exc:  # noqa: BLE001 - cbor2 raises several types for bad input
            raise PayloadError(f"not CBOR: {exc}") from None
        if content_format == SENML_CBOR:
            return _senml_value(value, path, _SENML_CBOR_LABELS)
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode()
        raise PayloadError(f"CBOR value is a {type(value).__name__}, not Opaque data")
    if content_format in (SENML_JSON, LWM2M_JSON):
        try:
            doc = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PayloadError(f"not JSON: {exc}") from None
        if content_format == SENML_JSON:
            return _senml_value(doc, path, _SENML_JSON_LABELS)
        if not isinstance(doc, dict) or not isinstance(doc.get("e"), list):
            raise PayloadError('LwM2M JSON without an "e" array')
        records = [dict(e, bn=doc.get("bn", "")) if i == 0 else e for i, e in enumerate(doc["e"])]
        # 1.0 §6.4.4: Opaque values are "sv" strings in base64
        return _b64(_senml_value(records, path, {"bn": "bn", "n": "n", "vd": "\0", "vs": "sv"}).decode())
    if content_format == TEXT:
        return _b64(payload.decode("ascii", "replace").strip())  # 1.0 §6.4.1: Opaque as base64
    raise PayloadError(f"Content-Format {content_format} is not one the platform decodes")


# ---------------------------------------------------------------------------- downlink


def write_request(downlink_format: str, payload: bytes, path: tuple[int, ...] = (19, 1, 0)
                  ) -> tuple[tuple[int, ...], int, bytes]:
    """(URI path, Content-Format, body) of the Write carrying ``payload`` for a product's
    ``downlink_format``: ``opaque`` -> /19/1/0 as 42; ``tlv`` / ``senml-cbor`` -> resource
    instance /19/1/0/0 (19/1/0 is a multiple resource: Anjay refuses an opaque Write on it)."""
    if downlink_format not in DOWNLINK_FORMATS:
        raise PayloadError(f"downlink_format {downlink_format!r} is not one of {', '.join(DOWNLINK_FORMATS)}")
    fmt, instance = DOWNLINK_FORMATS[downlink_format]
    target = path + (0,) if instance else path
    if fmt == OPAQUE:
        body = bytes(payload)
    elif fmt == TLV:
        body = encode_tlv([TlvEntry(RESOURCE_INSTANCE, 0, value=bytes(payload))])
    else:  # SenML CBOR: base name = the resource, name = the instance (1.1 §7.4.7 examples)
        base = "/" + "/".join(map(str, path)) + "/"
        body = cbor2.dumps([{-2: base, 0: "0", 8: bytes(payload)}])
    return target, fmt, body
