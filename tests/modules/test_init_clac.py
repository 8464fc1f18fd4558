"""AT+CLAC tells the truth: every command it lists answers (its test form, or for a basic
command the form that applies), and commands the module lacks are not listed."""

from __future__ import annotations

import re

import pytest

from emulator.testing.sansio import make_harness

MODULES = ("bg96", "ec800e", "wm-n400mse", "amm5918k")
# commands each module does NOT answer (checked against the table: not listed, ERROR when sent)
LACKS = {
    "bg96": ("AT+QLWCONFIG", "AT$$SWVER", "AT@NSI", "AT+CMUX", "AT+QCOAPCREATE"),
    "ec800e": ("AT+SKTPCON", "AT$$SWVER", "AT@PSMSET", "AT+CMUX", "AT+QGPS"),
    "wm-n400mse": ("AT+QSPN", "AT+QIOPEN", "AT@NSI", "AT+QNTP", "AT+QLTS"),
    "amm5918k": ("AT+QSPN", "AT$$STAT", "AT+QIOPEN", "AT+QNTP"),
}


def _listed(module: str) -> list[str]:
    h = make_harness(module, testkit=False)
    out = h.send("AT+CLAC\r").decode()
    assert out.startswith("\r\nAT") and out.endswith("\r\n\r\nOK\r\n"), out[-40:]
    lines = out[2:-8].split("\r\n")
    assert all(re.fullmatch(r"AT[A-Z&$*@%+][A-Z0-9&$*@%+._]*", line) for line in lines), lines
    assert len(lines) == len(set(lines))
    return lines


def _probe(command: str) -> str:
    """The form of a listed command to send: ``=?`` for extended commands; basic ones as the
    Quectel manuals use them (``ATS3?`` reads an S-register; E/V/Q with the value that keeps
    the line readable)."""
    name = command[2:]
    if name[0] in "+$*@%":
        return command + "=?"
    if re.fullmatch(r"S\d+", name):
        return command + "?"
    return {"E": "ATE0", "V": "ATV1", "Q": "ATQ0"}.get(name, command)


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_command_answers(module: str) -> None:
    listed = _listed(module)
    assert {"AT+CLAC", "AT+CGMI", "ATH", "AT+CTZR", "AT+CNUM", "AT+IFC"} <= set(listed)
    h = make_harness(module, testkit=False)
    for command in listed:
        out = h.send(_probe(command) + "\r")
        # anything but ERROR: ATO without a data call answers NO CARRIER (V.250 §6.3.7)
        assert out.endswith((b"\r\nOK\r\n", b"\r\nNO CARRIER\r\n")) and b"ERROR" not in out, (command, out)
        if command in ("ATZ", "AT&F"):
            h.send("ATE0\r")  # back to the profile's echo (on): keep the answers unechoed


@pytest.mark.parametrize("module", MODULES)
def test_commands_the_module_lacks_are_not_listed(module: str) -> None:
    listed = set(_listed(module))
    h = make_harness(module, testkit=False)
    for command in LACKS[module]:
        assert command not in listed
        assert h.send(command + "=?\r") == b"\r\nERROR\r\n" or b"ERROR" in h.send(command + "\r")


def test_listing_follows_the_command_table() -> None:
    """Generated, not kept by hand: a Quectel-only command appears only where a feature adds it."""
    assert "AT+QCFG" in _listed("bg96") and "AT+QCFG" not in _listed("wm-n400mse")
    assert "AT+QLWCONFIG" in _listed("ec800e")
    assert "AT@PSMSET" in _listed("amm5918k")


# a later feature deliberately wraps an earlier one's handler (and calls it): +CGACT (ts27007_info
# adds +CGEV to ts27007_pdp's), ATO (quectel_ssl falls back to the AT+QI transparent ATO)
WRAPS = {("+CGACT", "set"), ("O", "exec")}


@pytest.mark.parametrize("module", MODULES)
def test_no_handler_is_dead_code(module: str) -> None:
    """A handler that a later feature of the same profile replaces never runs: its answer is not
    what AT+CLAC's command answers, and it rots (ts27007.py kept a +CCLK printing UTC +00 and a
    +COPS=? with placeholder names after ts27007_time/ts27007_info took them over)."""
    from emulator.modules import load_module
    owners: dict[tuple[str, str], list[str]] = {}
    for feature in load_module(module).features:
        for name, kind in feature.commands.handlers:
            owners.setdefault((name, kind.value), []).append(feature.commands.name)
    shadowed = {key: who for key, who in owners.items() if len(who) > 1 and key not in WRAPS}
    assert not shadowed, shadowed


# read forms that answer an error by design until state allows: GNSS off (+CME ERROR: 505, BG96
# GNSS manual), WM-N400MSE identity behind the SPC unlock (WIZnet guide: AT$$SPC first)
READ_NEEDS_STATE = {"+QGPSLOC", "$$IMEI"}


@pytest.mark.parametrize("module", MODULES)
def test_listed_commands_answer_their_real_read_form(module: str) -> None:
    """The test-form probe above also passes through the plain-OK test forms ts27007_info.complete
    adds for commands without one (e.g. +QTEMP, +QSPN, +CBC), so it alone cannot catch a listed
    command that does not answer. Every listed command with a read form of its own answers it
    without ERROR on a freshly booted module."""
    from emulator.modules import load_module
    real: set[str] = set()
    for feature in load_module(module).features:
        if feature.commands.name != "test_forms":
            real |= {name for name, kind in feature.commands.handlers if kind.value == "read"}
    listed = [c[2:] for c in _listed(module) if c[2] in "+$*@%"]
    probed = [n for n in listed if n in real and n not in READ_NEEDS_STATE]
    assert len(probed) > 20
    h = make_harness(module, testkit=False)
    h.send("ATE0\r")
    for name in probed:
        out = h.send(f"AT{name}?\r")
        # OK may come first: the WM-N400MSE prints AT+SKTP?'s status lines after it (WIZnet guide)
        assert b"\r\nOK\r\n" in out and b"ERROR" not in out, (name, out)
