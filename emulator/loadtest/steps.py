"""A scenario's send/expect steps over one modem line, every AT command reported with its latency.

The scenario is the YAML format of ``modemu scenario`` (scenarios/loader.py), restricted to what
a host can do on its own serial line: ``send``, ``send_raw``, ``expect``, ``expect_urc``,
``expect_prompt`` and ``wait`` (wall seconds; the fleet's clock follows the wall clock). Steps
that need the emulator's control plane (``advance``, ``platform``, ``control``, ``energy_below``,
``expect_none``) are refused when the scenario is loaded, with the step's file:line. Besides the
scenario's captures, ``{user}`` (the user's number) and ``{modem}`` (its modem's name) can be
used in sends and expectations, so every simulated device can have its own client id.

Each ``send`` (and each ``send_raw`` data block) is one request: the time from writing the line
to its final result code (``OK``, ``ERROR``, ``+CME ERROR: n``, ``+CMS ERROR: n``, ``NO CARRIER``,
``CONNECT``, ``SEND OK``/``SEND FAIL``...) or data prompt (``> ``), reported through ``report``
as ``("AT", name, ms, response bytes, exception or None)``; ``name`` is the command without its
arguments (``AT+QMTOPEN``, ``AT+CEREG?``, ``AT+QMTCFG=?``). ERROR-type finals and timeouts carry
an exception; an expectation that does not hold raises :class:`StepFailure` (the caller reports
it and starts the next iteration).

Must not: know Locust or gevent (the socket passed in is whatever the caller made it) or start
an emulator.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Callable

from ..scenarios.link import StepFailure
from ..scenarios.loader import load_scenario
from ..scenarios.model import Scenario, Step
from ..scenarios.patterns import Pattern, substitute

Report = Callable[[str, str, float, int, "Exception | None"], None]

SUPPORTED = ("send", "send_raw", "expect", "expect_urc", "expect_prompt", "wait")
# final result codes (ITU-T V.250 §5.7.1 plus 3GPP TS 27.007 §9.2 and the Quectel data-mode finals)
_FAIL = re.compile(r"^(ERROR|\+CME ERROR:.*|\+CMS ERROR:.*|NO CARRIER|NO DIALTONE|BUSY|NO ANSWER|SEND FAIL)$")
_OK = re.compile(r"^(OK|CONNECT( .*)?|SEND OK)$")
_NAME = re.compile(r"^(AT(?:[+#$%^*][A-Z0-9_]+|&?[A-Z]?))(=\?|\?)?", re.IGNORECASE)


class ATError(Exception):
    """The modem answered a command with an error final result (the line is the message)."""


class ATTimeout(Exception):
    """No final result code within the step's wall budget."""


def command_name(line: str) -> str:
    """``AT+QMTOPEN=0,"h",1883`` -> ``AT+QMTOPEN``; ``AT+CEREG?`` -> ``AT+CEREG?``; ``ATE0`` -> ``ATE``."""
    m = _NAME.match(line.strip())
    if m is None:
        return line.strip()[:16] or "(empty)"
    return (m.group(1) + (m.group(2) or "")).upper()


def load(path: str | Path) -> Scenario:
    """The scenario, checked to use only the steps a host can run on its own line."""
    scenario = load_scenario(path)
    if len(scenario.modems) != 1:
        raise ValueError(f"{scenario.path}: a load-test scenario drives one modem per user, "
                         f"this one declares {len(scenario.modems)}")
    for step in scenario.steps:
        if step.kind not in SUPPORTED:
            raise ValueError(f"{scenario.where(step)}: step {step.kind!r} needs the emulator's control plane; "
                             f"a load-test scenario may use {', '.join(SUPPORTED)}")
    return scenario


