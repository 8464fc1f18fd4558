"""CTWing credentials and identifiers the registry derives: PSKs as the platform's pages and the
module take them, stable LwM2M device IDs, generated feature strings and PSKs; and
:class:`RegistryError`, which they raise (``registry.py`` re-exports all of these).

Must not: do I/O, read clocks, or keep state (the registry does).
"""

from __future__ import annotations

import base64
import hashlib

from ...errors import EmulatorError


class RegistryError(EmulatorError, ValueError):
    """A product or device definition is invalid (the message says which field)."""


def parse_psk(value: str | bytes | None) -> bytes | None:
    """A PSK from config/API: bytes as is; ``"hex:..."`` or ``"0x..."`` -> hex; other text -> UTF-8.

    Plain text is taken literally because the platform shows the PSK as text
    (``TYvoiTk34D3NZ6GN``) while the module is given its hex (guide 001 §4.1.3.2).
    """
    if value is None or isinstance(value, bytes):
        return value
    text = str(value)
    for prefix in ("hex:", "0x", "0X"):
        if text.startswith(prefix):
            return psk_from_hex(text[len(prefix):])
    if not text:
        raise RegistryError("PSK must not be empty")
    return text.encode("utf-8")


def psk_from_hex(hex_text: str) -> bytes:
    try:
        raw = bytes.fromhex(hex_text)
    except ValueError:
        raise RegistryError(f"PSK {hex_text!r} is not valid hex") from None
    if not raw:
        raise RegistryError("PSK must not be empty")
    return raw


def lwm2m_device_id(product_id: str, imei: str) -> str:
    """Stable 32-hex device ID for an LwM2M device (the real platform assigns a random one)."""
    return hashlib.sha256(f"ctwing-lwm2m:{product_id}:{imei}".encode()).hexdigest()[:32]


def generated_feature_string(key: str) -> str:
    """A 43-character feature string (base64url of 32 bytes, the shape of the guide's ones)."""
    digest = hashlib.sha256(f"ctwing-feature:{key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def generated_psk(key: str) -> bytes:
    return generated_feature_string("psk:" + key)[:16].encode()
