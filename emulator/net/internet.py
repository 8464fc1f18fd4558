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

It owns its routes (:meth:`~FakeInternet.add_route` adds or replaces, :meth:`~FakeInternet.remove_route`,
:meth:`~FakeInternet.routes` lists) and the one cut mechanism: every open stream or session an
executor wants reset by a ``cut`` registers with :meth:`~FakeInternet.watch_cut` (AT+QI* TCP
sockets, AT+QMT sessions, ThingPlug links); :meth:`~FakeInternet.cut` (the console API and the
scenario ``control: {fault: {kind: cut}}``) resets the matching ones in one call.

Must not: open sockets, read the clock or know a protocol; the executors in ``emulator/net`` do
the I/O, and each watcher's ``reset`` hops to its own event loop.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from dataclasses import dataclass, field, replace
from typing import Callable

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


@dataclass(eq=False)
class _CutWatch:
    route: Route | None
    host: str
    port: int
    reset: Callable[[], None]


class FakeInternet:
    def __init__(self) -> None:
        self._dns: dict[str, list[str]] = {}
        self._routes: dict[tuple[str, int], Route] = {}
        self._watchers: list[Callable[[], None]] = []
        self._cut_watchers: list[_CutWatch] = []  # open streams a "cut" resets, oldest first
        self._cut_lock = threading.Lock()

    # --- configuration -------------------------------------------------------------------
    def add_name(self, name: str, *addresses: str) -> None:
        """A DNS record: what ``AT+QIDNSGIP`` and the modem's own lookups answer."""
        entry = self._dns.setdefault(_key(name), [])
        for addr in addresses:
            if _key(addr) not in entry:
                entry.append(_key(addr))

    def add_route(self, host: str, port: int | None, target: Endpoint, label: str = "") -> Route:
        """Send connections to ``host`` (name or public IP) on ``port`` (None = any) to ``target``;
        replaces the route ``host:port`` had (its faults go with it)."""
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
        except Exception:  # noqa: BLE001 - any malformed spec
            # the user's words only: Python's ("not enough values to unpack") name no part of the spec
            raise ConfigError(f"bad route {spec!r}: expected HOST[:PORT]=IP:PORT with numeric ports") from None

    def remove_route(self, host: str, port: int | None, target: Endpoint | None = None) -> bool:
        """Forget the route of exactly ``host:port`` (None = the any-port one); with ``target``,
        only while it still goes there (a listener unrouting itself must not remove the route
        that replaced it). True if a route was removed."""
        key = (_key(host), ANY_PORT if port is None else int(port))
        route = self._routes.get(key)
        if route is None or (target is not None and route.target != (target[0], int(target[1]))):
            return False
        del self._routes[key]
        return True

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

    def watch_cut(self, route: Route | None, host: str, port: int,
                  reset: Callable[[], None]) -> Callable[[], None]:
        """An open stream to ``host:port`` (the name the modem dialled; through ``route``) that a
        ``cut`` resets by calling ``reset`` (perhaps from another thread: it must hop to its
        own loop). Returns the unwatch; call it when the stream closes."""
        entry = _CutWatch(route, _key(host), int(port), reset)
        with self._cut_lock:
            self._cut_watchers.append(entry)

        def cancel() -> None:
            with self._cut_lock, contextlib.suppress(ValueError):
                self._cut_watchers.remove(entry)
        return cancel

    def cut(self, host: str, port: int | None) -> int:
        """The ``cut`` fault on what is open now (call it after :meth:`add_fault` of the cut):
        reset every watched stream that went through the route of ``host:port`` or was dialled
        to the name ``host`` (on ``port``, when one is given), oldest first. A cut fault with a
        ``count`` on that route is spent on the streams it resets (one each) and stops there;
        without one, all are reset. Returns how many were reset."""
        route = self.route(host, port)
        fault = None
        if route is not None:  # the cut fault just added: its count limits how many we reset
            fault = next((f for f in reversed(route.faults) if f.kind == "cut"), None)
        name = _key(host)
        hits: list[_CutWatch] = []
        with self._cut_lock:  # the console may cut from a worker thread
            for watch in list(self._cut_watchers):
                if not ((route is not None and watch.route is route)
                        or (watch.host == name and port in (None, watch.port))):
                    continue
                if fault is not None and fault.count is not None:
                    if fault.count <= 0:
                        break
                    fault.count -= 1  # spent on an open stream, not on the next connect
                self._cut_watchers.remove(watch)  # reset once: the stream is gone
                hits.append(watch)
        for watch in hits:
            watch.reset()
        return len(hits)

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
        """Every route, in the order they were added (the console's ``GET /api/network/routes``)."""
        return list(self._routes.values())

    def names(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._dns.items()}
