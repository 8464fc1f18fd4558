"""Module profiles and the tables that make them: identity, quirks, command tables, features.

A *feature* is one command family (``handlers/v250.py``, ``handlers/ts27007.py``,
``handlers/quectel_tcpip.py`` ...): a :class:`CommandTable` of handlers, the stimuli it
reacts to, and an ``init`` that creates its slice of modem state. A profile
(``quectel_bg96.py`` ...) lists its features; the later ones override earlier handlers of the
same (name, kind), which is how a vendor dialect replaces a generic answer.

Handlers are plain functions ``<cmd>_<kind>(cmd, ctx) -> Reply`` registered with the table's
decorators. They return a :class:`Reply` and never touch a transport.

Must not: import asyncio/socket/os/time (sans-IO, ``tests/test_layering.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ..at.commands import AtCommand, Kind
from ..core.results import OK, Result

if TYPE_CHECKING:  # pragma: no cover
    from ..core.events import Effect
    from ..core.modem import Context


@dataclass(frozen=True)
class Prompt:
    """Ask the host for data after ``\\r\\n> ``: ``length`` bytes, or up to Ctrl+Z when None.

    ``on_data(data, ctx) -> Reply`` finishes the command; ``on_cancel(ctx) -> Reply`` runs on
    ESC; data longer than ``limit`` in Ctrl+Z mode gets ``on_too_long`` (default ERROR).
    """

    on_data: Callable[[bytes, "Context"], "Reply"]
    length: int | None = None
    limit: int = 1548
    on_cancel: Callable[["Context"], "Reply"] | None = None
    on_too_long: Callable[["Context"], "Reply"] | None = None
    echo: bool = True
    text: bytes = b"\r\n> "
    # Ctrl+Z mode: written for each CR inside the data, which is kept (27.005 §3.5.1: in
    # +CMGS text mode a CR "shall be echoed as <CR><LF><greater_than><space>")
    cr_echo: bytes = b""


@dataclass(frozen=True)
class Pending:
    """The final result comes later: the command stays running (further input waits) until
    ``ctx.finish(key, reply)`` is called, or ``timeout`` virtual seconds pass and
    ``on_timeout`` (default ERROR) answers."""

    key: str
    timeout: float = 300.0
    on_timeout: Callable[["Context"], "Reply"] | None = None


@dataclass(frozen=True)
class Reply:
    lines: tuple[str | bytes, ...] = ()
    final: Result | None = OK
    effects: tuple["Effect", ...] = ()
    delay: float = 0.0
    prompt: Prompt | None = None
    pending: Pending | None = None
    after: tuple[str, ...] = ()  # URCs queued right after the final result
    raw: bytes = b""  # bytes written verbatim before the final result (transparent data)


Handler = Callable[[AtCommand, "Context"], Reply]
StimulusHandler = Callable[[Any, "Context"], None]


class CommandTable:
    """Handlers keyed by (NAME, Kind). ``@table.set("+CEREG")`` etc. register them."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.handlers: dict[tuple[str, Kind], Handler] = {}

    def _register(self, names: Iterable[str], kind: Kind) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for n in names:
                self.handlers[(n.upper(), kind)] = fn
            return fn
        return deco

    def exec(self, *names: str):  # noqa: A003 - mirrors the AT kind name
        return self._register(names, Kind.EXEC)

    def set(self, *names: str):  # noqa: A003
        return self._register(names, Kind.SET)

    def read(self, *names: str):
        return self._register(names, Kind.READ)

    def test(self, *names: str):
        return self._register(names, Kind.TEST)

    def all(self, *names: str):  # noqa: A003
        """One handler for every kind (it looks at ``cmd.kind``)."""
        def deco(fn: Handler) -> Handler:
            for kind in Kind:
                self._register(names, kind)(fn)
            return fn
        return deco

    def merged(self, *others: "CommandTable") -> "CommandTable":
        out = CommandTable(self.name)
        out.handlers.update(self.handlers)
        for other in others:
            out.handlers.update(other.handlers)
        return out

    def names(self) -> set[str]:
        return {n for n, _ in self.handlers}


@dataclass
class Feature:
    name: str
    commands: CommandTable
    stimuli: dict[type, StimulusHandler] = field(default_factory=dict)
    init: Callable[["Context"], None] | None = None
    on_boot: Callable[["Context"], None] | None = None
    # Called before a reboot/power-off wipes ``ctx.state``: save what the module keeps in
    # non-volatile memory into ``ctx.nvm`` (init reads it back).
    on_shutdown: Callable[["Context"], None] | None = None


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
        table = CommandTable(self.name)
        for feature in self.features:
            table.handlers.update(feature.commands.handlers)
        return table
