"""Sans-IO test support: a direct Modem harness and the tiny ``testkit`` feature/profile.

The ``testkit`` feature adds commands that exercise the core's machinery without any
network: ``AT+TDELAY=<s>`` (answer after a virtual delay), ``AT+TPEND`` (pending until the
``TFinish`` stimulus or a 30 s timeout), ``AT+TSEND`` / ``AT+TSEND=<n>`` (``> `` prompt, Ctrl+Z
(limit 16 bytes) or fixed length, ESC cancels), ``AT+TAFTER`` (a URC raised while it runs and one
queued after its final result), ``AT+TCRASH`` (a handler bug). The ``TUrc`` stimulus raises a
URC at any moment. Used by tests/core and tests/modules; never by a real profile. (The
line-by-line ``ModemHarness`` of the pytest plugin is ``harness.py``.)

Must not: do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from emulator.at.commands import AtCommand
from emulator.core.events import CommandHandled, ToHost
from emulator.core.modem import Context, Modem
from emulator.core.results import Final
from emulator.core.stimuli import Stimulus
from emulator.modules import load_module
from emulator.modules.profile import CommandTable, Feature, Pending, Prompt, Reply

T = CommandTable("testkit")


@dataclass(frozen=True)
class TUrc(Stimulus):
    text: str


@dataclass(frozen=True)
class TFinish(Stimulus):
    text: str = "+TPEND: finished"


@T.set("+TDELAY")
def tdelay_set(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+TDELAY: {cmd.int(0, lo=0)}",), delay=float(cmd.int(0, lo=0)))


@T.exec("+TPEND")
def tpend_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(pending=Pending("tpend", timeout=30.0))


def _sent(data: bytes, ctx: Context) -> Reply:
    return Reply(lines=(f"+TSEND: {len(data)},{data.hex()}",), final=Final("SEND OK"))


@T.exec("+TSEND")
def tsend_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(prompt=Prompt(_sent, limit=16, on_cancel=lambda c: Reply(lines=("+TSEND: cancelled",))))


@T.set("+TSEND")
def tsend_set(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(prompt=Prompt(_sent, length=cmd.int(0, lo=1, hi=64)))


@T.exec("+TAFTER")
def tafter_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.urc("+TAFTER: during")
    return Reply(lines=("+TAFTER: line",), after=("+TAFTER: after",))


@T.exec("+TCRASH")
def tcrash_exec(cmd: AtCommand, ctx: Context) -> Reply:
    raise RuntimeError("handler bug")


def _on_urc(stim: TUrc, ctx: Context) -> None:
    ctx.urc(stim.text)


def _on_finish(stim: TFinish, ctx: Context) -> None:
    ctx.finish("tpend", Reply(lines=(stim.text,)))


TESTKIT = Feature("testkit", T, stimuli={TUrc: _on_urc, TFinish: _on_finish})


def profile_with_testkit(module: str = "ec800e"):
    base = load_module(module)
    return replace(base, name=f"{base.name}+testkit", features=base.features + (TESTKIT,))


class Harness:
    """Feed bytes, collect what the host would read and which lines were handled."""

    def __init__(self, profile) -> None:
        self.modem = Modem(profile)
        self.handled: list[CommandHandled] = []
        self.other: list[object] = []
        self.boot = self.take()

    def take(self) -> bytes:
        out = bytearray()
        for event in self.modem.events():
            if isinstance(event, ToHost):
                out += event.data
            elif isinstance(event, CommandHandled):
                self.handled.append(event)
            else:
                self.other.append(event)
        return bytes(out)

    def send(self, data: bytes | str) -> bytes:
        self.modem.receive_data(data.encode() if isinstance(data, str) else data)
        return self.take()

    def stim(self, stimulus: Stimulus) -> bytes:
        self.modem.receive_stimulus(stimulus)
        return self.take()

    def advance(self, seconds: float) -> bytes:
        self.modem.advance(seconds)
        return self.take()

    @property
    def ctx(self) -> Context:
        return self.modem.ctx


def make_harness(module: str = "ec800e", testkit: bool = True, echo: bool = False) -> Harness:
    h = Harness(profile_with_testkit(module) if testkit else load_module(module))
    if not echo:
        out = h.send("ATE0\r")
        assert out.endswith(b"OK\r\n"), out
    return h
