"""Start-up checks for ``modemu serve`` / ``exec``: everything that can be found wrong before a
single port listens — routes, modem names, the time scale, and every fixed port in use.

Each problem is one ``ConfigError`` line that names it and the fix; the CLI prints it and exits 2.
The ports a run will listen on are listed here (modem TCP ports, each platform's ports, the
console API) and probed by binding them the way the real listeners do (``SO_REUSEADDR``), so a
second ``make run`` says "port 31883 ... is in use" instead of starting half the servers.

Must not: start, keep or change anything — probes are closed at once; no protocol logic.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Iterable

from .config import Config, ModemSpec
from .errors import ConfigError

# Every fixed port the embedded platforms listen on (key, default, transport), in the order the
# backends start. The keys and defaults are the ones the backends pass to ``Backend.port_for``
# (backends/thingplug/backend.py, backends/ctwing/backend.py, backends/ctwing/lwm2m_link.py,
# backends/ntp.py);
# tests/transport/test_startup_errors.py checks that this table and those calls agree.
BACKEND_PORTS: dict[str, list[tuple[str, int, str]]] = {
    "thingplug": [("thingplug_mqtt", 21883, "tcp"), ("thingplug_mqtts", 28883, "tcp")],
    "ctwing": [("ctwing_mqtt", 31883, "tcp"), ("ctwing_mqtts", 38883, "tcp"), ("ctwing_tcp", 28996, "tcp"),
               ("ctwing_lwm2m", 25683, "udp"), ("ctwing_lwm2m_dtls", 25684, "udp")],
    "ntp": [("ntp", 10123, "udp")],
}

FIX = "use --ephemeral-ports (every listener on a free port; read them from --ready-file), or move it"


@dataclass(frozen=True)
class PlannedPort:
    port: int
    what: str   # "modem bg96 TCP", "ctwing ctwing_mqtt"
    fix: str    # where to move it
    proto: str = "tcp"


def planned_ports(config: Config, specs: list[ModemSpec], backends: Iterable[str], *,
                  tcp_base_port: int | None, api_port: int | None) -> list[PlannedPort]:
    """The fixed ports this run will listen on (none of them with ``--ephemeral-ports``)."""
    out: list[PlannedPort] = []
    if api_port is not None:  # first: the one port every run has
        out.append(PlannedPort(api_port, "console API", "pass --api 127.0.0.1:PORT"))
    if tcp_base_port is not None:
        for i, spec in enumerate(specs):
            out.append(PlannedPort(tcp_base_port + i, f"modem {spec.name} TCP",
                                   "set tcp_base_port in the --config file"))
    for name in backends:
        ports = (config.backends.get(name) or {}).get("ports") or {}
        for key, default, proto in BACKEND_PORTS.get(name, []):
            if name == "ctwing" and key == "ctwing_mqtts" and not (config.backends.get(name) or {}).get("mqtt_tls", True):
                continue
            try:
                port = int(ports.get(key, default))
            except (TypeError, ValueError):
                raise ConfigError(f"backends.{name}.ports.{key}: {ports.get(key)!r} is not a port number") from None
            label = key if key == name else f"{name} {key}"  # "ntp", not "ntp ntp"
            if proto == "udp":
                label += " UDP"
            out.append(PlannedPort(port, label, f"set backends.{name}.ports.{key} in the --config file", proto))
    return out


def in_use(port: int, proto: str = "tcp") -> bool:
    """True when a listener of ours could not bind 127.0.0.1:``port`` right now."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio/uvicorn listeners do
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise ConfigError(f"port {port} ({proto}): {exc.strerror}") from None
    return False


def check_ports(ports: list[PlannedPort]) -> None:
    seen: dict[tuple[int, str], PlannedPort] = {}
    for p in ports:
        if not 0 < p.port < 65536:
            raise ConfigError(f"port {p.port} ({p.what}) is not a port number; {p.fix}")
        other = seen.get((p.port, p.proto))
        if other is not None:
            raise ConfigError(f"port {p.port} is planned twice ({other.what} and {p.what}); {p.fix}")
        seen[(p.port, p.proto)] = p
    for p in ports:
        if in_use(p.port, p.proto):
            raise ConfigError(f"port {p.port} ({p.what}) is in use — is another modemu running "
                              f"(a second make run)? Stop it, or {FIX}: {p.fix}")


def check_routes(routes: list[str]) -> None:
    """Parse every route on a scratch fake internet: malformed or non-loopback -> one line."""
    from .net.internet import FakeInternet

    scratch = FakeInternet()
    for spec in routes:
        try:
            scratch.add_user_route(spec)
        except ConfigError as exc:
            raise ConfigError(f"--route {spec}: {exc}; a route sends HOST[:PORT] to a loopback IP:PORT, "
                              "e.g. --route broker.example.com:1883=127.0.0.1:1883") from None


def check(config: Config, specs: list[ModemSpec], *, routes: list[str], backends: Iterable[str],
          time_scale: float | None, ephemeral: bool, tcp_base_port: int | None,
          api_port: int | None) -> None:
    """Everything found wrong before anything starts raises one ``ConfigError`` line."""
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"modem names must be unique; {', '.join(dupes)} appears twice "
                          "(give each modem its own `name:` in the --config file)")
    scale = config.time_scale if time_scale is None else time_scale
    if not scale > 0 or scale == float("inf"):
        raise ConfigError(f"time scale {scale:g} must be a positive number (e.g. --time-scale 60)")
    from .backends import available_backends
    for name in config.backends:
        if name not in available_backends():
            raise ConfigError(f"backends.{name} in the --config file: no such platform; "
                              f"platforms: {', '.join(available_backends())}")
    check_routes(list(config.routes) + list(routes))
    if not ephemeral:
        check_ports(planned_ports(config, specs, backends, tcp_base_port=tcp_base_port, api_port=api_port))


def bind_error(exc: OSError) -> ConfigError | None:
    """A listener that failed after the checks (a race): its one-line message, else None."""
    if exc.errno != errno.EADDRINUSE:
        return None
    detail = str(exc)
    port = ""
    if "('" in detail:  # "error while attempting to bind on address ('127.0.0.1', 31883): ..."
        port = detail.split("('", 1)[1].split(")", 1)[0].replace("', ", ":")
    return ConfigError(f"address {port or '?'} is in use — is another modemu running? Stop it, or {FIX} (--api, or the ports in the --config file)")

