"""The fake internet: where every name and address a modem dials really goes.

A pure table (no sockets). DNS records map public host names to the public IPs a modem would
be told (``lwm2m.ctwing.cn`` -> ``221.229.214.202``); routes map a name or public IP, plus a port
(or any port), to a loopback endpoint where an embedded backend or a user's server listens.
Anything not mapped is refused, as a module reports a failed lookup or connection, so no
packet the emulator sends can leave 127.0.0.0/8 or ::1.

Faults are declarative knobs per route (python-gsmmodem counters): ``refuse`` (connection
refused), ``drop`` (silently black-holed: the connect times out), ``delay`` (seconds added to
connect), ``cut`` (an open connection is reset). A fault with a ``count`` is spent on that many
connection attempts. A ``drop`` or ``delay`` without a count stands until cleared and also hits
sessions that are already open: executors ask :meth:`FakeInternet.standing_fault` per datagram
or write, and :meth:`FakeInternet.on_change` wakes traffic they hold when faults change.

Must not: open sockets or read the clock; the executors in ``emulator/net`` do the I/O.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..errors import ConfigError

Endpoint = tuple[str, int]
ANY_PORT = -1


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _key(host: str) -> str:
    host = host.strip().strip("[]").lower()
    try:
        return ipaddress.ip_address(host).compressed  # canonical IPv6 text
    except ValueError:
        return host.rstrip(".")


@dataclass
class Fault:
    kind: str  # refuse | drop | delay | cut
    count: int | None = None  # None = every time
    seconds: float = 0.0

    def consume(self) -> bool:
        if self.count is None:
            return True
        if self.count <= 0:
            return False
        self.count -= 1
        return True


@dataclass
class Route:
    host: str
    port: int
    target: Endpoint
    label: str = ""
    faults: list[Fault] = field(default_factory=list)


class FakeInternet:
    def __init__(self) -> None:
        self._dns: dict[str, list[str]] = {}
        self._routes: dict[tuple[str, int], Route] = {}
        self._watchers: list[Callable[[], None]] = []
        # open streams the console's "cut" can reset: (route, host, port, reset)
        self._cut_watchers: list[tuple[Any, str, int, Callable[[], None]]] = []

    # --- configuration -------------------------------------------------------------------
    def add_name(self, name: str, *addresses: str) -> None:
        """A DNS record: what ``AT+QIDNSGIP`` and the modem's own lookups answer."""
        entry = self._dns.setdefault(_key(name), [])
        for addr in addresses:
            if _key(addr) not in entry:
                entry.append(_key(addr))

    def add_route(self, host: str, port: int | None, target: Endpoint, label: str = "") -> Route:
        """Send connections to ``host`` (name or public IP) on ``port`` (None = any) to ``target``."""
        if not is_loopback(target[0]):
            raise ConfigError(f"route target {target[0]}:{target[1]} is not a loopback address")
        route = Route(_key(host), ANY_PORT if port is None else int(port), (target[0], int(target[1])), label)
        self._routes[(route.host, route.port)] = route
        return route

    def add_user_route(self, spec: str) -> Route:
        """``HOST[:PORT]=IP:PORT`` from ``--route`` or the config file."""
        try:
            left, right = spec.split("=", 1)
            tip, _, tport = right.rpartition(":")
            if left.startswith("["):
                lhost, _, rest = left[1:].partition("]")
                lport = rest.lstrip(":") or None
            elif left.count(":") == 1:
                lhost, lport = left.split(":")
            else:
                lhost, lport = left, None
            return self.add_route(lhost, int(lport) if lport else None, (tip.strip("[]"), int(tport)), "user")
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - any malformed spec
            raise ConfigError(f"bad route {spec!r}: expected HOST[:PORT]=IP:PORT ({exc})") from None

    def route(self, host: str, port: int | None) -> Route | None:
        key = _key(host)
        if port is not None and (key, int(port)) in self._routes:
            return self._routes[(key, int(port))]
        return self._routes.get((key, ANY_PORT))

    def add_fault(self, host: str, port: int | None, fault: Fault) -> None:
        """Add ``fault`` to the route for ``host:port``; without a port, to every route of
        ``host`` (each its own copy: counts are per route)."""
        route = self.route(host, port)
        if route is not None:
            routes = [route]
        elif port is None:
            routes = [r for (h, _), r in self._routes.items() if h == _key(host)]
        else:
            routes = []
        if not routes:
            raise ConfigError(f"no route for {host}:{port}" if port is not None else f"no route for {host}")
        for i, target in enumerate(routes):
            target.faults.append(fault if i == 0 else replace(fault))
        self._changed()

    def clear_faults(self) -> None:
        for route in self._routes.values():
            route.faults.clear()
        self._changed()

    def on_change(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` once, after the next change of faults (from whatever thread made
        it: the callback must hop to its own loop). Returns a function that cancels the watch."""
        self._watchers.append(callback)

        def cancel() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(callback)
        return cancel

    def watch_cut(self, route: Any, host: str, port: int, reset: Callable[[], None]) -> Callable[[], None]:
        """An open stream to ``host:port`` (through ``route``) that a ``cut`` resets; ``reset`` may
        be called from another thread (it must hop to its own loop). Returns the unwatch."""
        entry = (route, host.lower(), port, reset)
        self._cut_watchers.append(entry)

        def cancel() -> None:
            with contextlib.suppress(ValueError):
                self._cut_watchers.remove(entry)
        return cancel

    def cut_open(self, host: str, port: int | None) -> int:
        """The console's ``cut``: reset the watched open streams that went through the route of
        ``host:port`` or were dialled to that name. Returns how many."""
        route = self.route(host, port)
        hit = [reset for r, h, p, reset in list(self._cut_watchers)
               if (route is not None and r is route) or (h == host.lower() and port in (None, p))]
        for reset in hit:
            reset()
        return len(hit)

    def _changed(self) -> None:
        watchers, self._watchers = self._watchers, []
        for callback in watchers:
            callback()

    def standing_fault(self, route: Route | None) -> Fault | None:
        """What traffic of a session already open on ``route`` suffers now: a ``drop`` (lost)
        or ``delay`` (held ``seconds``) fault without a count; None = it passes."""
        if route is None:
            return None
        standing = [f for f in route.faults if f.count is None and f.kind in ("drop", "delay")]
        return next((f for f in standing if f.kind == "drop"), None) or next(
            (f for f in standing if f.seconds > 0), None)

    # --- questions the executors ask -----------------------------------------------------
    def resolve(self, name: str) -> list[str]:
        """Addresses for ``name``; an IP literal resolves to itself; [] = lookup fails."""
        key = _key(name)
        try:
            ipaddress.ip_address(key)
            return [key]
        except ValueError:
            pass
        if key in self._dns:
            return list(self._dns[key])
        if any(h == key for h, _ in self._routes):
            return ["127.0.0.1"] if key == "localhost" else [self._synthetic_ip(key)]
        return []

    def _synthetic_ip(self, key: str) -> str:
        # A stable documentation-range address (TEST-NET-2) for routed names with no record,
        # never one another name already answers (connect_target maps it back to the name).
        taken = {a for addrs in self._dns.values() for a in addrs} | {h for h, _ in self._routes}
        start = sum(key.encode()) % 250
        for i in range(254):
            addr = f"198.51.100.{(start + i) % 254 + 1}"
            if addr not in taken:
                break
        self._dns[key] = [addr]
        return addr

    def _route_by_address(self, addr: str, port: int | None) -> Route | None:
        """A dialled IP with no route of its own: the route of a name DNS answers it for (a
        firmware that runs AT+QIDNSGIP and then opens the address it got)."""
        for name, addrs in self._dns.items():
            if addr in addrs:
                route = self.route(name, port)
                if route is not None:
                    return route
        return None

    def route_for(self, host: str, port: int | None) -> Route | None:
        """The route a connection to ``host:port`` takes: by name, else by an address the
        name resolves to, else (an IP literal) by a name that resolves to it; None if none."""
        route = self.route(host, port)
        if route is None:
            for addr in self.resolve(host):
                route = self.route(addr, port) or self._route_by_address(addr, port)
                if route is not None:
                    break
        return route

    def connect_target(self, host: str, port: int) -> tuple[Endpoint | None, str, Fault | None]:
        """Where a connection to ``host:port`` goes: (endpoint, error, fault).

        error is "" on success, "dns" when the name does not resolve, "refused" when nothing
        listens there (the module's 565 / 566). A consumed fault is returned for the executor.
        """
        route = self.route(host, port)
        if route is None:
            if not self.resolve(host):
                return None, "dns", None
            route = self.route_for(host, port)
        if route is None:
            if is_loopback(host):
                return (host.strip("[]") if host != "localhost" else "127.0.0.1", int(port)), "", None
            return None, "refused", None
        for fault in route.faults:
            if fault.consume():
                if fault.kind == "refuse":
                    return None, "refused", fault
                return route.target, "", fault
        return route.target, "", None

    def routes(self) -> list[Route]:
        return list(self._routes.values())

    def names(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._dns.items()}
