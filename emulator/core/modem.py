"""The sans-IO modem: host bytes and network stimuli in, framed bytes and effects out.

h11-shaped: ``receive_data(bytes)`` and ``receive_stimulus(stimulus)`` feed it,
``advance(seconds)`` moves its clock, ``next_event()`` hands out :mod:`events` until it
returns None. One command line is executed at a time; input that arrives while a command is
still running (a delay, a pending network answer) waits in the inbox and is executed after
the final result. Every command line gets exactly one final result; URCs raised while a
command runs or a prompt is open are held and written after the final result, so they never
split a response. The profile's features (the contract in ``core/feature.py``) declare the
hooks the modem calls: whether the UART takes bytes, whether the network reaches the device and
when it can be paged, command-line start, power on/off, and the device's energy meter
(``Modem.energy``, made once, it outlives reboots).

Must not: do I/O, read the wall clock, know any particular command (features do), or import
anything above ``core/``, ``at/`` and ``errors`` (``tests/test_layering.py``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, Callable

from ..at.commands import ArgError, AtCommand, Kind
from ..at.grammar import SyntaxErrorInLine, parse_line
from .clock import Timer, VirtualClock
from .context import Context
from .energy import EnergyMeter
from .events import CommandHandled, Event, PowerOff, Reset, ToHost
from .feature import ProfileLike, Prompt, Reply, declared_hooks
from .linejob import LineJob
from .framing import (CommandLine, DataCancelled, DataComplete, DataTooLong, Garbage,
                      LineDiscipline, Overflow, RepeatLast)
from .results import ERROR, OK, CmeError, Final, Result
from .stimuli import DtrChanged, PowerOn, Stimulus


class Modem:
    def __init__(self, profile: ProfileLike, *, clock: VirtualClock | None = None,
                 name: str | None = None, boot: bool = True) -> None:
        self.profile = profile
        self.name = name or profile.name
        self.clock = clock or VirtualClock()
        self.framing = LineDiscipline()
        self.framing.echo = profile.quirks.echo_default
        self._out: deque[Event | bytearray] = deque()  # bytearray: host bytes still growing (_emit)
        self._inbox = bytearray()
        self._held: list[bytes] = []
        self._held_lead: list[bytes] = []
        self._held_tail: list[bytes] = []
        self._job: LineJob | None = None
        self._prompt: Prompt | None = None
        self._pending_key: str | None = None
        self._pending_timer: Timer | None = None
        self._last_line = ""
        self._current_line = ""
        self.powered = True
        self.crashes: list[tuple[str, str]] = []  # (line, exception) of handler bugs, answered ERROR
        self.commands = profile.commands.handlers
        self._timers: set[Timer] = set()  # everything scheduled through ctx.later
        self.dtr_line_high = False  # the host's DTR level: a wire, it outlives power cycles
        self.ctx = Context(self)
        self._stimulus_handlers: list[tuple[type, Callable]] = []
        for feature in profile.features:
            self._stimulus_handlers.extend(feature.stimuli.items())
        # the hooks the features declare (core/feature.py), in profile order
        self._input_gates = declared_hooks(profile.features, "input_gate")
        self._reach_gates = declared_hooks(profile.features, "reach_gate")
        self._paging_hooks = declared_hooks(profile.features, "next_paging")
        self._line_hooks = declared_hooks(profile.features, "on_line")
        self._power_hooks = declared_hooks(profile.features, "on_power")
        # one energy meter per device: it outlives reboots and power cycles ("off" time)
        makers = declared_hooks(profile.features, "energy")
        self.energy: EnergyMeter | None = makers[0](self.ctx) if makers else None
        self._init_state()
        if boot:
            self.boot()

    def _init_state(self) -> None:
        """Fresh state for every feature (power-on, reboot); pending timers die with the old."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if hasattr(self.ctx.state, "v250"):
            for feature in self.profile.features:
                if feature.on_shutdown:
                    feature.on_shutdown(self.ctx)
        self.ctx.state = SimpleNamespace()
        self.v250 = SimpleNamespace(verbose=True, quiet=False, cmee=int(self.profile.defaults.get("cmee", 1)))
        self.ctx.state.v250 = self.v250
        for feature in self.profile.features:
            if feature.init:
                feature.init(self.ctx)

    # --- public sans-IO surface -----------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        if not self.powered or (self._input_gates and not all([g(self.ctx) for g in self._input_gates])):
            return  # powered down, or the UART sleeps (BG96 in PSM): the bytes are lost
        self._inbox += data
        self._pump()

    def receive_stimulus(self, stimulus: Stimulus) -> None:
        if isinstance(stimulus, PowerOn):
            if not self.powered:
                self.powered = True
                self.reboot(delay=0.0)
                for hook in self._power_hooks:
                    hook(self.ctx, True)
            return
        if isinstance(stimulus, DtrChanged):
            self.dtr_line_high = stimulus.high  # kept even while off: applies at power-on
        if not self.powered:
            return
        for kind, handler in self._stimulus_handlers:
            if isinstance(stimulus, kind):
                handler(stimulus, self.ctx)
        self._pump()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._pump()

    def next_event(self) -> Event | None:
        if not self._out:
            return None
        event = self._out.popleft()
        return ToHost(bytes(event)) if isinstance(event, bytearray) else event

    def events(self) -> list[Event]:
        out = [ToHost(bytes(e)) if isinstance(e, bytearray) else e for e in self._out]
        self._out.clear()
        return out

    @property
    def reachable(self) -> bool:
        """Can network data reach the device now? (powered, and every reach gate agrees)."""
        return self.powered and all(gate(self.ctx) for gate in self._reach_gates)

    def next_paging(self) -> float | None:
        """When the network can next page the device to hand it held data (now, if it can
        already); None: not pageable (powered down, PSM, detached: it must wake by itself)."""
        if not self.powered:
            return None
        times = [t for hook in self._paging_hooks if (t := hook(self.ctx)) is not None]
        return min(times) if times else None

    @property
    def state(self) -> SimpleNamespace:
        return self.ctx.state

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def pending_input(self) -> int:
        """Host bytes received but not yet taken by the line discipline (a command is still
        running): the transports stop reading above their bound (flow control)."""
        return len(self._inbox)

    def boot(self) -> None:
        """Emit the power-on URCs (after ``boot_delay`` virtual seconds)."""
        learned = self.framing.host_crlf  # the host's line end is the host's, not the module's
        self.framing = LineDiscipline()
        self.framing.host_crlf = learned
        self.framing.echo = self.profile.quirks.echo_default

        def emit(_ctx: Context) -> None:
            for text in self.profile.quirks.boot_urcs:
                self._urc(text)
            for feature in self.profile.features:
                if feature.on_boot:
                    feature.on_boot(self.ctx)
        if self.profile.quirks.boot_delay:
            self.ctx.later(self.profile.quirks.boot_delay, emit, "boot")
        else:
            emit(self.ctx)

    def reboot(self, delay: float = 0.5) -> None:
        """Restart: every feature's state is fresh, executors drop their connections
        (``Reset`` effect), and the boot URCs come after ``delay`` virtual seconds."""
        self._inbox.clear()
        self._job = None
        self._prompt = None
        self._pending_key = None
        self._held.clear()
        self._held_lead.clear()
        self._held_tail.clear()
        self._out.append(Reset())
        self._init_state()
        if delay:
            self.clock.call_later(delay, lambda: (self.boot(), self._pump()), "reboot")
        else:
            self.boot()

    def power_off(self) -> None:
        """Stop answering (AT+QPOWD after its URC, or the console API)."""
        self.powered = False
        self._inbox.clear()
        self._job = None
        self._prompt = None
        self._pending_key = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._out.append(PowerOff())
        for hook in self._power_hooks:
            hook(self.ctx, False)

    # --- output ---------------------------------------------------------------------------
    def _emit(self, data: bytes) -> None:
        """Queue bytes for the host. Consecutive bytes share one growing buffer (a bytearray in
        ``_out``, handed out as one :class:`ToHost`): appending is amortised O(1), so output
        that piles up (a 2 MB backlog's echoes and OKs before the port drains) stays linear;
        building a new ``bytes`` per emit copied everything queued so far each time."""
        if data:
            if self._out and isinstance(self._out[-1], bytearray):
                self._out[-1] += data
            else:
                self._out.append(bytearray(data))

    @property
    def _eol(self) -> bytes:
        """<S3><S4> (CR LF unless changed): V.250 §5.7.1 frames responses and result codes with
        them ("also generated for result codes and information text", BG96 AT manual ATS3/ATS4)."""
        return bytes((self.framing.s3 & 0x7F, self.framing.s4 & 0x7F))

    def _frame(self, text: str | bytes) -> bytes:
        body = text.encode("utf-8") if isinstance(text, str) else text
        if self.v250.verbose:
            return self._eol + body + self._eol
        return body + self._eol

    def _frame_block(self, lines: "tuple[str | bytes, ...]") -> bytes:
        """One command's information response: its lines are one block, ``\\r\\n`` between
        them and around it (``ATI`` -> ``\\r\\nQuectel\\r\\nBG96\\r\\nRevision: ...\\r\\n``, as a
        real BG96 prints it and guide 001 §6.1 shows for ``AT+QLWCFG``), not one block per line."""
        body = self._eol.join(ln.encode("utf-8") if isinstance(ln, str) else ln for ln in lines)
        return self._frame(body)

    def _urc(self, text: str | bytes, where: str = "") -> None:
        framed = self._eol + (text.encode("utf-8") if isinstance(text, str) else text) + self._eol
        if self._job is not None and where:
            (self._held_lead if where == "lead" else self._held_tail).append(framed)
        elif self._job is not None or self.framing.in_data_mode:
            self._held.append(framed)
        else:
            self._emit(framed)

    def _final(self, result: Result) -> None:
        final = result.render(self.v250.cmee) if isinstance(result, CmeError) else result
        if not self.v250.quiet:
            if self.v250.verbose:
                self._emit(self._eol + final.text.encode() + self._eol)
            elif final.numeric is not None:
                self._emit(str(final.numeric).encode() + self._eol[:1])
            else:
                self._emit(final.text.encode() + self._eol)
        self._out.append(CommandHandled(self._current_line, final.text))

    # --- input loop -----------------------------------------------------------------------
    def _pump(self) -> None:
        while self._inbox and self.powered and (self._job is None or self._prompt is not None):
            prompt = self._prompt
            # a bounded slice per step: linear in the input, never a copy of the whole backlog
            # (deleting from the front of a bytearray is O(1) in CPython)
            echo, event, used = self.framing.step(bytes(self._inbox[:_STEP]))
            del self._inbox[:used]
            self._emit(echo)
            if used and event is None and prompt is not None and prompt.on_progress is not None:
                prompt.on_progress(self.ctx)
            if event is not None:
                self._on_line_event(event)

    def _on_line_event(self, event: object) -> None:
        if isinstance(event, CommandLine):
            self._last_line = event.text
            self._run_line(event.text)
        elif isinstance(event, RepeatLast):
            if self.framing.echo:
                self._emit(self._eol[:1])  # A/ has no S3 of its own: end the echoed line
            self._run_line(self._last_line or "AT")
        elif isinstance(event, (Garbage, Overflow)):
            self._current_line = "<garbage>" if isinstance(event, Garbage) else "<overlong line>"
            self._final(ERROR)
            self._flush_held()
        elif isinstance(event, (DataComplete, DataCancelled, DataTooLong)):
            self._on_prompt_data(event)

    def _run_line(self, text: str) -> None:
        self._current_line = text
        try:
            commands = parse_line(text, self.profile.grammar)
        except SyntaxErrorInLine:
            self._final(ERROR)
            self._flush_held()
            return
        self._job = LineJob(commands)
        for hook in self._line_hooks:
            hook(self.ctx)
        self._continue()

    def _continue(self) -> None:
        job = self._job
        while job is not None and job.index < len(job.commands):
            cmd = job.commands[job.index]
            handler = self.commands.get((cmd.name, cmd.kind))
            if handler is None:
                self._end(ERROR)
                return
            try:
                reply = handler(cmd, self.ctx)
            except ArgError as exc:
                self._end(CmeError(exc.cme) if exc.cme is not None else ERROR)
                return
            except Exception as exc:  # noqa: BLE001 - a handler bug must not wedge the port
                self.crashes.append((cmd.raw or self._current_line, repr(exc)))
                self._end(ERROR)
                return
            if not self._apply(reply):
                return  # waiting: prompt, pending or delay
            job = self._job
        if job is not None:
            self._end(job.last_final)

    def _apply(self, reply: Reply) -> bool:
        """Apply one reply; True when the job may go on with its next command."""
        job = self._job
        assert job is not None
        if reply.delay > 0:
            delayed = replace(reply, delay=0.0)
            job.timer = self.clock.call_later(reply.delay, lambda: self._resume(delayed), "reply-delay")
            return False
        if reply.lines:
            self._emit(self._frame_block(reply.lines))
        if reply.raw:
            self._emit(reply.raw)
        for effect in reply.effects:
            self._out.append(effect)
        job.after.extend(reply.after)
        if reply.prompt is not None:
            self._prompt = reply.prompt
            self._emit(reply.prompt.text)
            self.framing.start_data(reply.prompt.length, reply.prompt.limit, reply.prompt.echo,
                                    cr_echo=reply.prompt.cr_echo)
            return False
        if reply.pending is not None:
            self._pending_key = reply.pending.key
            pend = reply.pending
            self._pending_timer = self.clock.call_later(pend.timeout, lambda: self._pending_timeout(pend), "pending")
            return False
        if reply.final is None:
            return False
        job.last_final = reply.final
        if getattr(reply.final, "is_error", False):
            self._end(reply.final)
            return False
        job.index += 1
        return True

    def _resume(self, reply: Reply) -> None:
        if self._job is None:
            return
        if self._apply(reply):
            self._continue()
        self._pump()

    def _on_prompt_data(self, event: object) -> None:
        prompt, self._prompt = self._prompt, None
        if prompt is None or self._job is None:
            return
        if isinstance(event, DataComplete):
            reply = prompt.on_data(event.data, self.ctx)
        elif isinstance(event, DataCancelled):
            reply = prompt.on_cancel(self.ctx) if prompt.on_cancel else Reply()
        else:
            reply = prompt.on_too_long(self.ctx) if prompt.on_too_long else Reply(final=ERROR)
        self._resume(reply)

    def _abort_prompt(self, reply: Reply) -> bool:
        if self._prompt is None or self._job is None:
            return False
        self._prompt = None
        self.framing.cancel_data()
        self._resume(reply)
        return True

    def _finish_pending(self, key: str, reply: Reply) -> bool:
        if self._pending_key != key or self._job is None:
            return False
        self._pending_key = None
        if self._pending_timer:
            self._pending_timer.cancel()
        self._resume(reply)
        return True

    def _pending_timeout(self, pend: Any) -> None:
        if self._pending_key != pend.key:
            return
        self._pending_key = None
        self._resume(pend.on_timeout(self.ctx) if pend.on_timeout else Reply(final=ERROR))

    def _end(self, result: Result) -> None:
        job, self._job = self._job, None
        self._final(result)
        lead, self._held_lead = self._held_lead, []
        for data in lead:
            self._emit(data)
        for text in job.after if job is not None else ():
            self._urc(text)
        self._flush_held()

    def _flush_held(self) -> None:
        if self._held or self._held_lead or self._held_tail:
            held, self._held = self._held + self._held_lead, []
            held += self._held_tail
            self._held_lead, self._held_tail = [], []
            for data in held:
                self._emit(data)


_STEP = 512  # bytes the line discipline looks at per step (it stops at the first event)


__all__ = ["Context", "Modem", "Kind", "Final"]