class LineRunner:
    """The host side of one modem line (a connected socket) running a scenario's steps."""

    def __init__(self, sock: socket.socket, report: Report, variables: dict[str, str] | None = None) -> None:
        self.sock = sock
        self.report = report
        self.base = dict(variables or {})
        self.rx = bytearray()
        self.lines: list[str] = []  # complete lines received and not yet consumed by an expect
        self.prompted = False  # the last command ended at a data prompt
        self.dirty = False     # a command was left without its final result (timeout, user killed)
        self.last_final = ""   # the last command's final result line ("> " for a prompt)

    # --- reading -----------------------------------------------------------------------------
    def _read(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        if not data:
            raise ConnectionError("the modem's line closed")
        self.rx += data
        self._split()
        return True

    def _split(self) -> None:
        while True:
            end = min((i for i in (self.rx.find(b"\r"), self.rx.find(b"\n")) if i >= 0), default=-1)
            if end < 0:
                break
            raw = bytes(self.rx[:end])
            del self.rx[: end + 1]
            if raw:
                self.lines.append(raw.decode("utf-8", "replace"))

    def _take_ready(self) -> None:
        """Read what already arrived, without waiting (URCs before a command are not its answer)."""
        self.sock.settimeout(0)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("the modem's line closed")
                self.rx += data
        except (BlockingIOError, InterruptedError, socket.timeout, TimeoutError):
            pass
        self._split()

    def _next_line(self, deadline: float) -> str | None:
        while not self.lines:
            if not self._read(deadline):
                return None
        return self.lines.pop(0)

    # --- steps -------------------------------------------------------------------------------
    def run(self, scenario: Scenario, wall: float | None = None) -> None:
        """One pass over the steps; StepFailure / ConnectionError stop it."""
        variables = dict(self.base)
        if self.dirty:
            self.resync()
        self.lines.clear()  # what a failed pass left unread is not an answer to this one
        budget = wall if wall is not None else scenario.wall_timeout
        for step in scenario.steps:
            self.step(scenario, step, variables, budget)

    def step(self, scenario: Scenario, step: Step, variables: dict[str, str], budget: float) -> None:
        kind = step.kind
        if kind == "wait":
            time.sleep(float(step.value))  # gevent's sleep when patched: the other users run
        elif kind == "send":
            text = substitute(str(step.value), variables)
            self.command(text, (text + (step.line_end or scenario.line_end)).encode(), budget)
        elif kind == "send_raw":
            data = step.value if isinstance(step.value, bytes) else str(step.value).encode()
            self.command("DATA", data, budget, name="DATA")
        elif kind == "expect_prompt":  # the prompt ended the send's request already (``command``)
            prompt = str(step.value)
            if not (self.prompted if prompt.strip() == ">" else self.last_final == prompt.strip()):
                raise StepFailure(f"{scenario.where(step)}: no prompt {prompt!r} after the last command "
                                  f"(it ended with {self.last_final or 'a timeout'!r})")
        else:  # expect / expect_urc
            self.expect(scenario, step, variables, budget, consecutive=kind == "expect")

    def command(self, text: str, data: bytes, budget: float, name: str | None = None) -> None:
        """Write ``data``, read to its final result (or a prompt); report it as one request."""
        name = name or command_name(text)
        echo = text.strip()
        self._take_ready()
        seen = len(self.lines)
        self.prompted, self.last_final = False, ""
        start = time.perf_counter()
        deadline = time.monotonic() + budget
        self.dirty = True
        self.sock.sendall(data)  # lines already waiting belong to earlier steps
        size, error = 0, None
        while True:
            if self.rx.startswith(b"> ") or self.rx == b">":  # data prompt (no line end follows)
                del self.rx[:2]
                size += 2
                self.prompted, self.last_final = True, ">"
                break
            if len(self.lines) > seen:
                line = self.lines[seen]
                seen += 1
                if line.strip() == echo:  # command echo (ATE1): not part of the response
                    self.lines.pop(seen - 1)
                    seen -= 1
                    continue
                size += len(line) + 2
                if _OK.match(line):
                    self.last_final = line
                    break
                if _FAIL.match(line):
                    self.last_final, error = line, ATError(line)
                    break
                continue
            if not self._read(deadline):
                error = ATTimeout(f"no final result within {budget:g} s")
                break
        self.dirty = isinstance(error, ATTimeout)
        self.report("AT", name, (time.perf_counter() - start) * 1000.0, size, error)

    def resync(self, wall: float = 2.0) -> bool:
        """After a command without its final result: end the modem's half line or data block with
        CR and drop everything up to the final result that answers it, so the next command (or the
        next user of this modem) starts on a clean line. False if the modem stayed silent."""
        deadline = time.monotonic() + wall
        self.sock.sendall(b"\r")
        self.lines.clear()
        while True:
            line = self._next_line(deadline)
            if line is None:
                return False
            if _OK.match(line) or _FAIL.match(line):
                self.dirty = False
                self.lines.clear()
                return True

    def expect(self, scenario: Scenario, step: Step, variables: dict[str, str], budget: float,
               consecutive: bool) -> None:
        patterns: list[Pattern] = list(step.value)
        deadline = time.monotonic() + budget
        allow_other = step.allow_other if step.allow_other is not None else scenario.allow_other
        got: list[str] = []
        i = 0
        while i < len(patterns):
            line = self._next_line(deadline)
            if line is None:
                raise StepFailure(f"{scenario.where(step)}: timed out waiting for "
                                  f"{patterns[i].render(variables)!r}", [p.render(variables) for p in patterns], got)
            got.append(line)
            captured = patterns[i].match(line, variables)
            if captured is not None:
                variables.update(captured)
                i += 1
            elif consecutive and not allow_other and i > 0:
                raise StepFailure(f"{scenario.where(step)}: expected {patterns[i].render(variables)!r}, got {line!r}",
                                  [p.render(variables) for p in patterns], got)
