"""The feature contract: what a command handler returns and what a feature may declare.

A *feature* is one command family (``modules/handlers/v250.py``, ``ts27007.py`` ...): a
:class:`CommandTable` of handlers, the stimuli it reacts to, lifecycle callbacks (``init``,
``on_boot``, ``on_shutdown``) and the hooks the core calls on its behalf (:class:`Feature`:
``input_gate``, ``reach_gate``, ``next_paging``, ``on_line``, ``on_power``, ``energy``).
Handlers are plain functions ``(cmd, ctx) -> Reply``; a :class:`Reply` may open a ``> ``
:class:`Prompt` or stay :class:`Pending` until the network answers.

This lives in the core so the core depends on nothing above it: ``modules/profile.py``
builds module profiles on these types and re-exports them for the handlers.

Must not: import anything above ``core/`` and ``at/``, do I/O, or know any particular command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol

from ..at.commands import AtCommand, Kind
from .results import OK, Result

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context
    from .energy import EnergyMeter
    from .events import Effect


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
    # called whenever some data bytes arrived (not the last ones: those go to on_data), e.g.
    # to restart an inactivity timer ("no data inputted when <timeout> reaches")
    on_progress: Callable[["Context"], None] | None = None


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
    """One command family and the hooks it declares; the core calls them, nobody patches the
    Modem. Every hook gets the modem's :class:`~emulator.core.context.Context`.

    * ``input_gate(ctx) -> bool``: may the UART take host bytes now? (all must agree; False:
      the bytes are lost, e.g. BG96 in PSM)
    * ``reach_gate(ctx) -> bool``: can network data reach the device now? (all must agree)
    * ``next_paging(ctx) -> float | None``: when an unreachable device can next be paged
      (virtual time; the earliest of all features wins; None = not pageable)
    * ``on_line(ctx)``: a command line starts executing
    * ``on_power(ctx, on)``: the console powered the modem on / off
    * ``energy(ctx) -> EnergyMeter``: creates the device's energy meter, once per device (it
      outlives reboots and power cycles); the core keeps it as ``Modem.energy``
    """

    name: str
    commands: CommandTable
    stimuli: dict[type, StimulusHandler] = field(default_factory=dict)
    init: Callable[["Context"], None] | None = None
    on_boot: Callable[["Context"], None] | None = None
    # Called before a reboot/power-off wipes ``ctx.state``: save what the module keeps in
    # non-volatile memory into ``ctx.nvm`` (init reads it back).
    on_shutdown: Callable[["Context"], None] | None = None
    input_gate: Callable[["Context"], bool] | None = None
    reach_gate: Callable[["Context"], bool] | None = None
    next_paging: Callable[["Context"], float | None] | None = None
    on_line: Callable[["Context"], None] | None = None
    on_power: Callable[["Context", bool], None] | None = None
    energy: Callable[["Context"], "EnergyMeter"] | None = None


def declared_hooks(features: Iterable[Feature], name: str) -> list[Callable]:
    """The hook ``name`` of every feature that declares it, in profile order."""
    return [hook for f in features if (hook := getattr(f, name)) is not None]


class ProfileLike(Protocol):
    """What the core reads of a module profile (``modules/profile.py:ModuleProfile``)."""

    name: str
    grammar: str
    identity: Any
    features: tuple[Feature, ...]
    defaults: Mapping[str, Any]
    quirks: Any

    @property
    def commands(self) -> CommandTable: ...
