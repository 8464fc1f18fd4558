"""The test bench: an Emulator, one host link per modem, and virtual time that autojumps.

Used by the scenario runner and by :class:`emulator.testing.harness.ModemHarness`. Each modem's
host end is a :class:`~emulator.transport.hostlink.HostLink` (in-process or through its pty
with pyserial), attached from ``Emulator.on_port`` so the boot output is read too. Output is
split into lines on CR/LF (empty lines ignored); the echo of what was sent is skipped. While a
step waits and nothing has happened for ``idle`` wall seconds, the virtual clock jumps to the
next timer deadline (like trio's MockClock autojump) but never beyond the step's budget, on
either transport (the clock never follows the wall, so pty and memory runs agree); real
loopback I/O still needs wall time, so each step is also capped in wall seconds. Virtual time
never moves while bytes the host wrote are still in the pty (``Link.in_flight``, counted against
``ModemPort.rx_bytes``): a prompt's timeout must not fire ahead of its data. Controls
(``control:``, ``advance:``, platform actions, energy) go through :class:`emulator.control.Control`.

Must not: know the YAML format (loader.py), print (report.py) or decide what a control does
to the emulator (control.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..config import Config, ModemSpec
from ..control import Control, ControlError
from ..transport.hostlink import open_host_link
from . import actions as control_actions
from .link import Entry, Link, StepFailure  # noqa: F401 - re-exported (runner, harness, tests)
from .model import ModemDecl
from .patterns import Pattern


class Bench:
    """An Emulator with one host :class:`Link` per modem; the scenario steps' primitives."""

    def __init__(self, modems: list[ModemDecl], *, backends: list[str] | None = None,
                 config: dict[str, Any] | None = None, transport: str = "memory",
                 idle: float = 0.02, idle_long: float = 0.06, grace: float = 0.2) -> None:
        if transport not in ("memory", "pty"):
            raise ValueError(f"transport must be memory or pty, not {transport!r}")
        self.decls, self.backend_names = modems, backends
        self.config = dict(config or {})
        self.transport, self.idle, self.idle_long, self.grace = transport, idle, idle_long, grace
        self.links: dict[str, Link] = {}
        self.transcript: list[Entry] = []
        self.emulator: Any = None
        self.controls: Control | None = None
        self.activity = asyncio.Event()
        self.t0 = 0.0

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        from ..transport.runner import Emulator
        cfg = Config(backends=dict(self.config.get("backends") or {}), routes=list(self.config.get("routes") or []))
        common = dict(self.config.get("modem") or {})
        specs = [ModemSpec(d.name, d.module, {**common, **d.overrides}) for d in self.decls]
        pty = self.transport == "pty"
        self.emulator = Emulator(cfg, modems=specs, ephemeral=True, follow_wall=False, with_pty=pty,
                                 with_tcp=False, backends=self.backend_names)
        self.emulator.on_activity(self.activity.set)
        self.controls = Control(self.emulator)
        for d in self.decls:
            self.links[d.name] = Link(self, d.name)
        transport = self.transport

        def attach(port: Any) -> None:
            base = port.rx_bytes
            self.links[port.name].attach(open_host_link(port, transport), lambda: port.rx_bytes - base)
        self.emulator.on_port(attach)
        await self.emulator.start()
        self.t0 = self.emulator.clock.now()

    async def stop(self) -> None:
        for link in self.links.values():
            try:
                link.close()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
        if self.emulator is not None:
            await self.emulator.stop()

    async def __aenter__(self) -> "Bench":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- time -----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.emulator.clock.now()

    def log(self, modem: str, kind: str, text: str) -> None:
        self.transcript.append(Entry(self.now - self.t0, modem, kind, text))

    def _wall_check(self, wall_deadline: float | None, what: str) -> None:
        if wall_deadline is not None and asyncio.get_running_loop().time() > wall_deadline:
            raise StepFailure(f"{what}: wall-clock timeout (real I/O did not complete in time)")

    async def settle(self, vdeadline: float, wall_deadline: float | None = None, *, grace: bool = True,
                     what: str = "step") -> bool:
        """Let one thing happen. False means: quiet and the virtual budget is used up."""
        self._wall_check(wall_deadline, what)
        self.activity.clear()
        try:
            await asyncio.wait_for(self.activity.wait(), self.idle)
            return True
        except asyncio.TimeoutError:
            pass
        now, nxt = self.now, self.emulator.clock.next_deadline()
        if nxt is not None and nxt <= now:  # due already (ctx.later(0, ...)): fire it
            self.emulator.advance(0.0)
            return True
        target = nxt if nxt is not None and nxt <= vdeadline else vdeadline
        if target > now and self._input_in_flight():
            # Bytes the host wrote are still in the pty/socket: the modem reads them before
            # virtual time moves on (else a prompt's timeout fires ahead of its data).
            await asyncio.sleep(self.idle)
            return True
        if target > now:
            if target - now > 1.0 and self.idle_long > self.idle:
                # A long jump may skip a network timeout: give loopback I/O (TLS handshakes
                # on a loaded machine) a little longer to show up first.
                try:
                    await asyncio.wait_for(self.activity.wait(), self.idle_long - self.idle)
                    return True
                except asyncio.TimeoutError:
                    pass
            self.emulator.advance(target - now)
            return True
        if grace:
            self.activity.clear()
            try:
                await asyncio.wait_for(self.activity.wait(), self.grace)
                return True
            except asyncio.TimeoutError:
                pass
        return False

    def _input_in_flight(self) -> bool:
        """Some link has written bytes its modem has not read yet (and is not holding off by
        flow control, which lets the modem work through its input first)."""
        return any(link.in_flight() and not self.controls.port(name).intake_paused
                   for name, link in self.links.items())

    async def delivered(self, wall: float = 10.0) -> None:
        """Wait (up to ``wall`` real seconds) until each modem has read what its host wrote."""
        wall_deadline = asyncio.get_running_loop().time() + wall
        while self._input_in_flight():
            self._wall_check(wall_deadline, "send")
            await asyncio.sleep(self.idle / 4)

    async def quiesce(self) -> None:
        """Let pending I/O finish without moving virtual time."""
        now = self.now
        while await self.settle(now, grace=False):
            if self.now != now:  # pragma: no cover - settle never jumps past now
                break

    async def skip_boot(self, wall: float = 10.0) -> None:
        """Read and drop each modem's power-on URCs (through the last one its profile lists)."""
        loop = asyncio.get_running_loop()
        for name, link in self.links.items():
            boot = [str(u) for u in self.controls.port(name).profile.quirks.boot_urcs]
            vdeadline, wall_deadline = self.now + 60.0, loop.time() + wall
            while boot:
                line = link.pop_line()
                if line is None:
                    if not await self.settle(vdeadline, wall_deadline, what="boot"):
                        break
                    continue
                if line == boot[-1]:
                    break
        await self.quiesce()
        for link in self.links.values():
            self._unread(link)
        self.transcript.clear()  # the boot is not part of the story

    # --- steps ----------------------------------------------------------------------------
    def _boot_hint(self, modem: str, lines: list[str]) -> str:
        """A failure that met the modem's power-on URCs says how to deal with them."""
        try:
            boot = {str(u) for u in self.controls.port(modem).profile.quirks.boot_urcs}
        except Exception:  # noqa: BLE001 - a hint only
            return ""
        if not boot.intersection(lines):
            return ""
        return (" — that is the modem's boot output: set skip_boot: true (scenario) or "
                "skip_boot=True (harness) to drop it before the first step, or expect it")

    def _unread(self, link: Link) -> list[str]:
        lines = []
        while (line := link.pop_line()) is not None:
            lines.append(line)
        return lines

    async def send(self, modem: str, data: bytes, *, echo: str, allow_other: bool = False) -> None:
        link = self.links[modem]
        stray = self._unread(link)
        if stray and not allow_other:
            raise StepFailure(f"unexpected output before sending {echo!r}{self._boot_hint(modem, stray)}", [], stray)
        for line in stray:
            self.log(modem, "other", line)
        link.expect_echo(echo)
        self.log(modem, "tx", echo)
        link.write(data)
        await asyncio.sleep(0)

    async def expect(self, modem: str, patterns: list[Pattern], variables: dict[str, str], *,
                     within: float, wall: float, allow_other: bool = False) -> dict[str, str]:
        link = self.links[modem]
        loop = asyncio.get_running_loop()
        vdeadline, wall_deadline = self.now + within, loop.time() + wall
        captures: dict[str, str] = {}
        got: list[str] = []
        idx = 0
        while idx < len(patterns):
            line = link.pop_line()
            if line is None:
                if not await self.settle(vdeadline, wall_deadline, what="expect"):
                    missing = patterns[idx].render({**variables, **captures})
                    raise StepFailure(f"no line {missing!r} within {within:g} s (virtual)",
                                      [p.render({**variables, **captures}) for p in patterns],
                                      got + ["<nothing more>"])
                continue
            got.append(line)
            caps = patterns[idx].match(line, {**variables, **captures})
            if caps is not None:
                captures.update(caps)
                idx += 1
                continue
            if allow_other:
                self.transcript[-1].kind = "other"
                continue
            await self.quiesce()
            got.extend(self._unread(link))
            raise StepFailure(f"unexpected line {line!r} (wanted {patterns[idx].render({**variables, **captures})!r})"
                              f"{self._boot_hint(modem, got)}",
                              [p.render({**variables, **captures}) for p in patterns], got)
        link.echoes.clear()
        return captures

    async def expect_prompt(self, modem: str, prompt: str, *, within: float, wall: float,
                            allow_other: bool = False) -> None:
        link = self.links[modem]
        vdeadline = self.now + within
        wall_deadline = asyncio.get_running_loop().time() + wall
        want = prompt.encode()
        while True:
            line = link.pop_line()
            if line is not None:
                if allow_other:
                    self.transcript[-1].kind = "other"
                    continue
                raise StepFailure(f"unexpected line {line!r} while waiting for prompt {prompt!r}", [prompt], [line])
            if link.take_prefix(want):
                self.log(modem, "rx", prompt)
                link.echoes.clear()
                return
            if not await self.settle(vdeadline, wall_deadline, what="expect_prompt"):
                raise StepFailure(f"no prompt {prompt!r} within {within:g} s (virtual)", [prompt],
                                  [bytes(link.rx).decode("utf-8", "replace") or "<nothing>"])

    async def expect_none(self, modem: str, seconds: float, *, wall: float) -> None:
        link = self.links[modem]
        vdeadline = self.now + seconds
        wall_deadline = asyncio.get_running_loop().time() + wall
        while True:
            line = link.pop_line()
            if line is not None:
                await self.quiesce()
                raise StepFailure(f"expected no output for {seconds:g} s", ["<nothing>"], [line, *self._unread(link)])
            if not await self.settle(vdeadline, wall_deadline, what="expect_none"):
                return

    async def wait(self, seconds: float, *, wall: float) -> None:
        vdeadline = self.now + seconds
        wall_deadline = asyncio.get_running_loop().time() + wall
        while await self.settle(vdeadline, wall_deadline, grace=False, what="wait"):
            pass

    async def advance(self, seconds: float) -> None:
        await self.delivered()
        self.controls.advance(seconds)
        await self.quiesce()

    async def finish(self, *, allow_other: bool = False) -> None:
        """End of a run: everything the modems said must have been expected."""
        await self.quiesce()
        for name, link in self.links.items():
            stray = self._unread(link)
            if stray and not allow_other:
                raise StepFailure(f"{name}: unexpected output after the last step", ["<nothing>"], stray)

    # --- control plane and platforms (emulator/control.py) --------------------------------
    async def control(self, modem: str, action: dict[str, Any]) -> None:
        """A ``control:`` step (``scenarios/actions.py``); a refused control fails the step."""
        try:
            control_actions.apply(self.controls, modem, action)
        except ControlError as exc:
            raise StepFailure(f"control {action}: {exc}") from None
        self.log(modem, "note", f"control {action}")
        await asyncio.sleep(0)

    # --- energy ---------------------------------------------------------------------------
    def energy_reports(self) -> dict[str, dict]:
        return self.controls.energy_reports() if self.controls is not None else {}

    async def energy_below(self, modem: str, limit_uah: float) -> None:
        """The modem's charge since power-on (energy meter, virtual time) must be under the limit."""
        await self.quiesce()
        report = self.energy_reports().get(modem)
        if report is None:
            raise StepFailure(f"{modem}: no energy meter (the module has no power feature)")
        used = report["charge_uah"]
        self.log(modem, "note", f"energy {used:g} uAh (limit {limit_uah:g} uAh)")
        if used >= limit_uah:
            secs = ", ".join(f"{k} {v:g}s" for k, v in report["seconds"].items() if v)
            raise StepFailure(f"{modem}: used {used:g} uAh, not below {limit_uah:g} uAh ({secs})")

    async def platform(self, backend: str, action: str, args: dict[str, Any], *, wall: float) -> Any:
        try:
            result = self.controls.platform(backend, action, args)
        except ControlError as exc:
            raise StepFailure(str(exc)) from None
        if asyncio.iscoroutine(result):
            result = await asyncio.wait_for(result, wall)
        self.log("platform", "note", f"{backend}.{action} -> {result!r}")
        return result
