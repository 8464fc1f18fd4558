"""Module profiles and the tables that make them: identity, quirks, command tables, features.

A *feature* is one command family (``handlers/v250.py``, ``handlers/ts27007.py``,
``handlers/quectel_tcpip.py`` ...): a :class:`CommandTable` of handlers, the stimuli it
reacts to, an ``init`` that creates its slice of modem state and the hooks it declares for
the core to call. Those types (``Feature``, ``CommandTable``, ``Reply``, ``Prompt``,
``Pending``) are the core's contract (``core/feature.py``) and are re-exported here, so
handlers import everything from ``..profile``. A profile (``quectel_bg96.py`` ...) lists its
features; the later ones override earlier handlers of the same (name, kind), which is how a
vendor dialect replaces a generic answer.

Handlers are plain functions ``<cmd>_<kind>(cmd, ctx) -> Reply`` registered with the table's
decorators. They return a :class:`Reply` and never touch a transport.

Must not: import asyncio/socket/os/time (sans-IO, ``tests/test_layering.py``), or define
contract types the core needs (they belong in ``core/feature.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# The reply contract and the feature/command-table types live in the core (core/feature.py);
# handlers keep importing them from here.
from ..core.feature import (CommandTable, Feature, Handler, Pending, Prompt, Reply,  # noqa: F401
                            StimulusHandler)

__all__ = ["CommandTable", "Feature", "Handler", "Identity", "ModuleProfile", "Pending", "Prompt",
           "Quirks", "Reply", "StimulusHandler"]


@dataclass(frozen=True)
class Identity:
    manufacturer: str
    model: str
    revision: str
    imei: str
    imsi: str
    iccid: str
    ati: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quirks:
    """Dialect knobs. ``colon`` is the separator after a response name: ``": "`` for Quectel
    (``+CSQ: 20,99``) and ``":"`` for Woori-net vendor answers (``*IMSI:450...``)."""

    echo_default: bool = True
    vendor_colon: str = ": "
    boot_urcs: tuple[str, ...] = ("RDY",)
    boot_delay: float = 0.0
    max_sockets: int = 12
    thingplug_dialect: str = "bg96"  # bg96 (quoted, prompt, "+X: v") | woori (inline, "+X=v")
    psm_uart_off: bool = False  # BG96: the UART sleeps in PSM, host bytes are lost
    psm_urc_style: str = "quectel"  # quectel: +QIND: ENTER/EXIT PSM | bg96: +QPSMTIMER / POWER DOWN


@dataclass(frozen=True)
class ModuleProfile:
    name: str
    title: str
    grammar: str
    identity: Identity
    features: tuple[Feature, ...]
    defaults: Mapping[str, Any]
    quirks: Quirks = Quirks()

    @property
    def commands(self) -> CommandTable:
        """The merged command table, built once per features tuple: profiles made from one by
        overrides (a fleet's identities) share it (it was 18 KiB per modem). Read-only."""
        hit = _TABLES.get(id(self.features))
        if hit is not None and hit[0] is self.features:
            return hit[1]
        table = CommandTable(self.name)
        for feature in self.features:
            table.handlers.update(feature.commands.handlers)
        _TABLES[id(self.features)] = (self.features, table)
        return table


_TABLES: dict[int, tuple[tuple[Feature, ...], CommandTable]] = {}  # id(features) -> (features, table)
