"""Golden transcripts: ``tests/data/transcripts/<module>/*.txt`` replayed against a sans-IO modem.

Format, one step per line::

    # comment
    < RDY                 lines before the first action: the boot output (omit them to skip it)
    > AT+CSQ              send ``AT+CSQ`` + CR (the runner has sent ATE0 first: no echo)
    < +CSQ: 20,99         the non-empty response lines that follow, in order, all of them
    < OK
    ~ 5                   advance the virtual clock 5 s, then expect the lines it produced
    ! detach              stimulus: detach | attach | sim_remove | sim_insert | signal <rssi>

``python -m emulator.testing.transcript FILE...`` rewrites the ``<`` lines of each file from
what the modem answers now (review the diff before committing).

Must not: do I/O beyond reading/writing transcript files in the CLI entry point.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.events import ToHost
from ..core.modem import Modem
from ..control import NETWORK_ACTIONS, ControlError, network_stimulus
from ..core.stimuli import Stimulus
from ..modules import load_module


@dataclass
class Step:
    kind: str  # "boot" | ">" | "~" | "!"
    arg: str
    expect: list[str] = field(default_factory=list)
    lineno: int = 0


def parse(text: str) -> list[Step]:
    steps = [Step("boot", "")]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        tag, body = line[:1], line[2:] if line[1:2] == " " else line[1:]
        if tag == "<":
            steps[-1].expect.append(body)
        elif tag in (">", "~", "!"):
            steps.append(Step(tag, body, lineno=n))
        else:
            raise ValueError(f"line {n}: expected '>', '<', '~', '!' or '#', got {line!r}")
    return steps


def _stimulus(spec: str) -> Stimulus:
    name, _, arg = spec.partition(" ")
    if name not in NETWORK_ACTIONS:
        raise ValueError(f"unknown stimulus {name!r}; valid: {', '.join(NETWORK_ACTIONS)}")
    try:
        return network_stimulus(name, int(arg) if name == "signal" else None)
    except (ControlError, ValueError) as exc:
        raise ValueError(f"stimulus {spec!r}: {exc}") from None


def _lines(modem: Modem) -> list[str]:
    data = b"".join(e.data for e in modem.events() if isinstance(e, ToHost))
    return [p for p in data.decode("utf-8", "replace").split("\r\n") if p]


def run(module: str, steps: list[Step]) -> list[tuple[Step, list[str]]]:
    """Replay ``steps``; return (step, actual lines) for every step."""
    modem = Modem(load_module(module))
    out = [(steps[0], _lines(modem))]
    modem.receive_data(b"ATE0\r")
    modem.events()
    for step in steps[1:]:
        if step.kind == ">":
            modem.receive_data(step.arg.encode() + b"\r")
        elif step.kind == "~":
            modem.advance(float(step.arg))
        else:
            modem.receive_stimulus(_stimulus(step.arg))
        out.append((step, _lines(modem)))
    return out


def check(path: Path, module: str | None = None) -> list[str]:
    """Mismatches of one transcript file (empty when it replays exactly)."""
    module = module or path.parent.name
    problems = []
    for step, actual in run(module, parse(path.read_text(encoding="utf-8"))):
        if step.kind == "boot" and not step.expect:
            continue
        if actual != step.expect:
            where = f"{path.name}:{step.lineno}" if step.lineno else f"{path.name}: boot"
            problems.append(f"{where} {step.kind} {step.arg}\n  expected {step.expect}\n  actual   {actual}")
    return problems


def regenerate(path: Path, module: str | None = None) -> str:
    module = module or path.parent.name
    text = path.read_text(encoding="utf-8")
    steps = parse(text)
    results = run(module, steps)
    keep_boot = bool(steps[0].expect)
    out: list[str] = []
    step_iter = iter(results[1:])
    for line in text.splitlines():
        if line.startswith("<"):
            continue
        out.append(line)
        if line[:1] in (">", "~", "!"):
            _, actual = next(step_iter)
            out.extend(f"< {a}" for a in actual)
    if keep_boot:
        first = next(i for i, ln in enumerate(out) if ln[:1] in (">", "~", "!"))
        out[first:first] = [f"< {a}" for a in results[0][1]]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    for name in argv:
        path = Path(name)
        path.write_text(regenerate(path), encoding="utf-8")
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
