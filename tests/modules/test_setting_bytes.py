"""The bytes of the integer settings every module answers, pinned per module.

For each module and each of AT+CMEE=0/1/2 a fresh modem gets the same probes of each setting
command (test, read, exec, in-range, out-of-range, garbage, empty, quoted, too many arguments),
and the answers must equal ``tests/data/setting_bytes/<module>.txt`` byte for byte; the file
also pins AT+CLAC (the commands each module lists). A command the module lacks answers ERROR
there too, so a helper that registered one by mistake shows.

Regenerate after a deliberate change (and review the diff):
``.venv/bin/python tests/modules/test_setting_bytes.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "setting_bytes"
MODULES = ("bg96", "ec800e", "wm-n400mse", "amm5918k")

COMMANDS = ("+CSCON", "+CREG", "+CGREG", "+CEREG", "+CTZR", "+CTZU", "+CUSD", "+CSMS", "+CMGF", "+CMMS",
            "+CSDH", "*SKT*NEWMSG", "+IFC", "+ICF", "+CGEREP", "+CLIP", "+CRC", "+CVHU")
PROBES = ("=?", "?", "", "=0", "?", "=1", "?", "=2", "?", "=3", "?", "=4", "?", "=5", "?", "=9", "=65535", "?",
          "=65536", "=-1", "=x", "=", '="1"', "?", "=1,0", "?", "=2,2", "?", "=6,3", "?", "=1,4", "=1,", "?",
          "=,1", "?", "=1,1,1", "=1,x", "=0", "?")
# read/test only (their set form has side effects on the radio and is not a plain setting)
READ_ONLY = {"+CFUN": ("=?", "?", "=9", "=x", "=", "=1,5", "=4,1", "?"), "+CGATT": ("=?", "?", "=2", "=x", "?"),
             "+CNMA": ("=?",)}


def _lines(module: str, cmee: int) -> list[tuple[str, bytes]]:
    from emulator.testing.sansio import make_harness

    h = make_harness(module, testkit=False)
    assert h.send(f"AT+CMEE={cmee}\r") == b"\r\nOK\r\n"
    out = []
    for name, probes in [*((c, PROBES) for c in COMMANDS), *READ_ONLY.items()]:
        for probe in probes:
            line = f"AT{name}{probe}"
            out.append((line, h.send(line + "\r")))
    if cmee == 1:  # +CMEE itself changes the rendering as it goes: once, from 1
        for probe in (*PROBES, "", "?", "=2", "=9", "=x", "=1"):
            line = f"AT+CMEE{probe}"
            out.append((line, h.send(line + "\r")))
        out.append(("AT+CLAC", h.send("AT+CLAC\r")))
    return out


def render(module: str) -> str:
    """One line per probe: the command, its answer under CMEE=1, and where CMEE=0/2 differ."""
    runs = {cmee: _lines(module, cmee) for cmee in (0, 1, 2)}
    rows = [f"# {module}: probe<TAB>answer with AT+CMEE=1[<TAB>cmee0=...][<TAB>cmee2=...]"]
    for i, (line, answer) in enumerate(runs[1]):
        row = [line, repr(answer)[1:]]
        for cmee in (0, 2):
            if i < len(runs[cmee]) and runs[cmee][i][1] != answer:
                row.append(f"cmee{cmee}={repr(runs[cmee][i][1])[1:]}")
        rows.append("\t".join(row))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("module", MODULES)
def test_setting_bytes_are_unchanged(module: str) -> None:
    expected = (GOLDEN / f"{module}.txt").read_text(encoding="utf-8").splitlines()
    got = render(module).splitlines()
    diff = [f"{e!r} -> {g!r}" for e, g in zip(expected, got) if e != g]
    assert not diff and len(got) == len(expected), diff[:10] or (len(got), len(expected))


def test_the_pin_can_fail() -> None:
    """A changed answer shows: +CTZR's test text is part of the pinned file."""
    text = (GOLDEN / "bg96.txt").read_text(encoding="utf-8")
    assert "AT+CTZR=?\t'\\r\\n+CTZR: (0-2)\\r\\n\\r\\nOK\\r\\n'" in text
    assert "AT*SKT*NEWMSG=?\t'\\r\\nERROR\\r\\n'" in text  # bg96 lacks it


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for m in MODULES:
        (GOLDEN / f"{m}.txt").write_text(render(m), encoding="utf-8")
        print(f"wrote {GOLDEN / m}.txt")
