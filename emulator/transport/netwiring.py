"""Builds a modem port's :class:`~emulator.net.context.NetContext`: the typed view of the
network side that effect executors get instead of the port.

``net_context(port, emulator)`` wires the port's answer path (``port.stimulus``), its task
set, its sessions dict and released-data hooks, the Emulator's clock, FakeInternet and
wall-clock sync, the modem's LwM2M state (read live: a reboot makes fresh feature state) and
the backends' CA files (a live mapping: a platform restarted from the console has a new CA).

Must not: do I/O or hold state of its own; the executors must never reach the port through it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..backends.base import Backend
from ..modules.handlers.sms_store import own_number, smsc_of
from ..net.context import Lwm2mView, NetContext, Trust
from ..net.smsc import Smsc

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Emulator, ModemPort


class BackendCAs(Mapping[str, str]):
    """The CA file of each started backend that has one, read when asked."""

    def __init__(self, backends: Mapping[str, Backend]) -> None:
        self._backends = backends

    def __getitem__(self, name: str) -> str:
        backend = self._backends.get(name)
        if backend is None or not backend.ca_file:
            raise KeyError(name)
        return backend.ca_file

    def __iter__(self) -> Iterator[str]:
        return (name for name, b in list(self._backends.items()) if b.ca_file)

    def __len__(self) -> int:
        return sum(1 for _ in self)


async def _up(emulator: "Emulator", name: str) -> None:
    """Wait until platform ``name`` is up (serve attaches its servers after the ready file)."""
    backend = emulator.backends.get(name)
    if backend is not None:
        await backend.ready()


def net_context(port: "ModemPort", emulator: "Emulator") -> NetContext:
    def lwm2m() -> Lwm2mView | None:
        return getattr(port.modem.state, "lwm2m", None)  # None: the module has no LwM2M feature

    net = NetContext(name=port.name, clock=emulator.net_clock, internet=emulator.internet,
                     stimulus=port.stimulus, resources=port.resources, spawn=port.spawn,
                     sync_clock=emulator.sync_clock, lwm2m=lwm2m, released=port.released_hooks,
                     trust=Trust(BackendCAs(emulator.backends), ready=lambda name: _up(emulator, name)))
    # the modem joins the network's SMSC with its own number (net/smsc.py)
    Smsc.of(emulator.internet).register(port.name, own_number(port.profile.defaults, port.profile.identity.imsi), net,
                                        int(port.profile.defaults.get("timezone", 0)),
                                        smsc_of(port.profile.defaults))
    return net
