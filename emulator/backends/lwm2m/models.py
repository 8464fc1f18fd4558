"""Pure state of the embedded LwM2M server (the CTWing platform side).

What is here: parsing and validation of the LwM2M Register / Update queries (``ep``, ``lt``,
``b``, ``lwm2m``) and of the CoRE link-format object list, the registrations keyed by their
location (``/rd/<n>``), the observations the platform holds on each device (token, path, last
Observe sequence number) and lifetime expiry on the :class:`~emulator.core.clock.VirtualClock`.
Errors carry the CoAP response code the server must answer with (4.00 malformed, 4.03 forbidden,
4.04 unknown location).

Must not: import asyncio, sockets, aiocoap or read the wall clock. Time is ``clock.now()`` and
lifetime expiry is a clock timer; the server (``server.py``) does all I/O.

Protocol facts: registration ``POST /rd?b=U&lwm2m=1.0&lt=86400&ep=<IMEI>`` with payload
``</>;rt="oma.lwm2m",</1/0>,</3/0>,...,</19/0>`` (guide 001 §4.1, docs/guides.md); 19/0/0 is the uplink
resource the platform observes, 19/1/0 the downlink resource it writes (§5.1). CTWing endpoint
forms: ``<IMEI>``, ``urn:imei:<IMEI>``, ``urn:imei-imsi:<IMEI>-<IMSI>`` (seed 001 §4.1.1).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from ...core.clock import Timer, VirtualClock

# CoAP response codes as "class.detail" strings (the server maps them onto aiocoap codes).
BAD_REQUEST = "4.00"
FORBIDDEN = "4.03"
NOT_FOUND = "4.04"

DEFAULT_LIFETIME = 86400  # LwM2M 1.0 default when `lt` is absent; also CTWing's usual value (§5.1)
MAX_LIFETIME = 10 * 365 * 86400
# LwM2M 1.0 binding modes (U, UQ, S, SQ, US, UQS) and the 1.1 letters (T, N); any order.
_BINDING_RE = re.compile(r"^[UQSTN]{1,5}$")
_VERSIONS = {"1.0", "1.1", "1.2"}
_ENDPOINT_RE = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable, no spaces, bounded
_IMEI_RE = re.compile(r"^\d{14,16}$")

Path = tuple[int, ...]
UPLINK_PATH: Path = (19, 0, 0)
DOWNLINK_PATH: Path = (19, 1, 0)


class Lwm2mError(Exception):
    """A request the server must refuse; ``code`` is the CoAP response code ("4.00", ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def _bad(message: str) -> Lwm2mError:
    return Lwm2mError(BAD_REQUEST, message)


# ---------------------------------------------------------------------------- query parsing


@dataclass(frozen=True)
class RegisterParams:
    endpoint: str
    lifetime: int
    binding: str
    version: str
    queue: bool = False  # LwM2M 1.1 §6.2.1.1 "Q" parameter (1.0: the Q in b=UQ)


@dataclass(frozen=True)
class UpdateParams:
    lifetime: int | None = None
    binding: str | None = None


def _query_dict(query: list[str] | tuple[str, ...]) -> dict[str, str]:
    """URI-Query options -> dict; a repeated key or an empty key is malformed."""
    out: dict[str, str] = {}
    for item in query:
        key, sep, value = item.partition("=")
        if not key:
            raise _bad(f"malformed query parameter {item!r}")
        if key in out:
            raise _bad(f"query parameter {key!r} given twice")
        out[key] = value if sep else ""
    return out


def _parse_lifetime(raw: str) -> int:
    if not raw.isdigit():
        raise _bad(f"lifetime lt={raw!r} is not a positive integer")
    value = int(raw)
    if not 0 < value <= MAX_LIFETIME:
        raise _bad(f"lifetime lt={value} out of range 1..{MAX_LIFETIME}")
    return value


def _parse_binding(raw: str) -> str:
    if not _BINDING_RE.match(raw) or len(set(raw)) != len(raw):
        raise _bad(f"binding b={raw!r} is not a LwM2M binding mode (U, UQ, S, SQ, US, UQS, T, N)")
    return raw


def parse_register_query(query: list[str] | tuple[str, ...]) -> RegisterParams:
    """Validate the Register query (LwM2M 1.0 §5.3.1): ``ep`` mandatory, ``lt``/``b``/``lwm2m``
    optional with defaults 86400 / ``U`` / ``1.0``; queue mode is ``b=UQ`` (1.0) or the value-less
    ``Q`` parameter (1.1/1.2, Core §6.2.1.1). Unknown parameters (``sms``, ``sv``) are ignored."""
    q = _query_dict(query)
    ep = q.get("ep")
    if not ep:
        raise _bad("registration without endpoint name (ep=)")
    if not _ENDPOINT_RE.match(ep):
        raise _bad(f"endpoint name {ep!r} is not printable ASCII of 1..128 characters")
    lifetime = _parse_lifetime(q["lt"]) if "lt" in q else DEFAULT_LIFETIME
    binding = _parse_binding(q["b"]) if "b" in q else "U"
    version = q.get("lwm2m", "1.0")
    if version not in _VERSIONS:
        raise _bad(f"unsupported LwM2M version lwm2m={version!r} (1.0, 1.1, 1.2)")
    return RegisterParams(ep, lifetime, binding, version, queue="Q" in q or "Q" in binding)


def parse_update_query(query: list[str] | tuple[str, ...]) -> UpdateParams:
    """Validate the Update query (LwM2M 1.0 §5.3.2): ``lt`` and ``b`` optional; ``ep`` is not allowed."""
    q = _query_dict(query)
    if "ep" in q:
        raise _bad("an Update must not carry ep=")
    return UpdateParams(
        lifetime=_parse_lifetime(q["lt"]) if "lt" in q else None,
        binding=_parse_binding(q["b"]) if "b" in q else None,
    )


def imei_of_endpoint(endpoint: str) -> str | None:
    """The IMEI inside a CTWing endpoint name (``<IMEI>``, ``urn:imei:<IMEI>``,
    ``urn:imei-imsi:<IMEI>-<IMSI>``; seed 001 §4.1.1), or None when it names no IMEI."""
    if endpoint.startswith("urn:imei-imsi:"):
        candidate = endpoint[len("urn:imei-imsi:"):].partition("-")[0]
    elif endpoint.startswith("urn:imei:"):
        candidate = endpoint[len("urn:imei:"):]
    else:
        candidate = endpoint
    return candidate if _IMEI_RE.match(candidate) else None


# ---------------------------------------------------------------------------- link format


@dataclass(frozen=True)
class ObjectLink:
    path: Path
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "</" + "/".join(map(str, self.path)) + ">"


_LINK_RE = re.compile(r'\s*<([^<>]*)>((?:\s*;\s*[^,;=\s]+(?:=(?:"[^"]*"|[^,;"]*))?)*)\s*')
_ATTR_RE = re.compile(r'\s*;\s*([^,;=\s]+)(?:=("[^"]*"|[^,;"]*))?')


def parse_object_links(payload: bytes | str) -> tuple[str, list[ObjectLink]]:
    """Parse the CoRE link-format Register payload (RFC 6690; LwM2M 1.0 §5.3.1).

    Returns ``(alternate_root, object_links)``: a link with ``rt="oma.lwm2m"`` names the root
    (``</>`` -> ""), and object/instance links under it become paths like ``(19, 0)``.
    Raises 4.00 on anything that is not ``<path>;attr=...`` separated by commas.
    """
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    except UnicodeDecodeError as exc:  # RFC 6690 link format is UTF-8 text
        raise _bad(f"link format payload is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return "", []
    links: list[tuple[str, dict[str, str]]] = []
    pos = 0
    while pos < len(text):
        m = _LINK_RE.match(text, pos)
        if not m or m.end() == pos:
            raise _bad(f"malformed link format at offset {pos}: {text[pos:pos + 20]!r}")
        attrs = {a.group(1): (a.group(2) or "").strip('"') for a in _ATTR_RE.finditer(m.group(2))}
        links.append((m.group(1), attrs))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise _bad(f"malformed link format at offset {pos}: expected ','")
            pos += 1
            if pos == len(text):
                raise _bad("malformed link format: trailing ','")
    root = ""
    for target, attrs in links:
        if attrs.get("rt") == "oma.lwm2m":
            root = target.rstrip("/")
    objects: list[ObjectLink] = []
    for target, attrs in links:
        if attrs.get("rt") == "oma.lwm2m":
            continue
        if root and not target.startswith(root + "/"):
            raise _bad(f"link {target!r} is outside the alternate root {root!r}")
        rel = target[len(root):].strip("/")
        parts = rel.split("/") if rel else []
        if not 1 <= len(parts) <= 3 or not all(p.isdigit() and int(p) <= 65535 for p in parts):
            raise _bad(f"link {target!r} is not an /object[/instance[/resource]] path")
        objects.append(ObjectLink(tuple(int(p) for p in parts), attrs))
    return root, objects


# ---------------------------------------------------------------------------- registrations


@dataclass
class Observation:
    token: bytes
    path: Path
    seq: int | None = None  # last Observe option value received
    notifications: int = 0


@dataclass
class Registration:
    location: str  # "/rd/<n>"
    endpoint: str
    device_id: str
    lifetime: int
    binding: str
    version: str
    objects: list[ObjectLink]
    remote: tuple[str, int]
    registered_at: float
    last_update: float
    expires_at: float
    dtls_identity: str | None = None
    last_seen: float = 0.0  # last Register/Update/notification heard from the device
    queue: bool = False  # registered in queue mode (b=UQ or Q): reachable only right after a message
    observations: dict[Path, Observation] = field(default_factory=dict)

    @property
    def secure(self) -> bool:
        return self.dtls_identity is not None

    def lists(self, path: Path) -> bool:
        """True when the object list announces ``path`` or an ancestor of it (``</19/0>`` covers 19/0/0)."""
        return any(link.path == path[: len(link.path)] for link in self.objects)

    def links_text(self) -> str:
        return ",".join(str(link) for link in self.objects)


class Registry:
    """Registrations by location, with lifetime expiry on the virtual clock.

    ``on_offline(registration, reason)`` is called when a registration goes away by expiry
    ("expired"); de-registration is reported by the caller (it knows the device asked).
    """

    def __init__(self, clock: "VirtualClock", on_offline: Callable[[Registration, str], None]) -> None:
        self.clock = clock
        self.on_offline = on_offline
        self._by_location: dict[str, Registration] = {}
        self._timers: dict[str, "Timer"] = {}
        self._ids = itertools.count(0)

    def __iter__(self):
        return iter(list(self._by_location.values()))

    def __len__(self) -> int:
        return len(self._by_location)

    def get(self, location: str) -> Registration:
        reg = self._by_location.get(location)
        if reg is None:
            raise Lwm2mError(NOT_FOUND, f"no registration at {location}")
        return reg

    def by_endpoint(self, endpoint: str) -> Registration | None:
        return next((r for r in self._by_location.values() if r.endpoint == endpoint), None)

    def by_device(self, device_id: str) -> Registration | None:
        return next((r for r in self._by_location.values() if r.device_id == device_id), None)

    def register(self, params: RegisterParams, objects: list[ObjectLink], device_id: str,
                 remote: tuple[str, int], dtls_identity: str | None = None) -> tuple[Registration, Registration | None]:
        """Store a new registration. A previous one of the same endpoint is replaced (LwM2M 1.0
        §5.3.1: the server removes it) and returned second, without an offline callback."""
        old = self.by_endpoint(params.endpoint)
        if old is not None:
            self._drop(old.location)
        now = self.clock.now()
        reg = Registration(
            location=f"/rd/{next(self._ids)}", endpoint=params.endpoint, device_id=device_id,
            lifetime=params.lifetime, binding=params.binding, version=params.version,
            objects=list(objects), remote=remote, registered_at=now, last_update=now,
            expires_at=now + params.lifetime, dtls_identity=dtls_identity, last_seen=now,
            queue=params.queue,
        )
        self._by_location[reg.location] = reg
        self._arm(reg)
        return reg, old

    def update(self, location: str, params: UpdateParams, remote: tuple[str, int],
               objects: list[ObjectLink] | None = None) -> Registration:
        reg = self.get(location)
        if params.lifetime is not None:
            reg.lifetime = params.lifetime
        if params.binding is not None:
            reg.binding = params.binding
            # 1.0: the binding says queue mode (UQ); 1.1+: Q is a Register parameter an Update keeps
            reg.queue = "Q" in params.binding or (reg.queue and reg.version != "1.0")
        if objects is not None:
            reg.objects = list(objects)
        reg.remote = remote
        reg.last_update = reg.last_seen = self.clock.now()
        reg.expires_at = reg.last_update + reg.lifetime
        self._arm(reg)
        return reg

    def deregister(self, location: str) -> Registration:
        reg = self.get(location)
        self._drop(location)
        return reg

    def clear(self) -> None:
        for location in list(self._by_location):
            self._drop(location)

    # observations -------------------------------------------------------------------------

    def observe(self, location: str, path: Path, token: bytes, seq: int | None) -> Observation:
        """The device accepted the platform's Observe on ``path`` (first response, Observe=seq)."""
        reg = self.get(location)
        obs = Observation(token=token, path=path, seq=seq)
        reg.observations[path] = obs
        return obs

    def notified(self, location: str, path: Path, seq: int | None) -> Observation:
        """Record one notification of an established observation (``seq`` = Observe option)."""
        reg = self.get(location)
        obs = reg.observations.get(path)
        if obs is None:
            raise Lwm2mError(NOT_FOUND, f"{location} has no observation on {path}")
        obs.notifications += 1
        obs.seq = seq
        reg.last_seen = self.clock.now()
        return obs

    def forget_observation(self, location: str, path: Path) -> None:
        reg = self._by_location.get(location)
        if reg is not None:
            reg.observations.pop(path, None)

    def reachable(self, device_id: str, window: float | None, queue_awake: float | None = None) -> bool:
        """Registered and (``window`` None) always reachable, or heard from within ``window`` s;
        a queue-mode registration only within ``queue_awake`` s of its last message (None: not
        at all until its next message)."""
        reg = self.by_device(device_id)
        if reg is None:
            return False
        since = self.clock.now() - reg.last_seen
        if reg.queue and (queue_awake is None or since > queue_awake):
            return False
        return window is None or since <= window

    # internals ----------------------------------------------------------------------------

    def _arm(self, reg: Registration) -> None:
        timer = self._timers.pop(reg.location, None)
        if timer is not None:
            timer.cancel()
        self._timers[reg.location] = self.clock.call_at(
            reg.expires_at, lambda loc=reg.location: self._expire(loc), f"lwm2m lifetime {reg.endpoint}")

    def _expire(self, location: str) -> None:
        reg = self._by_location.get(location)
        if reg is None:
            return
        self._drop(location)
        self.on_offline(reg, "expired")

    def _drop(self, location: str) -> None:
        self._by_location.pop(location, None)
        timer = self._timers.pop(location, None)
        if timer is not None:
            timer.cancel()
