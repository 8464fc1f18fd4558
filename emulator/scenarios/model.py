"""Plain data of a scenario: the modems it starts and the ordered steps it runs.

Must not: read files (loader.py), start anything (runner.py) or print (report.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


#: Step kinds, in the order README.md ("Scenarios") documents them.
STEP_KINDS = ("send", "send_raw", "expect", "expect_urc", "expect_prompt", "expect_none",
              "wait", "advance", "platform", "control", "energy_below")


@dataclass
class ModemDecl:
    name: str
    module: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """One step. ``value`` depends on ``kind``:

    send: str (``line_end`` appended, default the scenario's, CR) | send_raw: bytes | expect/expect_urc: list[Pattern] (consecutive
    lines) | expect_prompt: str (the prompt text) | expect_none/wait/advance: float seconds |
    platform: (backend, action, args) | control: dict | energy_below: float µAh.
    """

    kind: str
    value: Any
    line: int
    modem: str | None = None
    within: float | None = None
    allow_other: bool | None = None
    capture_as: str | None = None
    line_end: str | None = None        # send only: overrides Scenario.line_end

    def describe(self) -> str:
        if self.kind in ("expect", "expect_urc"):
            return f"{self.kind}: " + " | ".join(p.source for p in self.value)
        if self.kind == "send_raw":
            return f"send_raw: {self.value!r}"
        if self.kind == "platform":
            backend, action, args = self.value
            return f"platform: {backend}.{action} {args}"
        return f"{self.kind}: {self.value}"


@dataclass
class Scenario:
    name: str
    path: str
    modems: list[ModemDecl]
    steps: list[Step]
    backends: list[str] | None = None  # None = every available backend
    config: dict[str, Any] = field(default_factory=dict)
    within: float = 10.0               # default virtual budget of a waiting step
    wall_timeout: float = 10.0         # wall seconds a single step may take
    allow_other: bool = False
    skip_boot: bool = False
    tags: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)  # optional features ("dtls"); missing -> skipped
    line_end: str = "\r"              # what ``send`` appends ("\r", "\r\n" or "\n")
    line: int = 1

    @property
    def default_modem(self) -> str:
        return self.modems[0].name

    def where(self, step: Step) -> str:
        return f"{self.path}:{step.line}"
