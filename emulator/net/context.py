"""What an effect executor may use: :class:`NetContext`, one per modem, built by the transport.

Every executor is called as ``executor(effect, net)`` with the modem's NetContext: the one
virtual clock, the :class:`FakeInternet`, a way to answer the modem (``stimulus``), the
executor's own per-modem sessions (``resources``: the port closes them at power-off / reboot),
a way to run a task the port owns (``spawn``), the network-side modem state an executor must
consult (``lwm2m``: is a Register/Update exchange open, is a platform request still pending)
and the trust material the modem was given (:class:`Trust`: CA files as plain data).

The transport (``emulator/transport/runner.py``) fills it in; ``net/`` never sees the port,
the Emulator or a backend object, so it imports nothing above ``core/``, ``modules/`` (the
effect and stimulus types) and ``errors``.

Must not: do I/O, hold protocol state, or grow a back door to the port (no ``Any`` field that
hands over the port or the Emulator).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Container, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.clock import VirtualClock
from ..core.stimuli import Stimulus
from .internet import FakeInternet


class Lwm2mView(Protocol):
    """The parts of the modem's LwM2M state (``modules/handlers/quectel_lwm2m_urc.Lwm2mState``)
    the LwM2M executors read: the mid of an Update awaiting its answer, and the platform
    requests the host has not answered yet (by CoAP message id)."""

    @property
    def update_mid(self) -> int | None: ...

    @property
    def pending(self) -> Container[int]: ...


@dataclass(frozen=True)
class Trust:
    """Trust material the modem was provisioned with, as data: the CA file (PEM path) of each
    embedded platform by name (``"thingplug"``). A name not here: the peer is not checked.
    Read when a connection is made: the transport passes a live mapping, since a platform
    restarted from the console comes back with a fresh CA."""

    ca_files: Mapping[str, str] = field(default_factory=dict)
    # serve: a platform's TLS listener is bound before its CA exists (backends/prebind.py);
    # ``ready(name)`` returns once that platform is up (raises if it could not come up)
    ready: Callable[[str], Awaitable[None]] | None = None

    def ca_file(self, platform: str) -> str | None:
        return self.ca_files.get(platform)

    async def ca_file_when_up(self, platform: str) -> str | None:
        """The platform's CA once the platform is up: a modem dialling its TLS listener right
        at start-up must verify against it, not find no CA yet and skip the check."""
        if self.ready is not None:
            await self.ready(platform)
        return self.ca_file(platform)


def _no_lwm2m() -> Lwm2mView | None:
    return None


def _no_sync() -> None:
    return None


def _spawn_plain(coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
    return asyncio.get_running_loop().create_task(coro)


@dataclass
class NetContext:
    """One modem's view of the network side (see the module docstring)."""

    name: str
    clock: VirtualClock
    internet: FakeInternet
    stimulus: Callable[[Stimulus], bool]
    """Answer the modem. False: network data held for a modem that cannot be reached now (PSM);
    the port hands it over once the modem is reachable, then calls ``released`` hooks."""
    resources: dict[str, Any] = field(default_factory=dict)
    """Sessions the executors keep for this modem (``"tcpip"``, ``"lwm2m"``, ``"mqtt:..."``);
    the port closes each (``close()``) and empties the dict (in place) at power-off / reboot."""
    spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task] = _spawn_plain
    """Run a coroutine as a task the port owns (cancelled at power-off / reboot / stop)."""
    sync_clock: Callable[[], None] = _no_sync
    """Serve: bring virtual time up to the wall clock before arming a timer (no-op otherwise)."""
    lwm2m: Callable[[], Lwm2mView | None] = _no_lwm2m
    released: list[Callable[[Stimulus], None]] = field(default_factory=list)
    """Hooks the port calls with each held stimulus right after handing it over."""
    trust: Trust = field(default_factory=Trust)
